#include "vlm/data/dataset_spec.h"

#include <gtest/gtest.h>

#include "common/user_error.h"
#include "data/scratch_dir.h"
#include "vlm/core/error.h"

namespace vlm {
namespace {

using testing::ScratchDir;

// configs/datasets/RealWorldQA.yaml against the reference (vlmevalkit-behaviour.md section 2).
TEST(DatasetSpec, RealWorldQaConfigMatchesTheReference) {
  ScratchDir data;
  const DatasetSpec s =
      resolve_dataset("RealWorldQA", testing::source_dir() / "configs" / "datasets", data.path());
  EXPECT_EQ(s.name, "RealWorldQA");
  EXPECT_EQ(s.file, "RealWorldQA.tsv");
  EXPECT_EQ(s.md5, "4de008f55dc4fd008ca9e15321dc44b7");
  EXPECT_EQ(s.kind, DatasetKind::kMcq);
  EXPECT_EQ(to_string(s.scorer), "mcq_exact");
  EXPECT_EQ(s.url, "https://opencompass.openxlab.space/utils/VLMEval/RealWorldQA.tsv");
  EXPECT_FALSE(s.custom);
}

TEST(DatasetSpec, CustomTsvIsMcqWhenItHasColumnsAAndB) {
  ScratchDir configs, data;
  data.write("MyMCQ.tsv", "index\tquestion\tA\tB\tanswer\timage_path\n0\tq\tx\ty\tA\tp.jpg\n");
  data.write("MyVQA.tsv", "index\tquestion\tA\tanswer\timage\n0\tq\tx\tfoo\tAAAA\n");
  const DatasetSpec mcq = resolve_dataset("MyMCQ", configs.path(), data.path());
  EXPECT_TRUE(mcq.custom);
  EXPECT_EQ(mcq.kind, DatasetKind::kMcq);
  EXPECT_EQ(mcq.file, "MyMCQ.tsv");
  EXPECT_TRUE(mcq.md5.empty());
  const DatasetSpec vqa = resolve_dataset("MyVQA", configs.path(), data.path());
  EXPECT_EQ(vqa.kind, DatasetKind::kVqa);
}

TEST(DatasetSpec, YamlWinsOverATsvOfTheSameName) {
  ScratchDir configs, data;
  configs.write("Foo.yaml", "file: foo_v2.tsv\nkind: Y/N\n");
  data.write("Foo.tsv", "index\tA\tB\n");
  const DatasetSpec s = resolve_dataset("Foo", configs.path(), data.path());
  EXPECT_EQ(s.file, "foo_v2.tsv");
  EXPECT_EQ(s.kind, DatasetKind::kYn);
  EXPECT_EQ(to_string(s.scorer), "yn_exact");
  EXPECT_EQ(s.config_path, configs.path() / "Foo.yaml");
}

TEST(DatasetSpec, UnknownNameListsPathsAndClosestNames) {
  ScratchDir configs, data;
  for (const char* n : {"RealWorldQA", "MMBench_DEV_EN", "MME", "HallusionBench", "MMStar"}) {
    configs.write(std::string(n) + ".yaml", "file: x.tsv\nkind: MCQ\n");
  }
  try {
    resolve_dataset("RealWordQA", configs.path(), data.path());
    FAIL() << "no throw";
  } catch (const UserError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find((configs.path() / "RealWordQA.yaml").string()), std::string::npos) << m;
    EXPECT_NE(m.find((data.path() / "RealWordQA.tsv").string()), std::string::npos) << m;
    const size_t closest = m.find("closest known names: RealWorldQA");
    EXPECT_NE(closest, std::string::npos) << m;
  }
  try {
    resolve_dataset("mmstar", configs.path(), data.path());  // case differs only
    FAIL();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("closest known names: MMStar"), std::string::npos);
  }
}

