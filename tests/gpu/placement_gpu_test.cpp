// The tiny model split across cuda:0 and the CPU: a placement changes speed, never results.
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/gpu_test.h"
#include "common/test_paths.h"
#include "vlm/generate/generator.h"
#include "vlm/generate/golden_check.h"
#include "vlm/model/device_memory.h"
#include "vlm/model/loaded_model.h"

namespace vlm {
namespace {

class GpuPlacement : public testing::GpuTest {
 protected:
  void SetUp() override {
    GpuTest::SetUp();  // float32 everywhere
    if (IsSkipped()) return;
    manifest_ = load_manifest(testing::tiny_model_dir());
    std::ifstream in(testing::tiny_model_dir() / "golden.json");
    golden_ = nlohmann::json::parse(in);
  }

  // unit name -> device for the three layouts of the issue.
  std::map<std::string, c10::Device> layout(char which) const {
    const c10::Device gpu("cuda:0");
    std::map<std::string, c10::Device> map;
    for (const auto& u : manifest_.units) {
      c10::Device d = gpu;
      if (which == 'b' && u.kind == UnitKind::kDecoderLayer) d = c10::kCPU;
      if (which == 'c' && u.kind == UnitKind::kDecoderLayer && u.layer % 2 == 1) d = c10::kCPU;
      map.emplace(u.name, d);
    }
    return map;
  }

  // Greedy ids and step logits of every golden case under `plan`.
  std::vector<GenerationResult> run_all(PlacementPlan plan) const {
    auto model = LoadedModel::load(manifest_, std::move(plan));
    std::vector<GenerationResult> out;
    for (const auto& c : golden_["cases"]) {
      Generator gen(model, 4096);
      GenerationOptions opts;
      opts.max_new_tokens = static_cast<int64_t>(c["greedy_ids"].size());
      opts.keep_logits = true;
      auto ids = torch::tensor(c["input_ids"].get<std::vector<int64_t>>()).unsqueeze(0);
      out.push_back(
          gen.generate(ids, golden_pixel_values(c["num_tiles"].get<int64_t>(), 448), opts));
    }
    return out;
  }

  Manifest manifest_;
  nlohmann::json golden_;
};

TEST_F(GpuPlacement, ThreeLayoutsGiveIdenticalGreedyIds) {
  const auto a = run_all(PlacementPlan::from_map(manifest_, layout('a')));
  const auto b = run_all(PlacementPlan::from_map(manifest_, layout('b')));
  const auto c = run_all(PlacementPlan::from_map(manifest_, layout('c')));
  for (size_t k = 0; k < a.size(); ++k) {
    const auto expected = golden_["cases"][k]["greedy_ids"].get<std::vector<int64_t>>();
    EXPECT_EQ(a[k].ids, expected) << "all on cuda:0, case " << k;
    EXPECT_EQ(b[k].ids, a[k].ids) << "layers on cpu, case " << k;
    EXPECT_EQ(c[k].ids, a[k].ids) << "alternating layers, case " << k;
    double worst = 0;
    for (size_t s = 0; s < a[k].logits.size(); ++s) {
      worst = std::max(worst, (a[k].logits[s] - b[k].logits[s]).abs().max().item<double>());
      worst = std::max(worst, (a[k].logits[s] - c[k].logits[s]).abs().max().item<double>());
    }
    std::cout << "[gpu] case " << k << ": max |dlogit| across layouts = " << worst << "\n";
    EXPECT_LT(worst, 1e-3);
  }
}

TEST_F(GpuPlacement, MemoryAfterLoadMatchesThePlan) {
  PlacementConfig config;
  config.strategy = PlacementStrategy::kSequential;
  config.devices = {c10::Device("cuda:0")};
  const PlacementPlan plan = PlacementPlan::make(manifest_, config, PlanCapacity{});
  ASSERT_EQ(plan.budgets().size(), 1u);
  const int64_t before = device_allocated_bytes(c10::Device("cuda:0")).value();
  auto model = LoadedModel::load(manifest_, plan);
  const int64_t after = device_allocated_bytes(c10::Device("cuda:0")).value();
  const double planned = static_cast<double>(plan.budgets()[0].weights);
  const double measured = static_cast<double>(after - before);
  std::cout << "[gpu] weights planned " << planned << " B, allocated after load " << measured
            << " B\n";
  EXPECT_NEAR(measured, planned, 0.10 * planned);
}

}  // namespace
}  // namespace vlm
