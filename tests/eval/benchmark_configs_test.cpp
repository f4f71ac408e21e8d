// configs/datasets/*.yaml and configs/models/_internvl2.yaml for the benchmarks beyond
// RealWorldQA, against VLMEvalKit's dataset classes (DATASET_URL / DATASET_MD5 of
// ImageMCQDataset, MMMUDataset, ImageYORNDataset) and InternVLChat.set_max_num, copied by hand.
#include <gtest/gtest.h>

#include "common/test_paths.h"
#include "common/user_error.h"
#include "data/scratch_dir.h"
#include "vlm/data/dataset_spec.h"
#include "vlm/run/model_config.h"

namespace vlm {
namespace {

struct Expected {
  const char* name;
  const char* md5;
  DatasetKind kind;
  const char* scorer;
};

TEST(BenchmarkConfigs, FileMd5KindScorerUrl) {
  const Expected expected[] = {
      {"MMBench_DEV_EN", "b6caf1133a01c6bb705cf753bb527ed8", DatasetKind::kMcq, "mcq_circular"},
      {"MMStar", "e1ecd2140806c1b1bbf54b43372efb9e", DatasetKind::kMcq, "mcq_exact"},
      {"AI2D_TEST", "0f593e0d1c7df9a3d69bf1f947e71975", DatasetKind::kMcq, "mcq_exact"},
      {"SEEDBench_IMG", "68017231464752261a2526d6ca3a10c0", DatasetKind::kMcq, "mcq_exact"},
      {"ScienceQA_TEST", "e42e9e00f9c59a80d8a5db35bc32b71f", DatasetKind::kMcq, "mcq_exact"},
      {"MMMU_DEV_VAL", "585e8ad75e73f75dcad265dfd0417d64", DatasetKind::kMcq, "mcq_mmmu"},
      {"HallusionBench", "0c23ac0dc9ef46832d7a24504f2a0c7c", DatasetKind::kYn, "yn_hallusion"},
      {"POPE", "c12f5acb142f2ef1f85a26ba2fbe41d5", DatasetKind::kYn, "yn_pope"},
      {"MME", "b36b43c3f09801f5d368627fb92187c3", DatasetKind::kYn, "yn_mme"},
      // ImageVQADataset and OCRBench (vlmeval/dataset/image_vqa.py).
      {"TextVQA_VAL", "b233b31f551bbf4056f2f955da3a92cd", DatasetKind::kVqa, "vqa_textvqa"},
      {"DocVQA_VAL", "d5ee77e1926ff10690d469c56b73eabf", DatasetKind::kVqa, "vqa_anls"},
      {"DocVQA_TEST", "6a2f28cac26ef2d3447374e8c6f6c8e9", DatasetKind::kVqa, "none"},
      {"InfoVQA_VAL", "2342e9c225222f0ef4dec545ebb126fe", DatasetKind::kVqa, "vqa_anls"},
      {"InfoVQA_TEST", "df535bf51b88dc9718252c34131a6227", DatasetKind::kVqa, "none"},
      {"ChartQA_TEST", "c902e0aa9be5582a7aad6dcf52734b42", DatasetKind::kVqa, "vqa_relaxed"},
      {"OCRVQA_TEST", "ca46a6d74b403e9d6c0b670f6fc00db9", DatasetKind::kVqa, "vqa_exact"},
      {"OCRVQA_TESTCORE", "c5239fe77db8bdc1f2ad8e55e0d1fe97", DatasetKind::kVqa, "vqa_exact"},
      {"OCRBench", "e953d98a987cc6e26ef717b61260b778", DatasetKind::kVqa, "ocrbench"},
  };
  testing::ScratchDir data;
  for (const Expected& e : expected) {
    const DatasetSpec s =
        resolve_dataset(e.name, testing::source_dir() / "configs" / "datasets", data.path());
    EXPECT_EQ(s.file, std::string(e.name) + ".tsv") << e.name;
    EXPECT_EQ(s.md5, e.md5) << e.name;
    EXPECT_EQ(s.kind, e.kind) << e.name;
    EXPECT_EQ(to_string(s.scorer), e.scorer) << e.name;
    // The name-based choice VLMEvalKit makes gives the same scorer.
    EXPECT_EQ(to_string(default_scorer(s.kind, e.name)), e.scorer) << e.name;
    EXPECT_EQ(s.url, "https://opencompass.openxlab.space/utils/VLMEval/" + s.file) << e.name;
  }
}

TEST(BenchmarkConfigs, DefaultScorerFollowsUpstreamNameRules) {
  EXPECT_EQ(to_string(default_scorer(DatasetKind::kMcq, "MMBench_TEST_CN_V11")), "mcq_circular");
  EXPECT_EQ(to_string(default_scorer(DatasetKind::kMcq, "CCBench")), "mcq_circular");
  EXPECT_EQ(to_string(default_scorer(DatasetKind::kMcq, "my_mmbench_subset")), "mcq_circular");
  EXPECT_EQ(to_string(default_scorer(DatasetKind::kMcq, "MMMU_TEST")), "mcq_mmmu");
  EXPECT_EQ(to_string(default_scorer(DatasetKind::kMcq, "mmmu_lower")),
            "mcq_exact");  // case-sensitive
  EXPECT_EQ(to_string(default_scorer(DatasetKind::kMcq, "RealWorldQA")), "mcq_exact");
  EXPECT_EQ(to_string(default_scorer(DatasetKind::kYn, "MME")), "yn_mme");
  EXPECT_EQ(to_string(default_scorer(DatasetKind::kYn, "HallusionBench")), "yn_hallusion");
  EXPECT_EQ(to_string(default_scorer(DatasetKind::kYn, "POPE")), "yn_pope");
  EXPECT_EQ(to_string(default_scorer(DatasetKind::kYn, "AMBER")), "yn_exact");
  EXPECT_EQ(to_string(default_scorer(DatasetKind::kVqa, "OCRBench")), "ocrbench");
  EXPECT_EQ(to_string(default_scorer(DatasetKind::kVqa, "OCRBench_MINI")), "ocrbench");
  EXPECT_EQ(to_string(default_scorer(DatasetKind::kVqa, "TextVQA_VAL_subset")), "vqa_textvqa");
  EXPECT_EQ(to_string(default_scorer(DatasetKind::kVqa, "ChartQA_OCRVQA")),
            "vqa_relaxed");  // ChartQA first
  EXPECT_EQ(to_string(default_scorer(DatasetKind::kVqa, "DocVQA_TEST")), "none");
  EXPECT_EQ(to_string(default_scorer(DatasetKind::kVqa, "DocVQA_VAL_MINI")), "vqa_anls");
  EXPECT_EQ(to_string(default_scorer(DatasetKind::kVqa, "MathVista_MINI")), "none");
}

TEST(BenchmarkConfigs, UnknownOrMismatchedScorerIsAUserError) {
  testing::ScratchDir configs;
  const auto bad = configs.write("X.yaml", "file: x.tsv\nkind: MCQ\nscorer: mcq_fuzzy\n");
  std::string m = testing::user_error([&] { load_dataset_spec(bad); });
  EXPECT_NE(m.find("unknown scorer 'mcq_fuzzy'"), std::string::npos) << m;
  EXPECT_NE(m.find("mcq_circular"), std::string::npos) << m;
  const auto mismatch = configs.write("Y.yaml", "file: y.tsv\nkind: Y/N\nscorer: mcq_exact\n");
  m = testing::user_error([&] { load_dataset_spec(mismatch); });
  EXPECT_NE(m.find("does not fit kind Y/N"), std::string::npos) << m;
  const auto vqa = configs.write("Z.yaml", "file: z.tsv\nkind: MCQ\nscorer: vqa_anls\n");
  m = testing::user_error([&] { load_dataset_spec(vqa); });
  EXPECT_NE(m.find("does not fit kind MCQ"), std::string::npos) << m;
}

// set_max_num: 12 for MMMU_DEV_VAL, 6 for the others; total_max_num 64 split over the images.
TEST(BenchmarkConfigs, MaxTilesPerDataset) {
  const ModelConfig cfg =
      load_model_config("InternVL2-8B", testing::source_dir() / "configs" / "models");
  for (const char* d : {"MMBench_DEV_EN", "MMStar", "AI2D_TEST", "SEEDBench_IMG", "ScienceQA_TEST",
                        "HallusionBench", "POPE", "MME", "RealWorldQA"}) {
    EXPECT_EQ(cfg.tiles_for(d, 1), 6) << d;
  }
  EXPECT_EQ(cfg.tiles_for("MMMU_DEV_VAL", 1), 12);
  EXPECT_EQ(cfg.tiles_for("MMMU_DEV_VAL", 2), 12);  // min(12, 64 // 2)
  EXPECT_EQ(cfg.tiles_for("MMMU_DEV_VAL", 6), 10);  // min(12, 64 // 6)
  EXPECT_EQ(cfg.tiles_for("MME", 16), 4);           // min(6, 64 // 16)
  // The VQA benchmarks (set_max_num since 2024-12-09: OCRVQA 12, was 6).
  EXPECT_EQ(cfg.tiles_for("TextVQA_VAL", 1), 6);
  EXPECT_EQ(cfg.tiles_for("ChartQA_TEST", 1), 12);
  EXPECT_EQ(cfg.tiles_for("OCRVQA_TEST", 1), 12);
  EXPECT_EQ(cfg.tiles_for("OCRVQA_TESTCORE", 1), 12);
  EXPECT_EQ(cfg.tiles_for("DocVQA_VAL", 1), 18);
  EXPECT_EQ(cfg.tiles_for("DocVQA_TEST", 1), 18);
  EXPECT_EQ(cfg.tiles_for("InfoVQA_VAL", 1), 24);
  EXPECT_EQ(cfg.tiles_for("InfoVQA_TEST", 1), 24);
  EXPECT_EQ(cfg.tiles_for("OCRBench", 1), 24);
  EXPECT_EQ(cfg.max_new_tokens, 4096);
}

}  // namespace
}  // namespace vlm