TEST(DatasetSpec, MalformedYamlNamesFileAndKey) {
  ScratchDir configs;
  auto expect_error = [&](const std::string& body, const std::string& needle) {
    const auto p = configs.write("D.yaml", body);
    try {
      load_dataset_spec(p);
      FAIL() << body;
    } catch (const UserError& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find(p.string()), std::string::npos) << m;
      EXPECT_NE(m.find(needle), std::string::npos) << m;
    }
  };
  expect_error("kind: MCQ\n", "'file'");
  expect_error("file: d.tsv\nkind: Essay\n", "Essay");
  expect_error("file: d.tsv\nkind: MCQ\nmd5: 1234\n", "md5");
  expect_error("file: d.tsv\nkind: MCQ\nfiel: x\n", "fiel");
  expect_error("name: Other\nfile: d.tsv\nkind: MCQ\n", "Other");
  expect_error("file: [d.tsv\n", "YAML");
}

// The keys of configs/datasets/*.yaml go through the one config key table: an unknown key names the
// file, the key and the closest known key; a wrong type names the expected one.
TEST(DatasetSpec, UnknownKeyAndWrongTypeThroughTheKeyTable) {
  ScratchDir configs;
  const auto typo = configs.write("D.yaml", "file: d.tsv\nkind: MCQ\nscorrer: mcq_exact\n");
  const std::string m = testing::user_error([&] { load_dataset_spec(typo); });
  EXPECT_NE(m.find(typo.string() + ": scorrer: unknown key 'scorrer'"), std::string::npos) << m;
  EXPECT_NE(m.find("closest: scorer;"), std::string::npos) << m;

  const auto list = configs.write("E.yaml", "file: [a.tsv, b.tsv]\nkind: MCQ\n");
  const std::string t = testing::user_error([&] { load_dataset_spec(list); });
  EXPECT_NE(t.find(list.string() + ": file: expected a string, got a list"), std::string::npos)
      << t;

  // An empty value still counts as absent (the scorer then follows the kind).
  const auto empty = configs.write("F.yaml", "file: f.tsv\nkind: Y/N\nscorer:\nurl:\n");
  EXPECT_EQ(to_string(load_dataset_spec(empty).scorer), "yn_exact");
}

// min_new_tokens: a benchmark knob (0 unless set), an integer >= 0.
TEST(DatasetSpec, MinNewTokensIsAnOptionalNonNegativeInteger) {
  ScratchDir configs;
  EXPECT_EQ(load_dataset_spec(configs.write("A.yaml", "file: a.tsv\nkind: VQA\n")).min_new_tokens,
            0);
  EXPECT_EQ(
      load_dataset_spec(configs.write("B.yaml", "file: b.tsv\nkind: VQA\nmin_new_tokens: 8\n"))
          .min_new_tokens,
      8);
  const auto negative = configs.write("C.yaml", "file: c.tsv\nkind: VQA\nmin_new_tokens: -1\n");
  const std::string m = testing::user_error([&] { load_dataset_spec(negative); });
  EXPECT_NE(m.find(negative.string() + ": 'min_new_tokens' must be an integer >= 0"),
            std::string::npos)
      << m;
  const auto word = configs.write("D.yaml", "file: d.tsv\nkind: VQA\nmin_new_tokens: many\n");
  EXPECT_NE(testing::user_error([&] { load_dataset_spec(word); }).find("min_new_tokens"),
            std::string::npos);
  const auto dir = testing::source_dir() / "configs" / "datasets";
  EXPECT_EQ(load_dataset_spec(dir / "BenchVQA.yaml").min_new_tokens, 8);
  EXPECT_EQ(load_dataset_spec(dir / "RealWorldQA.yaml").min_new_tokens, 0);
}

// Every shipped dataset config passes the key table.
TEST(DatasetSpec, EveryShippedConfigLoads) {
  const auto dir = testing::source_dir() / "configs" / "datasets";
  const auto names = known_dataset_names(dir);
  ASSERT_GE(names.size(), 10u);
  for (const std::string& n : names) EXPECT_EQ(load_dataset_spec(dir / (n + ".yaml")).name, n);
}

}  // namespace
}  // namespace vlm
