#include <gtest/gtest.h>
#include <torch/cuda.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <set>

#include "common/read_file.h"
#include "common/test_paths.h"
#include "common/user_error.h"
#include "vlm/core/error.h"
#include "vlm/model/placement_plan.h"

namespace vlm {
namespace {
namespace fs = std::filesystem;

constexpr int64_t kMiB = 1024 * 1024, kGiB = kMiB * 1024;
const c10::Device kCpu(c10::kCPU);
c10::Device cuda(int i) {
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(i));
}

using testing::user_error;

std::string layer(int i) {
  return "language_model.model.layers." + std::to_string(i);
}

// An InternLM2-style manifest: vision_model, mlp1, tok_embeddings, L layers, norm, output.
Manifest synthetic(int num_layers, int64_t layer_bytes = kGiB, int64_t vision_bytes = kGiB,
                   int64_t embed_bytes = kGiB / 2) {
  Manifest m;
  m.name = "Synthetic-" + std::to_string(num_layers);
  m.family = "internlm2";
  m.dtype = c10::ScalarType::BFloat16;
  auto add = [&](std::string name, UnitKind kind, int64_t bytes, int l = -1) {
    UnitSpec u;
    u.name = std::move(name);
    u.kind = kind;
    u.param_bytes = bytes;
    u.layer = l;
    m.units.push_back(u);
  };
  add("vision_model", UnitKind::kVision, vision_bytes);
  add("mlp1", UnitKind::kProjector, 0);
  add("language_model.model.tok_embeddings", UnitKind::kEmbedding, embed_bytes);
  for (int i = 0; i < num_layers; ++i) add(layer(i), UnitKind::kDecoderLayer, layer_bytes, i);
  add("language_model.model.norm", UnitKind::kNorm, 0);
  add("language_model.output", UnitKind::kHead, embed_bytes);
  m.llm.hidden_size = 64;
  m.llm.num_layers = num_layers;
  m.llm.num_heads = 4;
  m.llm.num_kv_heads = 0;  // no KV cache unless a test sets it
  m.llm.head_dim = 16;
  m.llm.vocab_size = 1000;
  return m;
}

PlacementConfig config(PlacementStrategy s, int n, std::optional<int64_t> budget = std::nullopt) {
  PlacementConfig c;
  c.name = "test";
  c.strategy = s;
  for (int i = 0; i < n; ++i) {
    c.devices.push_back(cuda(i));
    if (budget) c.max_memory["cuda:" + std::to_string(i)] = *budget;
  }
  return c;
}

// Decoder layers per device of `plan`, in `n` devices' order.
std::vector<int> layer_counts(const PlacementPlan& plan, const Manifest& m, int n) {
  std::vector<int> counts(n, 0);
  for (const auto& u : m.units)
    if (u.kind == UnitKind::kDecoderLayer) ++counts[plan.device_of(u.name).index()];
  return counts;
}

const DeviceBudget& budget_of(const PlacementPlan& plan, c10::Device d) {
  for (const auto& b : plan.budgets())
    if (b.device == d) return b;
  throw std::runtime_error("no budget for " + d.str());
}

Manifest size_manifest(const std::string& name) {
  return load_manifest(testing::size_manifests_dir() / name);
}

const std::vector<std::string> kSizes = {"InternVL2-1B",        "InternVL2-2B",  "InternVL2-4B",
                                         "InternVL2-8B",        "InternVL2-26B", "InternVL2-40B",
                                         "InternVL2-Llama3-76B"};
const std::vector<std::string> kSeedPins = {"vision_model",
                                            "mlp1",
                                            "language_model.model.tok_embeddings",
                                            "language_model.model.embed_tokens",
                                            "language_model.model.norm",
                                            "language_model.output",
                                            "language_model.lm_head"};

// ---- key matching ---------------------------------------------------------------------------

TEST(Placement, PrefixMatchesOnlyAtADotBoundary) {
  const Manifest m = synthetic(12);
  PlacementConfig c = config(PlacementStrategy::kSequential, 2);
  c.pin.insert_or_assign(layer(1), cuda(1));
  const PlacementPlan p = PlacementPlan::make(m, c, {});
  for (int i = 0; i < 12; ++i) EXPECT_EQ(p.device_of(layer(i)), cuda(i == 1 ? 1 : 0)) << i;
}

TEST(Placement, MostSpecificKeyWins) {
  const Manifest m = synthetic(12);
  PlacementConfig c = config(PlacementStrategy::kExplicit, 3);
  c.map.insert_or_assign("language_model", cuda(2));
  c.map.insert_or_assign("language_model.model.layers", cuda(1));
  c.map.insert_or_assign(layer(10), cuda(0));
  c.map.insert_or_assign("vision_model", cuda(0));
  c.map.insert_or_assign("mlp1", cuda(0));
  const PlacementPlan p = PlacementPlan::make(m, c, {});
  EXPECT_EQ(p.device_of(layer(1)), cuda(1));
  EXPECT_EQ(p.device_of(layer(10)), cuda(0));
  EXPECT_EQ(p.device_of(layer(11)), cuda(1));
  EXPECT_EQ(p.device_of("language_model.model.norm"), cuda(2));
  EXPECT_EQ(p.device_of("language_model.output"), cuda(2));
  EXPECT_EQ(p.device_of("vision_model"), cuda(0));
}

TEST(Placement, UnknownKeyNamesItAndTheNearestUnits) {
  const Manifest m = synthetic(12);
  PlacementConfig c = config(PlacementStrategy::kBalanced, 2);
  c.file = "/cfg/p.yaml";
  c.pin.insert_or_assign("language_model.model.layer.3", cuda(1));
  const std::string msg = user_error([&] { PlacementPlan::make(m, c, {}); });
  EXPECT_NE(msg.find("/cfg/p.yaml"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'language_model.model.layer.3' matches no unit"), std::string::npos) << msg;
  EXPECT_NE(msg.find("nearest unit names: language_model.model.layers.3"), std::string::npos)
      << msg;
  // Another family's module names (as split_model writes them) are not typos.
  PlacementConfig seed = config(PlacementStrategy::kBalanced, 2);
  for (const auto& k : kSeedPins) seed.pin.insert_or_assign(k, cuda(0));
  const PlacementPlan p = PlacementPlan::make(m, seed, {});
  int ignored = 0;
  for (const auto& n : p.notes()) ignored += n.find("another family") != std::string::npos;
  EXPECT_EQ(ignored, 2);  // language_model.model.embed_tokens and language_model.lm_head
}

TEST(Placement, DeviceNotInDevicesIsAnError) {
  const Manifest m = synthetic(4);
  PlacementConfig c = config(PlacementStrategy::kBalanced, 2);
  c.pin.insert_or_assign("language_model.output", cuda(5));
  const std::string msg = user_error([&] { PlacementPlan::make(m, c, {}); });
  EXPECT_NE(msg.find("language_model.output"), std::string::npos) << msg;
  EXPECT_NE(msg.find("cuda:5 is not in devices [cuda:0, cuda:1]"), std::string::npos) << msg;
  PlacementConfig both = config(PlacementStrategy::kBalanced, 2);
  both.pin.insert_or_assign("mlp1", cuda(0));
  both.map.insert_or_assign("mlp1", cuda(1));
  EXPECT_NE(user_error([&] { PlacementPlan::make(m, both, {}); }).find("mlp1"), std::string::npos);
}

TEST(Placement, ExplicitMapListsUnplacedUnitsAbbreviated) {
  const Manifest m = synthetic(80, 10 * kMiB);
  PlacementConfig c = config(PlacementStrategy::kExplicit, 2);
  c.map.insert_or_assign("vision_model", cuda(0));
  c.map.insert_or_assign("mlp1", cuda(0));
  c.map.insert_or_assign("language_model.model.tok_embeddings", cuda(0));
  for (int i = 0; i < 40; ++i) c.map.insert_or_assign(layer(i), cuda(1));
  const std::string msg = user_error([&] { PlacementPlan::make(m, c, {}); });
  EXPECT_NE(msg.find("leaves 42 unit(s)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unplaced: language_model.model.layers.40-79, language_model.model.norm, "
                     "language_model.output"),
            std::string::npos)
      << msg;
}

// ---- strategies on small manifests (expected results computed by hand) ------------------------

TEST(Placement, SequentialFillsEachDeviceUpToItsBudget) {
  const Manifest m = synthetic(10);  // vision 1, embeddings 0.5, 10 x 1, head 0.5 GiB
  PlacementConfig c = config(PlacementStrategy::kSequential, 3, 4 * kGiB);
  c.activation_reserve = kGiB / 2;
  const PlacementPlan p = PlacementPlan::make(m, c, {});
  // cuda:0: 0.5 reserve + 1 + 0.5 + layers 0-1 = 4; cuda:1: 0.5 + layers 2-4 = 3.5;
  // cuda:2: the rest, 0.5 + 5 + 0.5 = 6 > 4.
  EXPECT_EQ(layer_counts(p, m, 3), (std::vector<int>{2, 3, 5}));
  EXPECT_EQ(budget_of(p, cuda(0)).total(), 4 * kGiB);
  EXPECT_EQ(budget_of(p, cuda(1)).total(), 7 * kGiB / 2);
  EXPECT_EQ(budget_of(p, cuda(2)).total(), 6 * kGiB);
  EXPECT_FALSE(p.fits());
  EXPECT_NE(p.table().find("OVER by 2.00 GiB"), std::string::npos) << p.table();
  // Without budgets everything lands on the first device.
  const PlacementPlan one = PlacementPlan::make(m, config(PlacementStrategy::kSequential, 3), {});
  EXPECT_EQ(one.devices().size(), 1u);
  EXPECT_TRUE(one.fits());
}

TEST(Placement, BalancedMinimisesTheLargestDevice) {
  const Manifest m = synthetic(8, kGiB, 2 * kGiB, 0);
  PlacementConfig c = config(PlacementStrategy::kBalanced, 2, 8 * kGiB);
  c.activation_reserve = 0;
  for (const auto& k : kSeedPins) c.pin.insert_or_assign(k, cuda(0));
  const PlacementPlan p = PlacementPlan::make(m, c, {});
  // vision 2 GiB pinned on cuda:0, 8 layers of 1 GiB: 2 + 3 = 5 = 5.
  EXPECT_EQ(layer_counts(p, m, 2), (std::vector<int>{3, 5}));
  EXPECT_EQ(p.device_of(layer(2)), cuda(0));
  EXPECT_EQ(p.device_of(layer(3)), cuda(1));
  EXPECT_EQ(p.device_of("language_model.output"), cuda(0));
  EXPECT_TRUE(p.fits());
  // Three devices, vision 1.5 GiB: 1.5 + 2 = 3.5 (layers 0-1), 3, 3 is the only split with a
  // largest device under 4 GiB.
  const Manifest m3 = synthetic(8, kGiB, 3 * kGiB / 2, 0);
  PlacementConfig c3 = config(PlacementStrategy::kBalanced, 3);
  c3.activation_reserve = 0;
  for (const auto& k : kSeedPins) c3.pin.insert_or_assign(k, cuda(0));
  EXPECT_EQ(layer_counts(PlacementPlan::make(m3, c3, {}), m3, 3), (std::vector<int>{2, 3, 3}));
}

TEST(Placement, InternvlSplitReproducesTheReferenceTable) {
  // internvl2-architecture.md section 6: layers per GPU, the relocated last layer included.
  const std::map<int, std::map<int, std::vector<int>>> table = {
      {24, {{2, {9, 15}}, {3, {6, 10, 8}}, {4, {5, 7, 7, 5}}, {8, {3, 4, 4, 4, 4, 4, 1, 0}}}},
      {32, {{2, {12, 20}}, {3, {8, 13, 11}}, {4, {6, 10, 10, 6}}, {8, {4, 5, 5, 5, 5, 5, 3, 0}}}},
      {48, {{2, {17, 31}}, {3, {11, 20, 17}}, {4, {8, 14, 14, 12}}, {8, {5, 7, 7, 7, 7, 7, 7, 1}}}},
      {60,
       {{2, {21, 39}}, {3, {13, 24, 23}}, {4, {10, 18, 18, 14}}, {8, {5, 8, 8, 8, 8, 8, 8, 7}}}},
      {80,
       {{2, {28, 52}},
        {3, {17, 32, 31}},
        {4, {13, 23, 23, 21}},
        {8, {7, 11, 11, 11, 11, 11, 11, 7}}}},
  };
  for (const auto& [L, per_n] : table)
    for (const auto& [n, counts] : per_n) {
      const Manifest m = synthetic(L, 10 * kMiB);
      const PlacementPlan p =
          PlacementPlan::make(m, config(PlacementStrategy::kInternvlSplit, n), {});
      EXPECT_EQ(layer_counts(p, m, n), counts) << "L=" << L << " n=" << n;
      EXPECT_EQ(p.device_of(layer(L - 1)), cuda(0));
      for (const char* u : {"vision_model", "mlp1", "language_model.model.tok_embeddings",
                            "language_model.model.norm", "language_model.output"})
        EXPECT_EQ(p.device_of(u), cuda(0)) << u;
      EXPECT_EQ(p.budgets().size(), static_cast<size_t>(n));
    }
}

TEST(Placement, PinsApplyOnTopOfInternvlSplit) {
  const Manifest m = synthetic(24, 10 * kMiB);
  PlacementConfig c = config(PlacementStrategy::kInternvlSplit, 2);
  c.pin.insert_or_assign("language_model.output", cuda(1));
  c.pin.insert_or_assign(layer(23), cuda(1));
  const PlacementPlan p = PlacementPlan::make(m, c, {});
  EXPECT_EQ(layer_counts(p, m, 2), (std::vector<int>{8, 16}));
  EXPECT_EQ(p.device_of("language_model.output"), cuda(1));
}

TEST(Placement, TiedWeights) {
  Manifest m = synthetic(4);
  m.tied_groups = {{"language_model.model.tok_embeddings", "language_model.output"}};
  PlacementConfig together = config(PlacementStrategy::kExplicit, 2);
  together.map.insert_or_assign("language_model", cuda(1));
  together.map.insert_or_assign("vision_model", cuda(0));
  together.map.insert_or_assign("mlp1", cuda(0));
  together.activation_reserve = 0;
  const PlacementPlan a = PlacementPlan::make(m, together, {});
  // each unit loads its own copy (no tensor is shared between units' archives): both counted
  EXPECT_EQ(budget_of(a, cuda(1)).weights, 4 * kGiB + kGiB);
  PlacementConfig apart = together;
  apart.map.insert_or_assign("language_model.output", cuda(0));
  const PlacementPlan b = PlacementPlan::make(m, apart, {});
  EXPECT_EQ(budget_of(b, cuda(0)).weights, kGiB + kGiB / 2);
  EXPECT_EQ(budget_of(b, cuda(1)).weights, 4 * kGiB + kGiB / 2);
  auto has = [](const PlacementPlan& p, const std::string& s) {
    for (const auto& n : p.notes())
      if (n.find(s) != std::string::npos) return true;
    return false;
  };
  EXPECT_TRUE(has(a, "each unit holds its own copy"));
  EXPECT_TRUE(has(b, "each unit holds its own copy"));
}

TEST(Placement, AccelerateJsonEqualsTheSameMapInYaml) {
  const Manifest m = size_manifest("InternVL2-8B");
  const fs::path dir = fs::temp_directory_path() / "vlm_placement_test";
  fs::create_directories(dir);
  nlohmann::ordered_json acc = nlohmann::ordered_json::object();
  std::string yaml = "strategy: explicit\nmap:\n";
  for (const auto& u : m.units) {
    const bool second = u.layer >= 16 && u.layer < 31;
    acc[u.name] = second ? nlohmann::ordered_json(1) : nlohmann::ordered_json(0);
    yaml += "  " + u.name + ": " + (second ? "cuda:1" : "cuda:0") + "\n";
  }
  std::ofstream(dir / "map.json") << acc.dump(1);
  std::ofstream(dir / "map.yaml") << yaml;
  const PlacementPlan pj = PlacementPlan::make(m, load_placement_config(dir / "map.json"), {});
  const PlacementPlan py = PlacementPlan::make(m, load_placement_config(dir / "map.yaml"), {});
  EXPECT_EQ(pj.map(), py.map());
  EXPECT_EQ(pj.to_json()["devices"], py.to_json()["devices"]);
  EXPECT_EQ(layer_counts(pj, m, 2), (std::vector<int>{17, 15}));
  EXPECT_EQ(pj.strategy(), "explicit");
}

// ---- real sizes -----------------------------------------------------------------------------

TEST(PlacementSizes, KvCacheMatchesTheReferencePerToken) {
  // internvl2-architecture.md 3.3: KV cache per token in bf16.
  const std::map<std::string, int64_t> kib_per_token = {
      {"InternVL2-1B", 12},         {"InternVL2-2B", 96},   {"InternVL2-4B", 384},
      {"InternVL2-8B", 128},        {"InternVL2-26B", 192}, {"InternVL2-40B", 240},
      {"InternVL2-Llama3-76B", 320}};
  for (const auto& [name, kib] : kib_per_token) {
    const Manifest m = size_manifest(name);
    PlanCapacity cap;
    cap.max_sequence = 1000;
    const PlacementPlan p = PlacementPlan::make(m, config(PlacementStrategy::kBalanced, 2), cap);
    int64_t kv = 0;
    for (const auto& b : p.budgets()) kv += b.kv_cache;
    EXPECT_EQ(kv, kib * 1024 * 1000) << name;
  }
}

TEST(PlacementSizes, EveryBalancedConfigPlacesEveryUnitOnceAndHonoursPins) {
  const fs::path dir = testing::source_dir() / "configs/placements";
  // Fits with the shipped budgets (76 GiB usable per 80 GB GPU, 135 GiB per 141 GB GPU) at
  // batch 1 x 4096 positions, 13 tiles; from the bf16 sizes of reference 3.3 (1.7, 4.1, 7.7,
  // 15.0, 47.5, 74.6 and 142 GiB of weights): 40B (74.6 + ~2.4) is too big for one 76 GiB GPU,
  // 76B for one of either.
  const std::map<std::string, std::set<std::string>> cannot_fit = {
      {"balanced-1x80", {"InternVL2-40B", "InternVL2-Llama3-76B"}},
      {"balanced-1x141", {"InternVL2-Llama3-76B"}},
  };
  for (const std::string n : {"1", "2", "4", "8"})
    for (const std::string gb : {"80", "141"}) {
      const std::string cname = "balanced-" + n + "x" + gb;
      const PlacementConfig c = resolve_placement_config(cname, dir);
      for (const auto& name : kSizes) {
        SCOPED_TRACE(cname + " / " + name);
        const Manifest m = size_manifest(name);
        const PlacementPlan p = PlacementPlan::make(m, c, {});
        // Every unit exactly once, across the budgets, in execution order.
        std::vector<std::string> placed;
        int64_t weights = 0, total_params = 0;
        for (const auto& b : p.budgets()) {
          for (const auto& u : b.units) placed.push_back(u);
          weights += b.weights;
        }
        std::multiset<std::string> expect, got(placed.begin(), placed.end());
        for (const auto& u : m.units) {
          expect.insert(u.name);
          total_params += u.param_bytes;
        }
        EXPECT_EQ(got, expect);
        EXPECT_EQ(weights, total_params);
        // Pins.
        for (const auto& u : m.units) {
          if (u.kind != UnitKind::kDecoderLayer) {
            EXPECT_EQ(p.device_of(u.name), cuda(0)) << u.name;
          }
        }
        // Contiguous: device indices never decrease along the layers.
        int last = 0;
        for (const auto* l : m.decoder_layers()) {
          EXPECT_GE(p.device_of(l->name).index(), last) << l->name;
          last = p.device_of(l->name).index();
        }
        // Near-optimal: no device exceeds the larger of cuda:0's fixed load and the mean by
        // more than one layer (+ its KV cache).
        int64_t all = 0, max_total = 0;
        for (const auto& b : p.budgets()) {
          all += b.total();
          max_total = std::max(max_total, b.total());
        }
        const auto& b0 = budget_of(p, cuda(0));
        int64_t fixed0 = b0.activations;
        for (const auto& u : m.units)
          if (u.kind != UnitKind::kDecoderLayer) fixed0 += u.param_bytes;
        const int64_t layer_cost =
            m.decoder_layers()[0]->param_bytes + 2 * m.llm.num_kv_heads * m.llm.head_dim * 4096 * 2;
        EXPECT_LE(max_total, std::max(fixed0, all / std::stoi(n)) + layer_cost);
        const bool expect_fit = !cannot_fit.count(cname) || !cannot_fit.at(cname).count(name);
        EXPECT_EQ(p.fits(), expect_fit) << p.table();
      }
    }
}

TEST(PlacementSizes, Llama3_76BOnTwo80GBGpus) {
  const fs::path dir = testing::source_dir() / "configs/placements";
  const Manifest m = size_manifest("InternVL2-Llama3-76B");
  const PlacementPlan split =
      PlacementPlan::make(m, resolve_placement_config("internvl-split-2x80", dir), {});
  const PlacementPlan balanced =
      PlacementPlan::make(m, resolve_placement_config("balanced-2x80", dir), {});
  std::cout << split.table() << "\n" << balanced.table() << std::flush;

  // Upstream split_model: 28 and 52 layers; 52 x 1.6 GiB = 83 GiB on cuda:1 (reference 3.3, 6).
  EXPECT_EQ(layer_counts(split, m, 2), (std::vector<int>{28, 52}));
  const DeviceBudget& s1 = budget_of(split, cuda(1));
  EXPECT_GT(s1.weights, 80 * kGiB);
  EXPECT_LT(s1.weights, 86 * kGiB);
  EXPECT_FALSE(s1.fits());
  EXPECT_FALSE(split.fits());
  EXPECT_NE(split.table().find("vision_model, mlp1, embed_tokens, layers 0-26, 79, norm, lm_head"),
            std::string::npos)
      << split.table();
  EXPECT_NE(split.table().find("OVER by"), std::string::npos);

  // Balanced by bytes around the seed's pins: 142 GiB of weights + 1.25 GiB KV in 2 x 76 GiB.
  EXPECT_TRUE(balanced.fits()) << balanced.table();
  const DeviceBudget& b0 = budget_of(balanced, cuda(0));
  const DeviceBudget& b1 = budget_of(balanced, cuda(1));
  EXPECT_LT(std::abs(b0.total() - b1.total()), 2 * kGiB);
  EXPECT_EQ(balanced.to_json()["fits"], true);
  EXPECT_EQ(balanced.to_json()["devices"][1]["total_bytes"], b1.total());
  EXPECT_EQ(split.to_json()["devices"][1]["fits"], false);
}

TEST(PlacementSizes, AccelerateExampleMatchesTheBalancedPlan) {
  const fs::path dir = testing::source_dir() / "configs/placements";
  const Manifest m = size_manifest("InternVL2-Llama3-76B");
  PlacementConfig acc = load_placement_config(dir / "examples/accelerate-76b-2gpu.json");
  const PlacementPlan from_json = PlacementPlan::make(m, acc, {});
  const PlacementPlan balanced =
      PlacementPlan::make(m, resolve_placement_config("balanced-2x80", dir), {});
  EXPECT_EQ(from_json.map(), balanced.map());
}

TEST(PlacementSizes, SingleAutoPutsEverythingOnOneDevice) {
  const Manifest m = size_manifest("InternVL2-2B");
  PlacementConfig single =
      resolve_placement_config("single", testing::source_dir() / "configs/placements");
  // [auto] is resolved before planning (vlm/run/placement_setup.h), never by the planner.
  ASSERT_TRUE(single.auto_device);
  EXPECT_THROW(PlacementPlan::make(m, single, {}), InternalError);
  for (const c10::Device& d : {cuda(3), kCpu}) {
    single.auto_device = false;
    single.devices = {d};
    const PlacementPlan p = PlacementPlan::make(m, single, {});
    EXPECT_EQ(p.devices(), std::vector<c10::Device>{d});
    EXPECT_TRUE(p.fits());
  }
}

TEST(PlacementSizes, ActivationEstimateFollowsTheDocumentedFormula) {
  const Manifest m = size_manifest("InternVL2-Llama3-76B");
  PlanCapacity cap;
  cap.batch = 2;
  cap.max_sequence = 1000;
  cap.max_tiles = 7;
  PlacementConfig c = config(PlacementStrategy::kExplicit, 3);
  c.map.insert_or_assign("vision_model", cuda(0));
  c.map.insert_or_assign("mlp1", cuda(0));
  c.map.insert_or_assign("language_model.model", cuda(1));
  c.map.insert_or_assign("language_model.lm_head", cuda(2));
  const PlacementPlan p = PlacementPlan::make(m, c, cap);
  // InternViT-6B: C 3200, 25 heads, 1025 tokens per tile; Llama-3-70B: H 8192, I 28672,
  // vocab 128265 (reference 3.1); bf16. Not by the batch of 2: a prefill is one item of 1000
  // positions, a decode step 32 rows (ModelForward::kDecodeRows) of one token.
  EXPECT_EQ(budget_of(p, cuda(0)).activations,
            7LL * 1025 * 3200 * 2 * 10 + 7LL * 25 * 1025 * 1025 * 2);
  EXPECT_EQ(budget_of(p, cuda(1)).activations, 1000LL * (4 * 8192 + 2 * 28672) * 2);
  EXPECT_EQ(budget_of(p, cuda(2)).activations, 32LL * 128265 * 4);
  c.activation_reserve = 3 * kGiB;
  EXPECT_EQ(budget_of(PlacementPlan::make(m, c, cap), cuda(2)).activations, 3 * kGiB);
}

// The 76B shape at 1000 positions and 7 tiles, and its vision and decoder-layer estimates there
// (placement_plan.h's formulas, written out).
PlanCapacity seventy_six_capacity() {
  PlanCapacity cap;
  cap.max_sequence = 1000;
  cap.max_tiles = 7;
  return cap;
}
constexpr int64_t kVision76 = 7LL * 1025 * 3200 * 2 * 10 + 7LL * 25 * 1025 * 1025 * 2;
constexpr int64_t kLayers76 = 1000LL * (4 * 8192 + 2 * 28672) * 2;

// run --overlap: the next item's vision runs beside an item's prefill and decode, so a device
// holding both sides reserves both; a device with one side, and every plan without overlap, keeps
// the largest estimate.
TEST(PlacementSizes, OverlapReservesVisionBesideTheLayersOnADeviceWithBoth) {
  const Manifest m = size_manifest("InternVL2-Llama3-76B");
  PlanCapacity cap = seventy_six_capacity();
  const int64_t vision = kVision76, layers = kLayers76;
  const int64_t head = 32LL * 128265 * 4;
  PlacementConfig c = config(PlacementStrategy::kExplicit, 2);
  c.map.insert_or_assign("vision_model", cuda(0));
  c.map.insert_or_assign("mlp1", cuda(0));
  c.map.insert_or_assign("language_model.model", cuda(0));
  c.map.insert_or_assign("language_model.lm_head", cuda(1));
  const PlacementPlan plain = PlacementPlan::make(m, c, cap);
  EXPECT_EQ(budget_of(plain, cuda(0)).activations, std::max(vision, layers));
  cap.overlap = true;
  const PlacementPlan overlap = PlacementPlan::make(m, c, cap);
  EXPECT_EQ(budget_of(overlap, cuda(0)).activations, vision + layers);
  EXPECT_EQ(budget_of(overlap, cuda(1)).activations, head);  // no vision there
  EXPECT_NE(overlap.table().find(", overlap"), std::string::npos) << overlap.table();
  EXPECT_EQ(plain.table().find("overlap"), std::string::npos) << plain.table();
  EXPECT_TRUE(overlap.to_json()["capacity"]["overlap"].get<bool>());
  EXPECT_FALSE(plain.to_json()["capacity"].contains("overlap"));

  // The vision side alone on its device: nothing runs beside it there.
  c.map.insert_or_assign("language_model.model", cuda(1));
  EXPECT_EQ(budget_of(PlacementPlan::make(m, c, cap), cuda(0)).activations, vision);
  EXPECT_EQ(budget_of(PlacementPlan::make(m, c, cap), cuda(1)).activations, std::max(layers, head));
}

// Prefill graphs keep the longest prefill's activations in their pool beside the allocator's: a
// CUDA device with decoder layers reserves twice the layer estimate, a device without layers or a
// CPU nothing more, and the plan says why.
TEST(PlacementSizes, PrefillGraphsReserveTwiceTheLayersOnACudaDeviceWithLayers) {
  const Manifest m = size_manifest("InternVL2-Llama3-76B");
  PlanCapacity cap = seventy_six_capacity();
  const int64_t vision = kVision76, layers = kLayers76;
  PlacementConfig c = config(PlacementStrategy::kExplicit, 2);
  c.map.insert_or_assign("vision_model", cuda(0));
  c.map.insert_or_assign("mlp1", cuda(0));
  c.map.insert_or_assign("language_model.model", cuda(1));
  c.map.insert_or_assign("language_model.lm_head", cuda(1));
  const PlacementPlan plain = PlacementPlan::make(m, c, cap);
  cap.prefill_graphs = true;
  const PlacementPlan graphs = PlacementPlan::make(m, c, cap);
  EXPECT_EQ(budget_of(plain, cuda(1)).activations, layers);
  EXPECT_EQ(budget_of(graphs, cuda(1)).activations, 2 * layers);
  EXPECT_EQ(budget_of(graphs, cuda(0)).activations, vision);  // no layers there
  auto has_note = [](const PlacementPlan& p) {
    for (const auto& n : p.notes())
      if (n.rfind("prefill graphs:", 0) == 0) return true;
    return false;
  };
  EXPECT_TRUE(has_note(graphs));
  EXPECT_FALSE(has_note(plain));

  // Layers on the CPU: eager prefills, nothing kept.
  PlacementConfig on_cpu = config(PlacementStrategy::kBalanced, 1);
  on_cpu.devices = {c10::Device(c10::kCPU)};
  PlanCapacity eager = cap;
  eager.prefill_graphs = false;
  EXPECT_EQ(budget_of(PlacementPlan::make(m, on_cpu, cap), c10::kCPU).activations,
            budget_of(PlacementPlan::make(m, on_cpu, eager), c10::kCPU).activations);
}

// ---- batch size -------------------------------------------------------------------------------

// The KV cache is per item: N items hold N times one item's, on every device; the weights and the
// activation reserve (one item's prefill, a decode step of kDecodeRows rows) do not change.
TEST(PlacementBatch, KvCacheScalesWithTheBatchAndNothingElseDoes) {
  const Manifest m = size_manifest("InternVL2-8B");
  PlanCapacity one;
  one.max_sequence = 7936;
  PlanCapacity eight = one;
  eight.batch = 8;
  const PlacementConfig c = config(PlacementStrategy::kInternvlSplit, 2);
  const PlacementPlan p1 = PlacementPlan::make(m, c, one), p8 = PlacementPlan::make(m, c, eight);
  ASSERT_EQ(p1.budgets().size(), 2u);
  ASSERT_EQ(p8.budgets().size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const DeviceBudget &b1 = p1.budgets()[i], &b8 = p8.budgets()[i];
    EXPECT_GT(b1.kv_cache, 0) << i;
    EXPECT_EQ(b8.kv_cache, 8 * b1.kv_cache) << i;
    EXPECT_EQ(b8.weights, b1.weights) << i;
    EXPECT_EQ(b8.activations, b1.activations) << i;
    EXPECT_EQ(b8.units, b1.units) << i;
  }
  // 128 KiB per token for 8B (reference 3.3), 7936 positions, 8 items.
  EXPECT_EQ(p8.budgets()[0].kv_cache + p8.budgets()[1].kv_cache, 8LL * 128 * 1024 * 7936);
  EXPECT_EQ(p8.capacity().batch, 8);
  EXPECT_EQ(p1.capacity().batch, 1);
  EXPECT_EQ(p8.to_json()["capacity"]["batch"], 8);
  EXPECT_NE(p8.table().find(", batch 8 x 7936 positions"), std::string::npos) << p8.table();
}

// A synthetic model on one device with a budget that holds its weights, its activation reserve
// and exactly `items` items' KV cache (plus `slack` bytes).
struct BudgetFor {
  Manifest m = synthetic(4);
  PlanCapacity cap;
  int64_t base = 0;  // weights + activations at any batch
  int64_t kv = 0;    // one item's KV cache
  BudgetFor() {
    m.llm.num_kv_heads = 2;
    cap.max_sequence = 1000;
    const PlacementPlan p = PlacementPlan::make(m, config(PlacementStrategy::kSequential, 1), cap);
    base = p.budgets()[0].weights + p.budgets()[0].activations;
    kv = p.budgets()[0].kv_cache;
  }
  PlacementPlan auto_plan(int64_t items, int64_t slack, int64_t max_batch = 32) const {
    return PlacementPlan::make_largest_batch(
        m, config(PlacementStrategy::kSequential, 1, base + items * kv + slack), cap, max_batch);
  }
};

TEST(PlacementBatch, AutoTakesTheLargestBatchThatFitsTheBudget) {
  const BudgetFor f;
  ASSERT_EQ(f.kv, 4 * 2 * 2 * 16 * 1000 * 2);  // layers * K and V * kv heads * head dim * pos * D
  for (int64_t k : {1, 2, 5, 31, 32}) {
    const PlacementPlan exact = f.auto_plan(k, 0);
    EXPECT_EQ(exact.capacity().batch, k);
    EXPECT_TRUE(exact.fits()) << exact.table();
    EXPECT_EQ(exact.budgets()[0].total(), *exact.budgets()[0].max_memory);
    // One byte less, and k items no longer fit.
    if (k > 1) {
      EXPECT_EQ(f.auto_plan(k, -1).capacity().batch, k - 1);
    }
  }
  const PlacementPlan five = f.auto_plan(5, f.kv / 2);
  EXPECT_EQ(five.capacity().batch, 5);
  const std::string table = five.table();
  EXPECT_NE(table.find("note: batch size auto: 5 (of at most 32); 6 would put cuda:0 over its "
                       "budget by"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find(", batch 5 x 1000 positions"), std::string::npos) << table;
  // Room for more than the most: the most.
  const PlacementPlan most = f.auto_plan(100, 0);
  EXPECT_EQ(most.capacity().batch, 32);
  EXPECT_NE(most.table().find("batch size auto: 32 (the most), within every device's budget"),
            std::string::npos)
      << most.table();
  EXPECT_EQ(f.auto_plan(100, 0, 4).capacity().batch, 4);
  // Not even one item: the plan at 1, which does not fit, for the caller to refuse with its table.
  const PlacementPlan none = f.auto_plan(0, f.kv / 2);
  EXPECT_EQ(none.capacity().batch, 1);
  EXPECT_FALSE(none.fits());
  EXPECT_NE(none.table().find("batch size auto: not even 1 item fits the budgets"),
            std::string::npos)
      << none.table();
}

// On several devices, re-planned at each batch: the batch taken fits every device, one more
// does not.
TEST(PlacementBatch, AutoOnSeveralDevicesFitsEveryBudgetAndOneMoreWouldNot) {
  const Manifest m = size_manifest("InternVL2-Llama3-76B");
  PlanCapacity cap;
  cap.max_sequence = 7936;
  cap.max_tiles = 7;
  const PlacementConfig c = config(PlacementStrategy::kBalanced, 2, 76 * kGiB);
  const PlacementPlan p = PlacementPlan::make_largest_batch(m, c, cap, 32);
  const int64_t n = p.capacity().batch;
  EXPECT_GT(n, 1);
  EXPECT_LT(n, 32);
  EXPECT_TRUE(p.fits()) << p.table();
  cap.batch = n + 1;
  EXPECT_FALSE(PlacementPlan::make(m, c, cap).fits());
}

// Without budgets auto has nothing to bound it: the most on a CUDA device, 1 on the CPU.
TEST(PlacementBatch, AutoWithoutBudgetsIsTheMostOnCudaAndOneOnTheCpu) {
  const BudgetFor f;
  const PlacementPlan gpu =
      PlacementPlan::make_largest_batch(f.m, config(PlacementStrategy::kSequential, 1), f.cap, 32);
  EXPECT_EQ(gpu.capacity().batch, 32);
  EXPECT_EQ(gpu.budgets()[0].kv_cache, 32 * f.kv);
  EXPECT_NE(gpu.table().find("batch size auto: 32 (the most), as no device has a budget"),
            std::string::npos)
      << gpu.table();
  PlacementConfig cpu = config(PlacementStrategy::kSequential, 0);
  cpu.devices = {kCpu};
  const PlacementPlan host = PlacementPlan::make_largest_batch(f.m, cpu, f.cap, 32);
  EXPECT_EQ(host.capacity().batch, 1);
  EXPECT_NE(host.table().find("batch size auto: 1, as no device has a budget (max_memory) and "
                              "none is CUDA"),
            std::string::npos)
      << host.table();
}

TEST(PlacementSizes, RequireDevicesPresentNamesUnitAndDevice) {
  const Manifest m = size_manifest("InternVL2-Llama3-76B");
  const int count = static_cast<int>(torch::cuda::device_count());
  PlacementConfig c;
  c.name = "t";
  c.strategy = PlacementStrategy::kExplicit;
  c.devices = {kCpu, cuda(count + 2)};
  c.map.insert_or_assign("vision_model", kCpu);
  c.map.insert_or_assign("mlp1", kCpu);
  c.map.insert_or_assign("language_model", kCpu);
  for (int i = 40; i < 80; ++i) c.map.insert_or_assign(layer(i), cuda(count + 2));
  const PlacementPlan p = PlacementPlan::make(m, c, {});
  const std::string msg = user_error([&] { require_devices_present(p); });
  EXPECT_EQ(msg, "placement puts language_model.model.layers.40 (and 39 more units) on cuda:" +
                     std::to_string(count + 2) + ", but this machine has " + std::to_string(count) +
                     " CUDA device(s)");
  EXPECT_NO_THROW(require_devices_present(PlacementPlan::all_on(m, kCpu)));
}

}  // namespace
}  // namespace vlm

namespace vlm {
namespace {

using json = nlohmann::json;

// Every shipped placement on four sizes, as shipped (at the default capacity and at batch 2 x 9000
// positions, 40 tiles) and under each other strategy with a 2 GiB activation reserve: the plan's
// to_json() (less `map` and per-device `units`, which repeat units_compact) or the UserError, equal
// byte for byte to tests/model/golden/placement_plans.txt (made by the planner before it was split
// into steps). VLM_WRITE_PLAN_GOLDEN=1 rewrites the file.
TEST(PlacementSizes, EveryShippedPlacementPlansItsGolden) {
  const fs::path dir = testing::source_dir() / "configs/placements";
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".yaml") files.push_back(e.path());
  for (const auto& e : fs::directory_iterator(dir / "examples"))
    if (e.path().extension() == ".json") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  PlanCapacity large;
  large.batch = 2;
  large.max_sequence = 9000;
  large.max_tiles = 40;
  const std::string src = testing::source_dir().string();
  std::string got;
  auto add = [&](const std::string& what, const Manifest& m, const PlacementConfig& c,
                 const PlanCapacity& cap) {
    std::string line;
    try {
      const PlacementPlan p = PlacementPlan::make(m, c, cap);
      json j = p.to_json();
      j.erase("map");
      for (auto& d : j["devices"]) d.erase("units");
      line = j.dump();
    } catch (const UserError& e) {
      line = std::string("UserError: ") + e.what();
    }
    for (size_t at = line.find(src); at != std::string::npos; at = line.find(src, at))
      line.replace(at, src.size(), "<src>");
    got += what + "\n" + line + "\n";
  };
  for (const auto& f : files)
    for (const std::string size :
         {"InternVL2-2B", "InternVL2-8B", "InternVL2-26B", "InternVL2-Llama3-76B"}) {
      const Manifest m = size_manifest(size);
      PlacementConfig c = load_placement_config(f);
      if (c.auto_device) {
        c.auto_device = false;
        c.devices = {kCpu};
      }
      const std::string what = f.filename().string() + " " + size;
      add(what, m, c, {});
      add(what + " large", m, c, large);
      for (PlacementStrategy s :
           {PlacementStrategy::kBalanced, PlacementStrategy::kSequential,
            PlacementStrategy::kInternvlSplit, PlacementStrategy::kExplicit}) {
        if (s == c.strategy) continue;
        PlacementConfig other = c;
        other.strategy = s;
        other.activation_reserve = 2 * kGiB;
        add(what + " strategy " + std::to_string(static_cast<int>(s)), m, other, {});
      }
    }
  const fs::path golden = testing::source_dir() / "tests/model/golden/placement_plans.txt";
  if (std::getenv("VLM_WRITE_PLAN_GOLDEN")) {
    fs::create_directories(golden.parent_path());
    std::ofstream(golden, std::ios::binary) << got;
    GTEST_SKIP() << "wrote " << golden;
  }
  const std::string want = testing::read_file(golden);
  ASSERT_FALSE(want.empty()) << golden << " is missing";
  EXPECT_EQ(got, want);
}

}  // namespace
}  // namespace vlm
