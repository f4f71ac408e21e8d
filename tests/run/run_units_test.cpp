// The pieces of `run` that need no model: shards, progress lines, --config files, placement groups.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <map>

#include "common/read_file.h"
#include "common/scratch_dir.h"
#include "common/test_paths.h"
#include "common/user_error.h"
#include "vlm/core/progress.h"
#include "vlm/model/manifest.h"
#include "vlm/run/batch_size.h"
#include "vlm/run/placement_setup.h"
#include "vlm/run/run_config_file.h"
#include "vlm/run/run_options.h"
#include "vlm/run/shard.h"

namespace vlm {
namespace {
namespace fs = std::filesystem;

std::function<std::optional<std::string>(const std::string&)> env_of(
    std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
}

TEST(Shard, TorchrunSlurmAndFlagInThatOrderOfPrecedence) {
  Shard single = resolve_shard("", env_of({}));
  EXPECT_EQ(single.rank, 0);
  EXPECT_EQ(single.world_size, 1);
  EXPECT_EQ(single.tag(), "0of1");

  Shard torch = resolve_shard("", env_of({{"RANK", "5"},
                                          {"WORLD_SIZE", "8"},
                                          {"LOCAL_RANK", "1"},
                                          {"SLURM_PROCID", "2"},
                                          {"SLURM_NTASKS", "4"}}));
  EXPECT_EQ(torch.rank, 5);
  EXPECT_EQ(torch.world_size, 8);
  EXPECT_EQ(torch.local_rank, 1);
  EXPECT_EQ(torch.tag(), "5of8");

  Shard slurm = resolve_shard(
      "", env_of({{"SLURM_PROCID", "2"}, {"SLURM_NTASKS", "4"}, {"SLURM_LOCALID", "0"}}));
  EXPECT_EQ(slurm.rank, 2);
  EXPECT_EQ(slurm.world_size, 4);
  EXPECT_EQ(slurm.local_rank, 0);

  Shard flag = resolve_shard("1/3", env_of({{"RANK", "5"}, {"WORLD_SIZE", "8"}}));
  EXPECT_EQ(flag.rank, 1);
  EXPECT_EQ(flag.world_size, 3);
}

TEST(Shard, MalformedValuesNameTheFlagOrVariable) {
  {
    const std::string m = testing::user_error([] { resolve_shard("3/3", env_of({})); });
    EXPECT_NE(m.find("--shard 3/3"), std::string::npos) << m;
  };
  {
    const std::string m = testing::user_error([] { resolve_shard("1", env_of({})); });
    EXPECT_NE(m.find("expected i/N"), std::string::npos) << m;
  };
  {
    const std::string m = testing::user_error([] {
      resolve_shard("", env_of({{"RANK", "x"}, {"WORLD_SIZE", "2"}}));
    });
    EXPECT_NE(m.find("RANK"), std::string::npos) << m;
  };
  {
    const std::string m = testing::user_error([] { resolve_shard("", env_of({{"RANK", "0"}})); });
    EXPECT_NE(m.find("WORLD_SIZE"), std::string::npos) << m;
  };
  {
    const std::string m = testing::user_error([] {
      resolve_shard("", env_of({{"RANK", "2"}, {"WORLD_SIZE", "2"}}));
    });
    EXPECT_NE(m.find("WORLD_SIZE=2"), std::string::npos) << m;
  };
}

TEST(Shard, RankRTakesPositionsRPlusMultiplesOfW) {
  // VLMEvalKit: sheet_indices = list(range(rank, len(dataset), world_size)).
  Shard s;
  s.rank = 1;
  s.world_size = 3;
  EXPECT_EQ(shard_positions(8, s), (std::vector<size_t>{1, 4, 7}));
  s.rank = 2;
  EXPECT_EQ(shard_positions(2, s), (std::vector<size_t>{}));
  s.rank = 0;
  s.world_size = 1;
  EXPECT_EQ(shard_positions(3, s), (std::vector<size_t>{0, 1, 2}));
}

TEST(Shard, ProcessesOfThisHostFromTheLauncher) {
  // torchrun: LOCAL_WORLD_SIZE; without it every process is taken to be on one host.
  Shard t = resolve_shard(
      "",
      env_of({{"RANK", "6"}, {"WORLD_SIZE", "8"}, {"LOCAL_RANK", "2"}, {"LOCAL_WORLD_SIZE", "4"}}));
  EXPECT_EQ(t.local_rank, 2);
  EXPECT_EQ(t.local_world_size, 4);
  EXPECT_EQ(resolve_shard("", env_of({{"RANK", "1"}, {"WORLD_SIZE", "3"}})).local_world_size, 3);
  EXPECT_EQ(resolve_shard("", env_of({})).local_world_size, 1);
  EXPECT_EQ(resolve_shard("1/3", env_of({})).local_world_size, 3);
  EXPECT_EQ(resolve_shard("1/3", env_of({{"LOCAL_RANK", "0"}, {"LOCAL_WORLD_SIZE", "1"}}))
                .local_world_size,
            1);
  // Slurm: SLURM_NTASKS_PER_NODE, else this node's entry of SLURM_TASKS_PER_NODE.
  const std::map<std::string, std::string> slurm = {
      {"SLURM_PROCID", "7"}, {"SLURM_NTASKS", "8"}, {"SLURM_LOCALID", "0"}};
  auto with = [&](std::map<std::string, std::string> more) {
    more.insert(slurm.begin(), slurm.end());
    return resolve_shard("", env_of(more));
  };
  EXPECT_EQ(with({{"SLURM_NTASKS_PER_NODE", "2"}}).local_world_size, 2);
  EXPECT_EQ(with({{"SLURM_TASKS_PER_NODE", "2(x3),1"}, {"SLURM_NODEID", "1"}}).local_world_size, 2);
  EXPECT_EQ(with({{"SLURM_TASKS_PER_NODE", "2(x3),1"}, {"SLURM_NODEID", "3"}}).local_world_size, 1);
  EXPECT_EQ(with({{"SLURM_TASKS_PER_NODE", "3,5"}, {"SLURM_NODEID", "1"}}).local_world_size, 5);
  EXPECT_EQ(with({}).local_world_size, 8);
  {
    const std::string m = testing::user_error([] {
      resolve_shard("", env_of({{"RANK", "3"},
                                {"WORLD_SIZE", "8"},
                                {"LOCAL_RANK", "3"},
                                {"LOCAL_WORLD_SIZE", "2"}}));
    });
    EXPECT_NE(m.find("LOCAL_RANK=3 must be < LOCAL_WORLD_SIZE=2"), std::string::npos) << m;
  };
  {
    const std::string m = testing::user_error([&] {
      with({{"SLURM_TASKS_PER_NODE", "4"}, {"SLURM_NODEID", "1"}});
    });
    EXPECT_NE(m.find("lists no node 1"), std::string::npos) << m;
  };
}

TEST(Progress, LinesCarryCountsRateEtaAndStage) {
  EXPECT_EQ(format_duration(0), "0:00");
  EXPECT_EQ(format_duration(61.4), "1:01");
  EXPECT_EQ(format_duration(3725), "1:02:05");
  EXPECT_EQ(format_duration(-1), "?");
  // 5 of 10 done at 2.5 items/s: 5 left take 2 s.
  EXPECT_EQ(format_progress("M/D", 5, 10, 2.5, "infer", 10),
            "M/D [#####.....] 5/10 items 2.50 it/s ETA 0:02 infer");
  EXPECT_EQ(format_progress("M/D", 0, 4, 0, "", 4), "M/D [....] 0/4 items -- it/s ETA ?");
  EXPECT_EQ(format_progress("M/D", 3, 3, 1, "merge", 0), "M/D 3/3 items 1.00 it/s ETA 0:00 merge");
}

class Scratch : public testing::ScratchDirTest {};

TEST_F(Scratch, ConfigFileMapsModelsAndDataInFileOrder) {
  RunOptions o;
  o.configs_dir = testing::source_dir() / "configs";
  const fs::path f = write("cfg.json", R"({
    "model": {"Zeta": {"class": "InternVLChat", "model_path": "OpenGVLab/InternVL2-8B",
                       "version": "V2.0", "max_new_tokens": 7},
              "Alpha": {}},
    "data": {"MyRWQ": {"class": "ImageMCQDataset", "dataset": "RealWorldQA"}, "RealWorldQA": {}}
  })");
  apply_run_config_file(f, o);
  EXPECT_EQ(o.models, (std::vector<std::string>{"Zeta", "Alpha"}));
  EXPECT_EQ(o.datasets, (std::vector<std::string>{"MyRWQ", "RealWorldQA"}));
  EXPECT_EQ(o.model_overrides.at("Zeta").base, "InternVL2-8B");
  EXPECT_EQ(o.model_overrides.at("Zeta").max_new_tokens, 7);
  EXPECT_EQ(o.dataset_for("MyRWQ"), "RealWorldQA");
  EXPECT_EQ(o.dataset_for("RealWorldQA"), "RealWorldQA");
}

TEST_F(Scratch, ConfigFileUnknownKeysAndBadValuesNameTheFileAndKeyPath) {
  RunOptions o;
  o.configs_dir = testing::source_dir() / "configs";
  const fs::path f = write(
      "bad.json",
      R"({"model": {"M": {"class": "InternVLChat", "max_new_token": 5}}, "data": {"D": {}}})");
  {
    const std::string m = testing::user_error([&] { apply_run_config_file(f, o); });
    EXPECT_NE(m.find(f.string() + ": model.M.max_new_token: unknown key"), std::string::npos) << m;
  };
  {
    const std::string m = testing::user_error([&] { apply_run_config_file(f, o); });
    EXPECT_NE(m.find("closest: max_new_tokens"), std::string::npos) << m;
  };
  const fs::path g = write("bad2.json", R"({"model": {"M": {}}, "data": {"D": {"datset": "X"}}})");
  {
    const std::string m = testing::user_error([&] { apply_run_config_file(g, o); });
    EXPECT_NE(m.find("data.D.datset: unknown key"), std::string::npos) << m;
  };
  const fs::path h =
      write("bad3.json", R"({"model": {"M": {"class": "Qwen2VL"}}, "data": {"D": {}}})");
  {
    const std::string m = testing::user_error([&] { apply_run_config_file(h, o); });
    EXPECT_NE(m.find("model.M.class"), std::string::npos) << m;
  };
  const fs::path i = write("bad4.json", R"({"models": {}, "data": {}})");
  {
    const std::string m = testing::user_error([&] { apply_run_config_file(i, o); });
    EXPECT_NE(m.find(i.string() + ": models: unknown key 'models'"), std::string::npos) << m;
    EXPECT_NE(m.find("closest: model;"), std::string::npos) << m;
  };
  // Types through the one config key table name the key path and the expected type.
  const fs::path j = write("bad5.json", R"({"model": {"M": {"max_new_tokens": "8"}}, "data": {}})");
  {
    const std::string m = testing::user_error([&] { apply_run_config_file(j, o); });
    EXPECT_NE(m.find(j.string() + ": model.M.max_new_tokens: expected an integer, got \"8\""),
              std::string::npos)
        << m;
  };
  const fs::path k = write("bad6.json", R"({"model": {"M": {"do_sample": 0}}, "data": {"D": []}})");
  {
    const std::string m = testing::user_error([&] { apply_run_config_file(k, o); });
    EXPECT_NE(m.find(k.string() + ": model.M.do_sample: expected true or false, got 0"),
              std::string::npos)
        << m;
  };
  const fs::path l = write("bad7.json", R"({"model": {"M": {}}, "data": {"D": ["RealWorldQA"]}})");
  {
    const std::string m = testing::user_error([&] { apply_run_config_file(l, o); });
    EXPECT_NE(m.find(l.string() + ": data.D: expected an object with keys class, dataset"),
              std::string::npos)
        << m;
  };
}

// --batch-size: auto or 1..32 (ModelForward::kDecodeRows); anything else names the option.
TEST(BatchSizeOption, AutoOrOneToThirtyTwoElseAnErrorNamingTheOption) {
  EXPECT_EQ(max_batch_size(), 32);
  EXPECT_EQ(parse_batch_size("1", "--batch-size").items, 1);
  EXPECT_EQ(parse_batch_size("32", "--batch-size").items, 32);
  EXPECT_FALSE(parse_batch_size("32", "--batch-size").automatic);
  EXPECT_TRUE(parse_batch_size("auto", "--batch-size").automatic);
  for (const std::string bad :
       {"0", "33", "-4", "+4", " 4", "4x", "", "Auto", "99999999999999999999"})
    EXPECT_EQ(testing::user_error([&] { parse_batch_size(bad, "--batch-size"); }),
              "--batch-size must be auto or an integer in 1..32, got '" + bad + "'");
  // RunOptions made in code are held to the same range.
  RunOptions o;
  o.models = {"M"};
  o.datasets = {"D"};
  EXPECT_NO_THROW(o.validate());
  for (int64_t n : {0, 33}) {
    o.batch_size = BatchSize{false, n};
    EXPECT_EQ(testing::user_error([&] { o.validate(); }),
              "--batch-size must be auto or an integer in 1..32, got " + std::to_string(n));
  }
  o.batch_size = BatchSize{true, 0};
  EXPECT_NO_THROW(o.validate());
}

TEST_F(Scratch, ConfigFileBatchSizeIsANumberOrAutoNamingTheKeyPathWhenBad) {
  RunOptions o;
  o.configs_dir = testing::source_dir() / "configs";
  const fs::path f = write("cfg.json", R"({
    "model": {"A": {"batch_size": 8}, "B": {"batch_size": "auto"}, "C": {"batch_size": "4"},
              "D": {}},
    "data": {"RealWorldQA": {}}})");
  apply_run_config_file(f, o);
  EXPECT_EQ(o.model_overrides.at("A").batch_size->items, 8);
  EXPECT_TRUE(o.model_overrides.at("B").batch_size->automatic);
  EXPECT_EQ(o.model_overrides.at("C").batch_size->items, 4);
  EXPECT_FALSE(o.model_overrides.at("D").batch_size);
  for (const std::string bad : {"0", "33", "2.5", "\"many\""}) {
    const fs::path g =
        write("bad.json", R"({"model": {"M": {"batch_size": )" + bad + R"(}}, "data": {"D": {}}})");
    const std::string m = testing::user_error([&] { apply_run_config_file(g, o); });
    EXPECT_NE(m.find(g.string() + ": model.M.batch_size must be auto or an integer in 1..32"),
              std::string::npos)
        << m;
  }
  const fs::path h = write("bad2.json", R"({"model": {"M": {"batch_size": true}}, "data": {}})");
  EXPECT_NE(testing::user_error([&] {
              apply_run_config_file(h, o);
            }).find(h.string() + ": model.M.batch_size: expected auto or an integer in 1..32"),
            std::string::npos);
}

