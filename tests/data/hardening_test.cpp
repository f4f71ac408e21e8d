// Untrusted TSVs (issue 7): paths that leave the data root and over-long fields are per-item
// errors naming the line and index; the other items load.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "common/user_error.h"
#include "data/scratch_dir.h"
#include "vlm/core/error.h"
#include "vlm/data/base64.h"
#include "vlm/data/confined_path.h"
#include "vlm/data/dataset.h"
#include "vlm/data/tsv_table.h"

namespace vlm {
namespace {

namespace fs = std::filesystem;
using testing::ScratchDir;
using testing::user_error;

DatasetSpec spec_for(const std::string& file) {
  DatasetSpec s;
  s.name = fs::path(file).stem().string();
  s.file = file;
  s.kind = DatasetKind::kVqa;
  return s;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// A meta-only TSV (no 'image' column): image_path names files under the data root. '..',
// absolute paths and a symlink pointing outside are refused with the line and index; the good
// rows (a plain file, a list, a symlink that stays inside) resolve.
TEST(DataHardening, ImagePathEscapesAreRefusedNamingTheRow) {
  ScratchDir outside;
  outside.write("secret.jpg", "x");
  ScratchDir dir;
  const fs::path root = dir.path() / "LMUData";
  fs::create_directories(root / "images");
  std::ofstream(root / "images" / "a.jpg") << "a";
  fs::create_symlink(outside.path() / "secret.jpg", root / "images" / "out.jpg");
  fs::create_symlink(outside.path(), root / "outdir");
  fs::create_symlink(root / "images" / "a.jpg", root / "images" / "in.jpg");
  std::ofstream(root / "Meta.tsv") << "index\tquestion\timage_path\n"
                                      "0\tq\timages/a.jpg\n"
                                      "1\tq\t../secret.jpg\n"
                                      "2\tq\t" +
                                          (outside.path() / "secret.jpg").string() +
                                          "\n"
                                          "3\tq\timages/out.jpg\n"
                                          "4\tq\t['images/a.jpg', 'images/in.jpg']\n"
                                          "5\tq\toutdir/secret.jpg\n"
                                          "6\tq\timages/../images/a.jpg\n";
  const Dataset d(spec_for("Meta.tsv"), root);
  ASSERT_EQ(d.size(), 7u);
  EXPECT_FALSE(d[0].error) << *d[0].error;
  ASSERT_EQ(d[0].image_files.size(), 1u);
  EXPECT_EQ(d[0].image_files[0], fs::weakly_canonical(root) / "images" / "a.jpg");
  EXPECT_FALSE(d[4].error);
  EXPECT_EQ(d[4].image_files.size(), 2u);
  const struct {
    size_t item;
    std::string line, why;
  } refused[] = {{1, "line 3", "'..'"},
                 {2, "line 4", "absolute path"},
                 {3, "line 5", "symbolic link"},
                 {5, "line 7", "symbolic link"},
                 {6, "line 8", "'..'"}};
  for (const auto& r : refused) {
    ASSERT_TRUE(d[r.item].error) << "item " << r.item;
    const std::string& m = *d[r.item].error;
    EXPECT_TRUE(contains(m, r.line)) << m;
    EXPECT_TRUE(contains(m, "(index " + std::to_string(r.item) + ")")) << m;
    EXPECT_TRUE(contains(m, "image_path")) << m;
    EXPECT_TRUE(contains(m, r.why)) << m;
    EXPECT_TRUE(d[r.item].image_files.empty());
  }
}

// The dataset file named by a config (spec.file) stays inside the data root too.
TEST(DataHardening, DatasetFileOutsideTheDataRootIsRefused) {
  ScratchDir dir;
  fs::create_directories(dir.path() / "root");
  dir.write("Outside.tsv", "index\tquestion\n0\tq\n");
  const std::string m = user_error([&] { Dataset(spec_for("../Outside.tsv"), dir.path() / "root"); });
  EXPECT_TRUE(contains(m, "'../Outside.tsv'")) << m;
  EXPECT_TRUE(contains(m, "dataset Outside")) << m;
  EXPECT_TRUE(contains(user_error([&] {
                         Dataset(spec_for((dir.path() / "Outside.tsv").string()), dir.path() / "root");
                       }),
                       "absolute path"));
}

TEST(DataHardening, ResolveInsideRules) {
  ScratchDir dir;
  EXPECT_EQ(resolve_inside(dir.path(), "a/./b.jpg", "x"), fs::weakly_canonical(dir.path()) / "a/b.jpg");
  EXPECT_TRUE(contains(user_error([&] { resolve_inside(dir.path(), "", "cell"); }), "cell: empty"));
  EXPECT_TRUE(contains(user_error([&] { resolve_inside(dir.path(), "a/../../b", "cell"); }), "'..'"));
  EXPECT_TRUE(contains(user_error([&] { resolve_inside(dir.path(), "/etc/passwd", "cell"); }),
                       "absolute path"));
}

// A 10 MB single field. With the default bound (64 MiB) it is read whole, and as an image it
// fails to decode as a per-item error elsewhere; with a 1 MiB bound it is not stored and the
// row's item gets an error naming the file, line, column and index, while the other rows load.
TEST(DataHardening, TenMegabyteFieldIsAPerRowError) {
  ScratchDir dir;
  const std::string big(10 << 20, 'A');  // valid base64 alphabet: 10 MiB of it
  const std::string small_image = base64_encode(std::string(200, 'x'));
  dir.write("Big.tsv", "index\tquestion\timage\n0\tq0\t" + small_image + "\n1\tq1\t" + big +
                           "\n2\tq2\t" + small_image + "\n");
  {
    const Dataset d(spec_for("Big.tsv"), dir.path());
    ASSERT_EQ(d.size(), 3u);
    EXPECT_FALSE(d[1].error);
    ASSERT_EQ(d[1].images_b64.size(), 1u);
    EXPECT_EQ(d[1].images_b64[0].size(), big.size());
  }
  TsvOptions bounded;
  bounded.max_field_bytes = 1 << 20;
  const Dataset d(spec_for("Big.tsv"), dir.path(), bounded);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_FALSE(d[0].error);
  EXPECT_FALSE(d[2].error);
  EXPECT_EQ(d[2].images_b64.size(), 1u);
  ASSERT_TRUE(d[1].error);
  const std::string& m = *d[1].error;
  EXPECT_TRUE(contains(m, (dir.path() / "Big.tsv").string())) << m;
  EXPECT_TRUE(contains(m, "line 3")) << m;
  EXPECT_TRUE(contains(m, "field 'image'")) << m;
  EXPECT_TRUE(contains(m, "1048576 bytes")) << m;
  EXPECT_TRUE(contains(m, "(index 1)")) << m;
  EXPECT_TRUE(d[1].images_b64.empty());

  // In a header, an over-long field is an error for the whole file.
  TsvOptions tiny;
  tiny.max_field_bytes = 5;
  EXPECT_TRUE(contains(user_error([&] { TsvTable::parse("index\tquestion\n0\tq\n", "h.tsv", tiny); }),
                       "h.tsv: line 1: header field 2"));
}

// A line of a million tabs is refused at the first field beyond the header's count, naming the
// line, instead of allocating a million fields.
TEST(DataHardening, ExtraFieldsAreRefusedEarly) {
  const std::string text = "index\tq\n0\tx\n1" + std::string(1000000, '\t') + "\n";
  const std::string m = user_error([&] { TsvTable::parse(text, "tabs.tsv"); });
  EXPECT_TRUE(contains(m, "tabs.tsv: line 3: expected 2")) << m;
}

}  // namespace
}  // namespace vlm
