// The runtime against the exporter's eager reference forward (golden.json of the tiny model).
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/test_paths.h"
#include "vlm/core/error.h"
#include "vlm/generate/generator.h"
#include "vlm/model/loaded_model.h"

namespace vlm {
namespace {

constexpr double kTol = 1e-4;  // float32 export: max abs logit difference

// The golden pixel pattern of docs/model-format.md.
torch::Tensor golden_pixels(int64_t tiles, int64_t size) {
  if (tiles == 0) return torch::Tensor();
  torch::Tensor i = torch::arange(tiles * 3 * size * size, torch::kInt64);
  torch::Tensor v = ((i * 7919) % 2003).to(torch::kFloat32) / 1001.5 - 1.0;
  return v.reshape({tiles, 3, size, size});
}

class GoldenTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    manifest_ = new Manifest(load_manifest(testing::tiny_model_dir()));
    model_ = new std::shared_ptr<const LoadedModel>(
        LoadedModel::load(*manifest_, PlacementPlan::all_on(*manifest_, c10::kCPU)));
    std::ifstream in(testing::tiny_model_dir() / "golden.json");
    golden_ = new nlohmann::json(nlohmann::json::parse(in));
  }
  static void TearDownTestSuite() {
    delete golden_;
    delete model_;
    delete manifest_;
  }
  static torch::Tensor ids_of(const nlohmann::json& c) {
    auto v = c["input_ids"].get<std::vector<int64_t>>();
    return torch::tensor(v, torch::kInt64).unsqueeze(0);
  }

  static Manifest* manifest_;
  static std::shared_ptr<const LoadedModel>* model_;
  static nlohmann::json* golden_;
};
Manifest* GoldenTest::manifest_ = nullptr;
std::shared_ptr<const LoadedModel>* GoldenTest::model_ = nullptr;
nlohmann::json* GoldenTest::golden_ = nullptr;

TEST_F(GoldenTest, HasAnImageCaseWithSeveralTilesAndATextCase) {
  bool multi_tile = false, text_only = false;
  for (const auto& c : (*golden_)["cases"]) {
    multi_tile |= c["num_tiles"].get<int>() > 1;
    text_only |= c["num_tiles"].get<int>() == 0;
  }
  EXPECT_TRUE(multi_tile);
  EXPECT_TRUE(text_only);
}

TEST_F(GoldenTest, CachedGreedyMatchesReferenceLogitsAndIds) {
  for (const auto& c : (*golden_)["cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const auto expected_ids = c["greedy_ids"].get<std::vector<int64_t>>();
    const auto& step_logits = c["step_logits"];
    ASSERT_EQ(step_logits.size(), expected_ids.size());
    Generator gen(*model_, 4096);
    GenerationOptions opts;
    opts.max_new_tokens = static_cast<int64_t>(expected_ids.size());
    opts.keep_logits = true;  // no stop ids: the reference runs all steps
    torch::Tensor pixels = golden_pixels(c["num_tiles"].get<int64_t>(), 448);
    GenerationResult r = gen.generate(ids_of(c), pixels, opts);
    EXPECT_EQ(r.ids, expected_ids);
    ASSERT_EQ(r.logits.size(), step_logits.size());
    double worst = 0;
    for (size_t s = 0; s < step_logits.size(); ++s) {
      torch::Tensor ref = torch::tensor(step_logits[s].get<std::vector<float>>());
      ASSERT_EQ(ref.numel(), r.logits[s].numel());
      worst = std::max(worst, (ref - r.logits[s]).abs().max().item<double>());
    }
    EXPECT_LT(worst, kTol) << "max abs logit difference over all steps";
    std::cout << "[golden] " << c["name"].get<std::string>() << ": max |dlogit| = " << worst
              << " over " << step_logits.size() << " steps\n";
  }
}

TEST_F(GoldenTest, KvCacheGenerationEqualsFullRecomputationOver20Steps) {
  const auto& c = (*golden_)["cases"][0];
  torch::Tensor pixels = golden_pixels(c["num_tiles"].get<int64_t>(), 448);
  torch::Tensor ids = ids_of(c);
  Generator gen(*model_, 4096);
  GenerationOptions opts;
  opts.max_new_tokens = 20;
  opts.keep_logits = true;
  GenerationResult r = gen.generate(ids, pixels, opts);
  ASSERT_EQ(r.ids.size(), 20u);
  double worst = 0;
  for (size_t s = 0; s < r.ids.size(); ++s) {
    torch::Tensor prefix = ids;
    if (s > 0) {
      std::vector<int64_t> gen_ids(r.ids.begin(), r.ids.begin() + static_cast<long>(s));
      prefix = torch::cat({ids, torch::tensor(gen_ids, torch::kInt64).unsqueeze(0)}, 1);
    }
    torch::Tensor full = gen.full_forward_logits(prefix, pixels);
    EXPECT_EQ(full.argmax().item<int64_t>(), r.ids[s]) << "step " << s;
    worst = std::max(worst, (full - r.logits[s]).abs().max().item<double>());
  }
  EXPECT_LT(worst, kTol);
}

TEST_F(GoldenTest, StopsAtAStopId) {
  const auto& c = (*golden_)["cases"][1];
  const auto expected_ids = c["greedy_ids"].get<std::vector<int64_t>>();
  Generator gen(*model_, 4096);
  GenerationOptions opts;
  opts.max_new_tokens = 20;
  opts.stop_ids = {expected_ids[2]};  // pretend the third greedy token is a stop id
  GenerationResult r = gen.generate(ids_of(c), golden_pixels(0, 448), opts);
  EXPECT_EQ(r.stop_reason, "stop_id");
  const auto first = std::find(expected_ids.begin(), expected_ids.end(), expected_ids[2]);
  EXPECT_EQ(r.ids, std::vector<int64_t>(expected_ids.begin(), first + 1));
}

TEST_F(GoldenTest, ImageTokenCountMismatchIsAUserError) {
  const auto& c = (*golden_)["cases"][0];
  Generator gen(*model_, 4096);
  GenerationOptions opts;
  opts.max_new_tokens = 1;
  torch::Tensor one_tile_less = golden_pixels(c["num_tiles"].get<int64_t>() - 1, 448);
  EXPECT_THROW(gen.generate(ids_of(c), one_tile_less, opts), UserError);
}

TEST_F(GoldenTest, PromptPastCapacityIsAUserError) {
  const auto& c = (*golden_)["cases"][1];
  Generator gen(*model_, 64);
  GenerationOptions opts;
  opts.max_new_tokens = 60;
  try {
    gen.generate(ids_of(c), torch::Tensor(), opts);
    FAIL() << "no error";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("exceeds the KV-cache capacity 64"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace vlm