TEST_F(Scratch, PlacementGroupsGiveEachLocalRankItsDevices) {
  const fs::path f = write("grouped.yaml",
                           "strategy: balanced\n"
                           "devices: [cuda:0, cuda:1]\n"
                           "groups: [[cuda:0, cuda:1], [cuda:2, cuda:3]]\n"
                           "max_memory: {cuda:0: 10GiB, cuda:1: 20GiB}\n"
                           "pin: {vision_model: cuda:1}\n");
  const PlacementConfig g0 = placement_for_rank(f.string(), dir_, 0);
  EXPECT_EQ(g0.devices, (std::vector<c10::Device>{c10::Device("cuda:0"), c10::Device("cuda:1")}));
  const PlacementConfig g1 = placement_for_rank(f.string(), dir_, 1);
  EXPECT_EQ(g1.devices, (std::vector<c10::Device>{c10::Device("cuda:2"), c10::Device("cuda:3")}));
  EXPECT_EQ(g1.max_memory.at("cuda:2"), int64_t{10} << 30);
  EXPECT_EQ(g1.max_memory.at("cuda:3"), int64_t{20} << 30);
  EXPECT_EQ(g1.max_memory.count("cuda:0"), 0u);
  EXPECT_EQ(g1.pin.at("vision_model"), c10::Device("cuda:3"));
  EXPECT_EQ(g1.name, "grouped");
  {
    const std::string m = testing::user_error([&] { placement_for_rank(f.string(), dir_, 2); });
    EXPECT_NE(m.find("lists 2 device group(s) but this is local rank 2"), std::string::npos) << m;
  };
  const fs::path bad =
      write("uneven.yaml", "devices: [cuda:0]\ngroups: [[cuda:0], [cuda:1, cuda:2]]\n");
  {
    const std::string m = testing::user_error([&] { placement_for_rank(bad.string(), dir_, 0); });
    EXPECT_NE(m.find("groups[1] has 2 device(s)"), std::string::npos) << m;
  };
  // Without groups every rank gets the config as written.
  const fs::path plain = write("plain.yaml", "devices: [cuda:1]\n");
  EXPECT_EQ(placement_for_rank(plain.string(), dir_, 3).devices,
            (std::vector<c10::Device>{c10::Device("cuda:1")}));
}

