#include "vlm/model/placement_config.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <functional>

#include "common/test_paths.h"
#include "common/user_error.h"
#include "vlm/core/error.h"

namespace vlm {
namespace {
namespace fs = std::filesystem;

using testing::user_error;

fs::path write_file(const std::string& name, const std::string& text) {
  const fs::path dir = fs::temp_directory_path() / "vlm_placement_config_test";
  fs::create_directories(dir);
  const fs::path file = dir / name;
  std::ofstream(file) << text;
  return file;
}

constexpr int64_t kKiB = 1024, kMiB = kKiB * 1024, kGiB = kMiB * 1024;

TEST(ParseSize, UnitsAndPlainBytes) {
  const std::vector<std::pair<std::string, int64_t>> cases = {{"40GiB", 40 * kGiB},
                                                              {"512MiB", 512 * kMiB},
                                                              {"1.5GB", 1500000000},
                                                              {"1000000", 1000000},
                                                              {"0", 0},
                                                              {"2KiB", 2048},
                                                              {"3kb", 3000},
                                                              {"1TiB", 1024 * kGiB},
                                                              {"2TB", 2000000000000},
                                                              {" 76 GiB ", 76 * kGiB},
                                                              {"0.5gib", kGiB / 2},
                                                              {"12B", 12},
                                                              {"141GiB", 141 * kGiB},
                                                              {"7MB", 7000000}};
  for (const auto& [text, bytes] : cases) EXPECT_EQ(parse_size(text, "here"), bytes) << text;
}

TEST(ParseSize, RejectsTextNamingWhereAndTheText) {
  for (const std::string bad :
       {"", "GiB", "40 apples", "-1GiB", "1.2.3GB", "40G", ".5GiB", "5.GiB", "1e9"}) {
    const std::string msg = user_error([&] { parse_size(bad, "cfg.yaml: max_memory.cuda:0"); });
    EXPECT_NE(msg.find("cfg.yaml: max_memory.cuda:0"), std::string::npos) << bad << ": " << msg;
    EXPECT_NE(msg.find("'" + bad + "'"), std::string::npos) << msg;
  }
}

TEST(FormatGib, TwoDecimals) {
  EXPECT_EQ(format_gib(40 * kGiB), "40.00 GiB");
  EXPECT_EQ(format_gib(kGiB / 4 * 5), "1.25 GiB");
  EXPECT_EQ(format_gib(0), "0.00 GiB");
}

TEST(ParseDevice, AcceptedForms) {
  EXPECT_EQ(parse_device("cuda:1", "w"), c10::Device(c10::kCUDA, 1));
  EXPECT_EQ(parse_device("cuda", "w"), c10::Device(c10::kCUDA, 0));
  EXPECT_EQ(parse_device("cpu", "w"), c10::Device(c10::kCPU));
  EXPECT_EQ(parse_device("0", "w"), c10::Device(c10::kCUDA, 0));
  EXPECT_EQ(parse_device("7", "w"), c10::Device(c10::kCUDA, 7));
  EXPECT_EQ(parse_device(" cuda:3 ", "w"), c10::Device(c10::kCUDA, 3));
}

TEST(ParseDevice, RejectedFormsNameTheText) {
  for (const std::string bad : {"disk", "mps", "gpu0", "cuda:", "cuda:x", "-1", "", "cuda:1:2"}) {
    const std::string msg = user_error([&] { parse_device(bad, "map.vision_model"); });
    EXPECT_NE(msg.find("map.vision_model"), std::string::npos) << bad << ": " << msg;
    EXPECT_NE(msg.find("'" + bad + "'"), std::string::npos) << msg;
  }
}

TEST(LoadPlacementConfig, TheSeedConfigAsWrittenInTheDesign) {
  const PlacementConfig c =
      load_placement_config(testing::source_dir() / "configs/placements/seed-pins-balanced.yaml");
  EXPECT_EQ(c.name, "seed-pins-balanced");
  EXPECT_EQ(c.strategy, PlacementStrategy::kBalanced);
  ASSERT_EQ(c.devices.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(c.devices[i], c10::Device(c10::kCUDA, i));
    EXPECT_EQ(c.max_memory.at("cuda:" + std::to_string(i)), 40 * kGiB);
  }
  EXPECT_EQ(c.pin.size(), 7u);
  EXPECT_EQ(c.pin.at("language_model.lm_head"), c10::Device(c10::kCUDA, 0));
  EXPECT_TRUE(c.map.empty());
  EXPECT_EQ(c.activation_reserve, -1);
  EXPECT_FALSE(c.auto_device);
}

TEST(LoadPlacementConfig, SingleIsAutoSequential) {
  const PlacementConfig c =
      resolve_placement_config("single", testing::source_dir() / "configs/placements");
  EXPECT_TRUE(c.auto_device);
  EXPECT_TRUE(c.devices.empty());
  EXPECT_EQ(c.strategy, PlacementStrategy::kSequential);
}

TEST(LoadPlacementConfig, EveryShippedConfigLoads) {
  const fs::path dir = testing::source_dir() / "configs/placements";
  for (const std::string n : {"1", "2", "4", "8"})
    for (const std::string gb : {"80", "141"}) {
      const PlacementConfig c = resolve_placement_config("balanced-" + n + "x" + gb, dir);
      EXPECT_EQ(c.strategy, PlacementStrategy::kBalanced);
      EXPECT_EQ(c.devices.size(), static_cast<size_t>(std::stoi(n)));
      EXPECT_EQ(c.max_memory.size(), c.devices.size());
      EXPECT_EQ(c.pin.size(), 7u);
    }
  EXPECT_EQ(resolve_placement_config("internvl-split-2x80", dir).strategy,
            PlacementStrategy::kInternvlSplit);
  const PlacementConfig acc = resolve_placement_config("examples/accelerate-76b-2gpu.json", dir);
  EXPECT_EQ(acc.strategy, PlacementStrategy::kExplicit);
  EXPECT_EQ(acc.map.size(), 85u);
}

TEST(LoadPlacementConfig, AllKeys) {
  const fs::path f = write_file("all.yaml", R"(strategy: sequential
devices: [cuda:1, 0, cpu]
max_memory: {cuda:1: 10GiB, cuda:0: 1.5GB}
pin: {vision_model: 0}
map:
  language_model.model.layers.3: cpu
activation_reserve: 512MiB
)");
  const PlacementConfig c = load_placement_config(f);
  EXPECT_EQ(c.strategy, PlacementStrategy::kSequential);
  ASSERT_EQ(c.devices.size(), 3u);
  EXPECT_EQ(c.devices[0], c10::Device(c10::kCUDA, 1));
  EXPECT_EQ(c.devices[1], c10::Device(c10::kCUDA, 0));
  EXPECT_EQ(c.devices[2], c10::Device(c10::kCPU));
  EXPECT_EQ(c.max_memory.at("cuda:1"), 10 * kGiB);
  EXPECT_EQ(c.max_memory.at("cuda:0"), 1500000000);
  EXPECT_EQ(c.pin.at("vision_model"), c10::Device(c10::kCUDA, 0));
  EXPECT_EQ(c.map.at("language_model.model.layers.3"), c10::Device(c10::kCPU));
  EXPECT_EQ(c.activation_reserve, 512 * kMiB);
  EXPECT_EQ(c.file, f);
  EXPECT_EQ(c.name, "all");
}

TEST(LoadPlacementConfig, ExplicitYamlTakesDevicesFromTheMap) {
  const PlacementConfig c = load_placement_config(write_file("explicit.yaml", R"(strategy: explicit
map:
  vision_model: cuda:1
  mlp1: cuda:1
  language_model: 0
)"));
  ASSERT_EQ(c.devices.size(), 2u);
  EXPECT_EQ(c.devices[0], c10::Device(c10::kCUDA, 1));
  EXPECT_EQ(c.devices[1], c10::Device(c10::kCUDA, 0));
}

TEST(LoadPlacementConfig, AccelerateJsonMap) {
  const PlacementConfig c = load_placement_config(write_file("acc.json", R"({
  "vision_model": 1, "mlp1": "cuda:1", "language_model.model.embed_tokens": 0,
  "language_model.model.layers.0": "cpu", "language_model.lm_head": 1})"));
  EXPECT_EQ(c.strategy, PlacementStrategy::kExplicit);
  EXPECT_EQ(c.name, "acc");
  ASSERT_EQ(c.devices.size(), 3u);  // distinct values, first appearance first
  EXPECT_EQ(c.devices[0], c10::Device(c10::kCUDA, 1));
  EXPECT_EQ(c.devices[1], c10::Device(c10::kCUDA, 0));
  EXPECT_EQ(c.devices[2], c10::Device(c10::kCPU));
  EXPECT_EQ(c.map.size(), 5u);
  EXPECT_EQ(c.map.at("mlp1"), c10::Device(c10::kCUDA, 1));
  EXPECT_TRUE(c.max_memory.empty());
}

TEST(LoadPlacementConfig, Errors) {
  struct Case {
    std::string file, text;
    std::vector<std::string> expect;
  };
  const std::vector<Case> cases = {
      {"unknown_key.yaml",
       "strategy: balanced\ndevices: [cuda:0]\npins: {mlp1: 0}\n",
       {"unknown_key.yaml", "unknown key 'pins'", "closest: pin"}},
      {"bad_strategy.yaml",
       "strategy: greedy\ndevices: [cuda:0]\n",
       {"bad_strategy.yaml", "strategy", "'greedy'", "balanced, sequential, internvl-split"}},
      {"bad_size.yaml",
       "devices: [cuda:0]\nmax_memory: {cuda:0: 40 gigs}\n",
       {"bad_size.yaml", "max_memory.cuda:0", "'40 gigs'"}},
      {"bad_reserve.yaml",
       "devices: [cuda:0]\nactivation_reserve: lots\n",
       {"bad_reserve.yaml", "activation_reserve", "'lots'"}},
      {"bad_device.yaml", "devices: [cuda:0, disk]\n", {"bad_device.yaml", "devices[1]", "'disk'"}},
      {"bad_pin.yaml",
       "devices: [cuda:0]\npin: {mlp1: mps}\n",
       {"bad_pin.yaml", "pin.mlp1", "'mps'"}},
      {"auto_plus.yaml", "devices: [auto, cuda:1]\n", {"auto_plus.yaml", "'auto'", "only"}},
      {"twice.yaml", "devices: [cuda:0, 0]\n", {"twice.yaml", "cuda:0 is listed twice"}},
      {"no_devices.yaml", "strategy: balanced\n", {"no_devices.yaml", "devices is missing"}},
      {"budget_elsewhere.yaml",
       "devices: [cuda:0]\nmax_memory: {cuda:2: 1GiB}\n",
       {"budget_elsewhere.yaml", "cuda:2", "not in devices"}},
      {"explicit_empty.yaml", "strategy: explicit\n", {"explicit_empty.yaml", "non-empty map"}},
      {"not_yaml.yaml", "devices: [cuda:0\n", {"not_yaml.yaml", "not valid YAML"}},
      {"bad.json", "{\"vision_model\": \"disk\"}", {"bad.json", "vision_model", "'disk'"}},
      {"bad_value.json", "{\"vision_model\": [0]}", {"bad_value.json", "vision_model", "[0]"}},
      {"not.json", "{\"vision_model\": 0", {"not.json", "not valid JSON"}},
      // Types through the one config key table: each names the key path and the expected type.
      {"devices_scalar.yaml",
       "devices: cuda:0\n",
       {"devices_scalar.yaml: devices: expected a list [a device", "got 'cuda:0'"}},
      {"pin_list.yaml",
       "devices: [cuda:0]\npin: [mlp1]\n",
       {"pin_list.yaml: pin: expected a mapping {name: a device", "got a list"}},
      {"size_list.yaml",
       "devices: [cuda:0]\nmax_memory: {cuda:0: [1GiB]}\n",
       {"size_list.yaml: max_memory.cuda:0: expected a size", "got a list"}},
      {"nested_typo.yaml",
       "devices: [cuda:0]\nstrategie: balanced\n",
       {"nested_typo.yaml: strategie: unknown key 'strategie'", "closest: strategy"}},
  };
  for (const auto& c : cases) {
    const fs::path f = write_file(c.file, c.text);
    const std::string msg = user_error([&] { load_placement_config(f); });
    ASSERT_FALSE(msg.empty()) << c.file;
    for (const auto& e : c.expect) EXPECT_NE(msg.find(e), std::string::npos) << msg;
  }
  EXPECT_NE(
      user_error([&] { load_placement_config("/nonexistent/p.yaml"); }).find("does not exist"),
      std::string::npos);
}

// The node-based reader is the file-based one's YAML step: same config, same messages.
TEST(LoadPlacementConfig, FromAParsedYamlNode) {
  const PlacementConfig c = load_placement_config(
      YAML::Load("strategy: balanced\ndevices: [cuda:0, cuda:1]\npin: {mlp1: 1}\n"),
      "/configs/placements/two.yaml");
  EXPECT_EQ(c.name, "two");
  EXPECT_EQ(c.file, fs::path("/configs/placements/two.yaml"));
  EXPECT_EQ(c.strategy, PlacementStrategy::kBalanced);
  EXPECT_EQ(c.pin.at("mlp1"), c10::Device(c10::kCUDA, 1));
  const std::string msg = user_error([] {
    load_placement_config(YAML::Load("devices: [cuda:0]\npins: {mlp1: 0}\n"), "/x/p.yaml");
  });
  EXPECT_NE(msg.find("/x/p.yaml: pins: unknown key 'pins'"), std::string::npos) << msg;
}

// Every shipped YAML placement config (seed-pins-balanced and single too) passes the key table.
TEST(LoadPlacementConfig, EveryShippedYamlPassesTheKeyTable) {
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(testing::source_dir() / "configs/placements"))
    if (e.path().extension() == ".yaml") {
      EXPECT_FALSE(load_placement_config(e.path()).name.empty()) << e.path();
      ++n;
    }
  EXPECT_GE(n, 10u);
}

TEST(ResolvePlacementConfig, NameOrPathAndClosestNames) {
  const fs::path dir = testing::source_dir() / "configs/placements";
  EXPECT_EQ(resolve_placement_config("balanced-2x80", dir).name, "balanced-2x80");
  EXPECT_EQ(resolve_placement_config((dir / "balanced-4x141.yaml").string(), dir).devices.size(),
            4u);
  const std::string msg = user_error([&] { resolve_placement_config("balanced-2x8", dir); });
  EXPECT_NE(msg.find("unknown placement 'balanced-2x8'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("balanced-2x80"), std::string::npos) << msg;
  const std::string missing = user_error([&] { resolve_placement_config("nope/x.yaml", dir); });
  EXPECT_NE(missing.find("nope/x.yaml does not exist"), std::string::npos) << missing;
}

}  // namespace
}  // namespace vlm
