// The pieces of `run` that need no model: shards, progress lines, --config files, placement groups.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <map>

#include "common/test_paths.h"
#include "common/user_error.h"
#include "vlm/core/progress.h"
#include "vlm/run/placement_setup.h"
#include "vlm/run/run_config_file.h"
#include "vlm/run/run_journal.h"
#include "vlm/run/shard.h"
#include "vlm/run/work_dir.h"

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

class Scratch : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("vlm_run_units_" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return dir_ / name;
  }
  fs::path dir_;
};

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

// A run.json that a resumed run cannot parse is started again from an empty object, with a
// warning naming the file and the parse error (it used to be replaced silently).
TEST_F(Scratch, ACorruptRunJsonIsRebuiltWithAWarningNamingTheFileAndTheError) {
  write("run.json", R"({"commit": "abc", "datasets": {"D": {"items": 3}}})");
  ::testing::internal::CaptureStderr();
  const nlohmann::json good = read_run_json(dir_);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  EXPECT_EQ(good["datasets"]["D"]["items"], 3);

  write("run.json", R"({"commit": "abc", "datasets": {"D": {"items": 3)");
  ::testing::internal::CaptureStderr();
  const nlohmann::json cut = read_run_json(dir_);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(cut, nlohmann::json::object());
  EXPECT_NE(err.find("warning: " + (dir_ / "run.json").string() + ": not valid JSON ("),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("parse error"), std::string::npos) << err;

  write("run.json", "[1, 2]");
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(read_run_json(dir_), nlohmann::json::object());
  const std::string array = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(array.find((dir_ / "run.json").string() + ": is a JSON array, not an object"),
            std::string::npos)
      << array;

  // The next update writes a whole new file over it.
  write("run.json", "{not json");
  ::testing::internal::CaptureStderr();
  update_run_json(dir_, [](nlohmann::json& j) { j["commit"] = "def"; });
  ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(read_run_json(dir_), nlohmann::json({{"commit", "def"}}));
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

TEST_F(Scratch, RecordFilesOfEveryShardAndReuseFolders) {
  const fs::path model = dir_ / "M";
  const fs::path cur = model / "T20260102_Gabcdef12", old = model / "T20260101_Gabcdef12",
                 other = model / "T20251231_G99999999";
  for (const fs::path& p : {cur, old, other}) fs::create_directories(p);
  std::ofstream(old / "M_D_records.shard0of2.jsonl") << "";
  std::ofstream(old / "M_D_records.shard1of2.jsonl") << "";
  std::ofstream(old / "M_DX_records.jsonl") << "";
  std::ofstream(other / "M_D_records.jsonl") << "";
  EXPECT_EQ(pair_record_files(old, "M_D"),
            (std::vector<fs::path>{old / "M_D_records.shard0of2.jsonl",
                                   old / "M_D_records.shard1of2.jsonl"}));
  EXPECT_EQ(find_reuse_folder(model, cur, "abcdef1234567890", "M_D"), old);
  EXPECT_EQ(find_reuse_folder(model, cur, "abcdef1234567890", "M_E"), fs::path());
  const PairFiles files = pair_files(cur, "M", "D");
  Shard s;
  EXPECT_EQ(shard_record_path(files, s), cur / "M_D_records.jsonl");
  s.rank = 2;
  s.world_size = 3;
  EXPECT_EQ(shard_record_path(files, s), cur / "M_D_records.shard2of3.jsonl");
}

}  // namespace
}  // namespace vlm