// ---- [auto] devices ---------------------------------------------------------------------------

PlacementConfig auto_config(PlacementStrategy strategy) {
  PlacementConfig c;
  c.name = "auto-test";
  c.strategy = strategy;
  c.auto_device = true;
  return c;
}

std::vector<c10::Device> devices_of(const std::vector<std::string>& names) {
  std::vector<c10::Device> out;
  for (const std::string& n : names) out.emplace_back(n);
  return out;
}

const DeviceInventory kNoCuda{false, 0};
DeviceInventory gpus(int n) {
  return DeviceInventory{true, n};
}

TEST(AutoDevices, SpreadingIsDecidedByTheStrategy) {
  const PlacementConfig single =
      resolve_placement_config("single", testing::source_dir() / "configs/placements");
  EXPECT_TRUE(single.auto_device);
  EXPECT_FALSE(auto_spreads(single));
  EXPECT_TRUE(auto_spreads(auto_config(PlacementStrategy::kBalanced)));
  EXPECT_TRUE(auto_spreads(auto_config(PlacementStrategy::kInternvlSplit)));
  EXPECT_FALSE(auto_spreads(auto_config(PlacementStrategy::kSequential)));
  EXPECT_FALSE(auto_spreads(auto_config(PlacementStrategy::kExplicit)));
}

