// The scorer table (vlm/run/scorer_table.h) against the dataset configs and the typed scorer id:
// every scorer a config in configs/datasets/ names has a row, every ScorerId has exactly one row
// in its place, and an unknown scorer name is a UserError naming the file, the key and the
// closest names.
#include "vlm/run/scorer_table.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "common/python_runner.h"
#include "common/test_paths.h"
#include "common/user_error.h"
#include "vlm/data/dataset_spec.h"

namespace vlm {
namespace {
namespace fs = std::filesystem;

// Every configs/datasets/*.yaml parses to a scorer whose row is its own, with a dataset score;
// scorers of MCQ and Y/N datasets score items alone too (records carry a hit).
TEST(ScorerTable, EveryConfigScorerHasARow) {
  const fs::path dir = testing::source_dir() / "configs" / "datasets";
  std::set<std::string> used;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") continue;
    const DatasetSpec spec = load_dataset_spec(entry.path());
    const ScorerRow& row = scorer_row(spec.scorer);
    EXPECT_EQ(row.id, spec.scorer) << entry.path();
    EXPECT_NE(row.dataset, nullptr) << entry.path();
    const bool per_item = spec.kind != DatasetKind::kVqa && spec.scorer != ScorerId::kNone;
    EXPECT_EQ(row.item != nullptr, per_item) << entry.path();
    EXPECT_EQ(row.failed != nullptr, per_item) << entry.path();
    used.insert(to_string(spec.scorer));
  }
  // The configs use 12 of the 14 (yn_exact and vqa_relaxed_classic are for other datasets).
  EXPECT_GE(used.size(), 11u);
  EXPECT_TRUE(used.count("mcq_circular") && used.count("yn_pope") && used.count("ocrbench"));
}

// One row per ScorerId, in its order, each name parsing back to its id.
TEST(ScorerTable, OneRowPerScorerIdInOrder) {
  const std::vector<ScorerRow>& table = scorer_table();
  const std::vector<ScorerId>& ids = all_scorer_ids();
  ASSERT_EQ(table.size(), ids.size());
  ASSERT_EQ(known_scorers().size(), ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(table[i].id, ids[i]) << i;
    EXPECT_EQ(&scorer_row(ids[i]), &table[i]) << i;
    EXPECT_EQ(to_string(ids[i]), known_scorers()[i]);
    EXPECT_EQ(parse_scorer_id(known_scorers()[i], "x.yaml"), ids[i]);
    EXPECT_NE(table[i].dataset, nullptr) << known_scorers()[i];
  }
  // The predictions-file columns a scorer needs: VQA the answer, OCRBench also the category.
  EXPECT_EQ(scorer_row(ScorerId::kVqaAnls).columns, std::vector<std::string>{"answer"});
  EXPECT_EQ(scorer_row(ScorerId::kOcrBench).columns,
            (std::vector<std::string>{"answer", "category"}));
  EXPECT_TRUE(scorer_row(ScorerId::kMcqExact).columns.empty());
  EXPECT_TRUE(scorer_row(ScorerId::kNone).columns.empty());
}

// A config naming no scorer gets the one VLMEvalKit picks by name; an unknown name names the file,
// the key and the closest known names; a known scorer of another kind is refused.
TEST(ScorerTable, ConfigScorerParsedOnce) {
  const fs::path dir = testing::scratch_dir("scorer_table_configs");
  testing::write_bytes(dir / "MMBench_X.yaml", "file: x.tsv\nkind: MCQ\n");
  EXPECT_EQ(load_dataset_spec(dir / "MMBench_X.yaml").scorer, ScorerId::kMcqCircular);
  testing::write_bytes(dir / "A.yaml", "file: a.tsv\nkind: Y/N\nscorer: yn_hallusion\n");
  EXPECT_EQ(load_dataset_spec(dir / "A.yaml").scorer, ScorerId::kYnHallusion);

  testing::write_bytes(dir / "B.yaml", "file: b.tsv\nkind: Y/N\nscorer: yn_pop\n");
  const std::string m = testing::user_error([&] { load_dataset_spec(dir / "B.yaml"); });
  EXPECT_NE(
      m.find((dir / "B.yaml").string() + ": scorer: unknown scorer 'yn_pop' (closest: yn_pope"),
      std::string::npos)
      << m;
  testing::write_bytes(dir / "C.yaml", "file: c.tsv\nkind: VQA\nscorer: yn_pope\n");
  EXPECT_NE(testing::user_error([&] {
              load_dataset_spec(dir / "C.yaml");
            }).find("scorer 'yn_pope' does not fit kind VQA"),
            std::string::npos);
  // none fits every kind.
  testing::write_bytes(dir / "D.yaml", "file: d.tsv\nkind: MCQ\nscorer: none\n");
  EXPECT_EQ(load_dataset_spec(dir / "D.yaml").scorer, ScorerId::kNone);
}

}  // namespace
}  // namespace vlm
