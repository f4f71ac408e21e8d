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
#include "vlm/data/image_source.h"
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
  const std::string m =
      user_error([&] { Dataset(spec_for("../Outside.tsv"), dir.path() / "root"); });
  EXPECT_TRUE(contains(m, "'../Outside.tsv'")) << m;
  EXPECT_TRUE(contains(m, "dataset Outside")) << m;
  EXPECT_TRUE(contains(user_error([&] {
                         Dataset(spec_for((dir.path() / "Outside.tsv").string()),
                                 dir.path() / "root");
                       }),
                       "absolute path"));
}

TEST(DataHardening, ResolveInsideRules) {
  ScratchDir dir;
  EXPECT_EQ(resolve_inside(dir.path(), "a/./b.jpg", "x"),
            fs::weakly_canonical(dir.path()) / "a/b.jpg");
  EXPECT_TRUE(contains(user_error([&] { resolve_inside(dir.path(), "", "cell"); }), "cell: empty"));
  EXPECT_TRUE(
      contains(user_error([&] { resolve_inside(dir.path(), "a/../../b", "cell"); }), "'..'"));
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
  EXPECT_TRUE(
      contains(user_error([&] { TsvTable::parse("index\tquestion\n0\tq\n", "h.tsv", tiny); }),
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

namespace vlm {
namespace {

// VLMEvalKit's meta-only TSVs (issue 17): an image_path not found under the data root is looked
// for in {data root}/images/{dataset}/, as dump_image does; a file in neither place is that row's
// error naming both; the item's images are the files, in order.
TEST(MetaOnlyImages, ImagePathFallsBackToTheDatasetsImageFolder) {
  ScratchDir dir;
  const fs::path root = dir.path() / "LMUData";
  fs::create_directories(root / "images" / "Meta");
  std::ofstream(root / "images" / "Meta" / "0.png") << "zero";
  std::ofstream(root / "images" / "Meta" / "1b.png") << "one-b";
  std::ofstream(root / "top.png") << "top";
  std::ofstream(root / "Meta.tsv") << "index\tquestion\timage_path\n"
                                      "0\tq\t0.png\n"
                                      "1\tq\t['top.png', '1b.png']\n"
                                      "2\tq\tmissing.png\n";
  const Dataset d(spec_for("Meta.tsv"), root);
  ASSERT_EQ(d.size(), 3u);
  const fs::path base = fs::weakly_canonical(root);
  ASSERT_FALSE(d[0].error) << *d[0].error;
  EXPECT_EQ(d[0].images(),
            std::vector<ImageSource>{ImageSource::from_file(base / "images" / "Meta" / "0.png")});
  EXPECT_EQ(d[0].images()[0].bytes("item 0"), "zero");
  ASSERT_FALSE(d[1].error) << *d[1].error;
  ASSERT_EQ(d[1].num_images(), 2u);
  EXPECT_EQ(d[1].images()[0].bytes("item 1"), "top");
  EXPECT_EQ(d[1].images()[1].bytes("item 1"), "one-b");
  ASSERT_TRUE(d[2].error);
  EXPECT_TRUE(contains(*d[2].error, "line 4")) << *d[2].error;
  EXPECT_TRUE(contains(*d[2].error, "no file 'missing.png'")) << *d[2].error;
  EXPECT_TRUE(contains(*d[2].error, (base / "images" / "Meta" / "missing.png").string()))
      << *d[2].error;
  // The fallback folder is confined too.
  fs::create_symlink(dir.path(), root / "images" / "Meta" / "up");
  std::ofstream(root / "Meta.tsv") << "index\tquestion\timage_path\n"
                                      "0\tq\tup/LMUData/top.png\n";
  const Dataset e(spec_for("Meta.tsv"), root);
  ASSERT_TRUE(e[0].error);
  EXPECT_TRUE(contains(*e[0].error, "symbolic link")) << *e[0].error;
}

// An image file that disappears after loading is that item's error when read, naming the file.
TEST(MetaOnlyImages, UnreadableFileIsAnErrorNamingIt) {
  ScratchDir dir;
  const fs::path gone = dir.path() / "gone.png";
  const std::string m = user_error([&] { ImageSource::from_file(gone).bytes("item 3"); });
  EXPECT_TRUE(contains(m, "item 3: image file " + gone.string())) << m;
  EXPECT_EQ(ImageSource::embedded(base64_encode("abc")).bytes("x"), "abc");
}

// Text that is not UTF-8 is a per-row error naming the line, the column and the byte offset; the
// other rows load; a header that is not UTF-8 is refused.
TEST(Utf8Rows, InvalidBytesAreThatRowsError) {
  const TsvTable t = TsvTable::parse(
      "index\tquestion\n0\tgood\n1\tab\xC3(\n2\tfine \xE2\x82\xAC\n3\t\xED\xA0\x80\n", "u.tsv");
  ASSERT_EQ(t.num_rows(), 4u);
  EXPECT_FALSE(t.row_error(0));
  ASSERT_TRUE(t.row_error(1));
  EXPECT_TRUE(contains(*t.row_error(1), "u.tsv: line 3: field 'question' is not valid UTF-8"))
      << *t.row_error(1);
  EXPECT_TRUE(contains(*t.row_error(1), "byte 0xC3 at byte offset 2")) << *t.row_error(1);
  EXPECT_FALSE(t.row_error(2));
  ASSERT_TRUE(t.row_error(3));  // an encoded surrogate, which Python refuses too
  EXPECT_TRUE(contains(*t.row_error(3), "byte 0xED at byte offset 0")) << *t.row_error(3);
  EXPECT_TRUE(contains(user_error([] {
                         TsvTable::parse(
                             "ind\xFF"
                             "ex\tq\n0\tq\n",
                             "h.tsv");
                       }),
                       "header field 1 is not valid UTF-8 (at byte offset 3)"));
}

// --limit's view: the first N items with the values the whole file gives them.
TEST(DatasetHead, FirstItemsOfTheLoadedDataset) {
  ScratchDir dir;
  dir.write("H.tsv", "index\tquestion\tscore\n0\ta\t1\n1\tb\t\n2\tc\t3\n");
  const Dataset d(spec_for("H.tsv"), dir.path());
  const Dataset h = d.head(2);
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[1].index, "1");
  EXPECT_EQ(h.column_kind("score"), ColumnKind::kFloat);
  EXPECT_EQ(h[0].fields.at("score"), "1.0");  // as pandas reads the whole file
  EXPECT_EQ(d.head(10).size(), 3u);
}

}  // namespace
}  // namespace vlm