TEST(AutoDevices, DeviceFlagWinsOverTheInventory) {
  const PlacementConfig one = auto_config(PlacementStrategy::kSequential);
  const PlacementConfig spread = auto_config(PlacementStrategy::kBalanced);
  const AutoDevices cpu = resolve_auto_devices(one, "cpu", 0, 1, gpus(8));
  EXPECT_EQ(cpu.devices, devices_of({"cpu"}));
  EXPECT_EQ(cpu.note, "devices [auto] resolved to cpu (--device cpu)");
  EXPECT_EQ(resolve_auto_devices(spread, "cpu", 2, 4, gpus(8)).devices, devices_of({"cpu"}));
  EXPECT_EQ(resolve_auto_devices(one, "cuda:3", 0, 4, gpus(8)).devices, devices_of({"cuda:3"}));
  EXPECT_EQ(resolve_auto_devices(one, "cuda", 1, 4, gpus(8)).devices, devices_of({"cuda:0"}));
  {
    const std::string m =
        testing::user_error([&] { resolve_auto_devices(one, "cuda:1", 0, 1, kNoCuda); });
    EXPECT_EQ(m, "--device cuda:1: this machine has no CUDA device");
  };
  {
    const std::string m =
        testing::user_error([&] { resolve_auto_devices(one, "cuda:8", 0, 1, gpus(8)); });
    EXPECT_EQ(m, "--device cuda:8: this machine has 8 CUDA device(s)");
  };
  EXPECT_NE(testing::user_error([&] { resolve_auto_devices(one, "gpu", 0, 1, gpus(8)); }), "");
}

TEST(AutoDevices, WithoutCudaEveryPlacementGetsTheCpu) {
  for (const PlacementConfig& c :
       {auto_config(PlacementStrategy::kSequential), auto_config(PlacementStrategy::kBalanced)}) {
    const AutoDevices r = resolve_auto_devices(c, "auto", 5, 8, kNoCuda);
    EXPECT_EQ(r.devices, devices_of({"cpu"}));
    EXPECT_EQ(r.note, "devices [auto] resolved to cpu (no CUDA device)");
  }
  // CUDA present but no device visible is the same.
  EXPECT_EQ(resolve_auto_devices(auto_config(PlacementStrategy::kSequential), "auto", 0, 1,
                                 DeviceInventory{true, 0})
                .devices,
            devices_of({"cpu"}));
}

TEST(AutoDevices, EachLocalRankTakesItsShareOfTheGpus) {
  const PlacementConfig one = auto_config(PlacementStrategy::kSequential);
  const PlacementConfig spread = auto_config(PlacementStrategy::kBalanced);
  // L = 4, G = 8: rank 2's share is cuda:4, cuda:5.
  const AutoDevices single = resolve_auto_devices(one, "auto", 2, 4, gpus(8));
  EXPECT_EQ(single.devices, devices_of({"cuda:4"}));
  EXPECT_EQ(single.note,
            "devices [auto] resolved to cuda:4 (local rank 2 of 4 process(es) on 8 GPU(s): its "
            "share is cuda:4, cuda:5)");
  EXPECT_EQ(resolve_auto_devices(spread, "auto", 2, 4, gpus(8)).devices,
            devices_of({"cuda:4", "cuda:5"}));
  EXPECT_EQ(
      resolve_auto_devices(auto_config(PlacementStrategy::kInternvlSplit), "auto", 3, 4, gpus(8))
          .devices,
      devices_of({"cuda:6", "cuda:7"}));
  // One process: the first GPU, or all of them.
  EXPECT_EQ(resolve_auto_devices(one, "auto", 0, 1, gpus(8)).devices, devices_of({"cuda:0"}));
  EXPECT_EQ(resolve_auto_devices(spread, "auto", 0, 1, gpus(3)).devices,
            devices_of({"cuda:0", "cuda:1", "cuda:2"}));
  // Uneven: L = 3, G = 8 gives shares of 2, 3 and 3 GPUs that cover each GPU once.
  std::vector<c10::Device> all;
  for (int r = 0; r < 3; ++r)
    for (const c10::Device& d : resolve_auto_devices(spread, "auto", r, 3, gpus(8)).devices)
      all.push_back(d);
  EXPECT_EQ(all, devices_of({"cuda:0", "cuda:1", "cuda:2", "cuda:3", "cuda:4", "cuda:5", "cuda:6",
                             "cuda:7"}));
  EXPECT_EQ(resolve_auto_devices(spread, "auto", 1, 3, gpus(8)).devices,
            devices_of({"cuda:2", "cuda:3", "cuda:4"}));
}

TEST(AutoDevices, MoreProcessesThanGpus) {
  // L = 8, G = 4: one device per rank, shared (r mod G); a spreading placement has no share.
  const AutoDevices single =
      resolve_auto_devices(auto_config(PlacementStrategy::kSequential), "auto", 5, 8, gpus(4));
  EXPECT_EQ(single.devices, devices_of({"cuda:1"}));
  EXPECT_NE(single.note.find("more processes than GPUs"), std::string::npos) << single.note;
  for (int r : {0, 1, 5}) {
    const std::string m = testing::user_error([&] {
      resolve_auto_devices(auto_config(PlacementStrategy::kBalanced), "auto", r, 8, gpus(4));
    });
    EXPECT_NE(m.find("placement auto-test: devices [auto] with a spreading strategy"),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("8 processes on this host share 4 GPU(s): a share of 0 GPUs"),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("at most 4 processes per host"), std::string::npos) << m;
  }
  // --device still applies.
  EXPECT_EQ(resolve_auto_devices(auto_config(PlacementStrategy::kBalanced), "cuda:2", 5, 8, gpus(4))
                .devices,
            devices_of({"cuda:2"}));
}

// A two-layer manifest with no KV cache, enough to plan.
Manifest two_layer_manifest() {
  Manifest m;
  m.name = "Two";
  m.family = "internlm2";
  m.dtype = c10::ScalarType::BFloat16;
  auto add = [&](std::string name, UnitKind kind, int l = -1) {
    UnitSpec u;
    u.name = std::move(name);
    u.kind = kind;
    u.param_bytes = int64_t{1} << 20;
    u.layer = l;
    m.units.push_back(u);
  };
  add("vision_model", UnitKind::kVision);
  add("mlp1", UnitKind::kProjector);
  add("language_model.model.tok_embeddings", UnitKind::kEmbedding);
  add("language_model.model.layers.0", UnitKind::kDecoderLayer, 0);
  add("language_model.model.layers.1", UnitKind::kDecoderLayer, 1);
  add("language_model.model.norm", UnitKind::kNorm);
  add("language_model.output", UnitKind::kHead);
  m.llm.hidden_size = 64;
  m.llm.num_layers = 2;
  m.llm.num_heads = 4;
  m.llm.num_kv_heads = 0;
  m.llm.head_dim = 16;
  m.llm.vocab_size = 1000;
  return m;
}

bool has_note(const PlacementPlan& p, const std::string& text) {
  for (const std::string& n : p.notes())
    if (n == text) return true;
  return false;
}

TEST_F(Scratch, PlanPlacementUsesTheResolvedDevicesOnce) {
  const Manifest m = two_layer_manifest();
  const fs::path placements = testing::source_dir() / "configs/placements";
  Shard s;
  // --device cpu on a CUDA host: the plan, its note and its JSON say cpu.
  const PlacementPlan cpu = plan_placement(m, "single", "cpu", {}, placements, s, gpus(8));
  EXPECT_EQ(cpu.devices(), devices_of({"cpu"}));
  EXPECT_TRUE(has_note(cpu, "devices [auto] resolved to cpu (--device cpu)"));
  EXPECT_EQ(cpu.to_json()["devices"][0]["device"], "cpu");
  for (const std::string& n : cpu.notes()) EXPECT_EQ(n.find("cuda"), std::string::npos) << n;
  // Local rank 2 of 4 on 8 GPUs.
  s.local_rank = 2;
  s.local_world_size = 4;
  EXPECT_EQ(plan_placement(m, "single", "auto", {}, placements, s, gpus(8)).devices(),
            devices_of({"cuda:4"}));
  const fs::path spread = write("spread.yaml", "strategy: balanced\ndevices: [auto]\n");
  const PlacementPlan both = plan_placement(m, spread.string(), "auto", {}, placements, s, gpus(8));
  EXPECT_EQ(both.devices(), devices_of({"cuda:4", "cuda:5"}));
  // A config that names its devices keeps them; --device is noted as not applying.
  const fs::path named = write("named.yaml", "devices: [cuda:1]\n");
  const PlacementPlan kept = plan_placement(m, named.string(), "cpu", {}, placements, s, gpus(8));
  EXPECT_EQ(kept.devices(), devices_of({"cuda:1"}));
  EXPECT_TRUE(has_note(kept, "--device cpu does not apply: placement named names its devices"));
  // The planner itself never resolves [auto].
  PlacementConfig unresolved = auto_config(PlacementStrategy::kSequential);
  EXPECT_THROW(PlacementPlan::make(m, unresolved, {}), InternalError);
}

// The run's plan is for the batch it asks for, or with largest_batch (--batch-size auto) for the
// largest that fits; a plan that does not fit says at which batch size, and how to need less.
TEST_F(Scratch, PlanPlacementForTheBatchOrTheLargestThatFits) {
  const Manifest m = load_manifest(testing::size_manifests_dir() / "InternVL2-Llama3-76B");
  const fs::path placements = testing::source_dir() / "configs/placements";
  const Shard s;
  PlanCapacity cap;
  cap.max_sequence = 7936;
  cap.batch = 32;
  const PlacementPlan big = plan_placement(m, "balanced-2x80", "auto", cap, placements, s, gpus(8));
  EXPECT_EQ(big.capacity().batch, 32);
  EXPECT_FALSE(big.fits());
  EXPECT_EQ(batch_size_advice(big),
            " at batch size 32 (the KV cache of 32 items): pass a smaller --batch-size, or "
            "--batch-size auto for the largest that fits");
  const PlacementPlan fit =
      plan_placement(m, "balanced-2x80", "auto", cap, placements, s, gpus(8), true);
  EXPECT_TRUE(fit.fits()) << fit.table();
  EXPECT_GE(fit.capacity().batch, 1);
  EXPECT_LT(fit.capacity().batch, 32);
  EXPECT_EQ(batch_size_advice(fit), "");
  cap.batch = 1;
  const PlacementPlan one = plan_placement(m, "balanced-1x80", "auto", cap, placements, s, gpus(8));
  EXPECT_FALSE(one.fits());
  EXPECT_EQ(batch_size_advice(one), " at batch size 1");
}

TEST_F(Scratch, PlacementGroupsAreReadInMemory) {
  // The config minus `groups` is loaded from its YAML node: no file under the temp directory, and
  // a link where the old temporary copy went is neither written through nor removed.
  const fs::path f = write("linked.yaml",
                           "strategy: balanced\n"
                           "devices: [cuda:0]\n"
                           "groups: [[cuda:0], [cuda:1]]\n");
  const fs::path target = write("target.txt", "keep me\n");
  const fs::path link =
      fs::temp_directory_path() / ("vlm_placement_" + std::to_string(getpid()) + "_linked.yaml");
  fs::remove(link);
  fs::create_symlink(target, link);
  auto ours = [] {
    std::vector<std::string> names;
    const std::string prefix = "vlm_placement_" + std::to_string(getpid()) + "_";
    for (const auto& e : fs::directory_iterator(fs::temp_directory_path()))
      if (e.path().filename().string().rfind(prefix, 0) == 0)
        names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  };
  const std::vector<std::string> before = ours();
  const PlacementConfig g1 = placement_for_rank(f.string(), dir_, 1);
  EXPECT_EQ(g1.devices, devices_of({"cuda:1"}));
  EXPECT_EQ(g1.file, f);
  EXPECT_EQ(ours(), before);
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(testing::read_file(target), "keep me\n");
  fs::remove(link);
  // An error inside the grouped config names the real file.
  const fs::path bad = write("bad-groups.yaml",
                             "strategy: balancd\n"
                             "devices: [cuda:0]\n"
                             "groups: [[cuda:0], [cuda:1]]\n");
  const std::string m = testing::user_error([&] { placement_for_rank(bad.string(), dir_, 0); });
  EXPECT_EQ(m.rfind(bad.string() + ": strategy: unknown strategy 'balancd'", 0), 0u) << m;
  EXPECT_EQ(m.find("vlm_placement_"), std::string::npos) << m;
}

}  // namespace
}  // namespace vlm
