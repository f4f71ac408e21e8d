// run.json as a RunReport: what `run` writes reads back into the typed fields and is written again
// byte for byte; older shapes and unknown keys are read; a key of the wrong type is named.
#include "vlm/results/run_report.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "common/user_error.h"

namespace vlm {
namespace {
using nlohmann::json;

// A run.json as `run` writes it (two shards, one of them merged and scored; a dataset scored by
// `run --predictions`; a dataset that failed), with one key this version does not know.
json sample_run_json() {
  return json::parse(R"({
  "commit": "0123456789abcdef0123456789abcdef01234567",
  "config": {"config_file": "", "configs_dir": "/c", "data_root": "/d", "dataset_of": {},
             "datasets": ["RealWorldQA", "TextVQA_VAL"], "device": "auto",
             "judge": "exact_matching", "limit": null, "max_new_tokens": 4, "mode": "all",
             "model_dir": "/m", "model_root": "", "models": [], "placement": "", "reuse": false,
             "shard": {"local_rank": 0, "rank": 0, "source": "--shard", "world_size": 2},
             "work_dir": "/w"},
  "datasets": {
    "RealWorldQA": {
      "acc_table": {"columns": ["split", "Overall", "colour"], "splits": ["none"],
                    "values": [[0.5, null]]},
      "dataset": "RealWorldQA", "errors": [{"error": "bad image", "index": "5"}],
      "file": "/d/RealWorldQA.tsv", "items": 7, "kind": "MCQ", "limit": null, "md5": "abc",
      "merged": {"by_shard": "1of2", "scored": true,
                 "signature": {"items": 7, "records": {"M_RealWorldQA_records.shard0of2.jsonl": 2250,
                                                       "M_RealWorldQA_records.shard1of2.jsonl": 2278}}},
      "scores": [{"Overall": 0.5, "colour": null, "split": "none"}],
      "shards": {"0of2": {"answered": 4, "errors_now": 1, "item_stage_ms": {"total": 12.5},
                          "items": 4, "items_per_s": 0.75, "resumed": 0,
                          "stage_ms": {"decode": 1.5, "infer": 8.25, "load": 100.0},
                          "status": "done"}},
      "stage_ms": {"evaluate": 12.4, "merge": 11.3}
    },
    "TextVQA_VAL": {"dataset": "TextVQA_VAL", "items": 3, "kind": "VQA",
                    "predictions_file": "/p/M_TextVQA_VAL.xlsx", "scorer": "vqa_textvqa",
                    "scores": {"Overall": 100.0, "scorer": "vqa_textvqa"}}
  },
  "errors": [{"dataset": "POPE", "error": "POPE.tsv not found", "shard": "0of2"}],
  "eval_id": "T20260101_G01234567",
  "future_key": {"kept": [1, 2]},
  "model": {"batch_size": {"requested": "auto", "resolved": 4}, "config": "", "cuda_graphs": true,
            "dir": "/m", "dtype": "Float", "exported_with_torch": "1.13.0", "family": "internlm2",
            "jit_optimize": false, "cudnn_attention": false, "manifest_name": "M",
            "max_new_tokens": 4, "name": "M", "prefill_bucket": 0},
  "placement": {"config": "single", "devices": [{"device": "cpu", "total_bytes": 140717680}],
                "fits": true, "strategy": "sequential"},
  "ranks": {"0of2": {"argv": ["run", "--shard", "0/2"], "host": {"cpu": "AMD EPYC", "cpu_cores": 2, "cuda_available": false, "cuda_devices": 0, "hostname": "vm"},
                     "kv_cache_allocated_bytes": {"cpu": 2952192}, "load_ms": 168.5,
                     "model_files": {"hashed_bytes": 0, "hashed_files": 0, "stamped_files": 12, "unrecorded_files": 0, "verified": true, "verify_s": 0.0}, "peak_memory_bytes": {"cpu": 633450496},
                     "placement": {"config": "single", "strategy": "sequential"},
                     "status": "failed", "message": "POPE.tsv not found"}},
  "versions": {"compiler": "12.2.0", "cxx": 201703, "harness_commit": "0123", "nlohmann_json": "3.11.2", "opencv": "4.6.0", "pcre2": "10.42", "torch": "1.13.0"},
  "world_size": 2
})");
}

TEST(RunReport, WhatRunWritesReadsIntoTheTypedFieldsAndWritesBackTheSameBytes) {
  const json j = sample_run_json();
  const RunReport r = run_report_from_json(j, "run.json");
  EXPECT_EQ(to_json(r).dump(2), j.dump(2));

  EXPECT_EQ(r.world_size, 2);
  ASSERT_TRUE(r.config && r.config->limit && r.config->max_new_tokens && r.config->shard);
  EXPECT_FALSE(r.config->limit->has_value());  // null: no --limit
  EXPECT_EQ(**r.config->max_new_tokens, 4);
  EXPECT_EQ(r.config->shard->source, "--shard");
  ASSERT_TRUE(r.model);
  EXPECT_EQ(r.model->batch_size_requested, "auto");
  EXPECT_EQ(r.model->batch_size_resolved, 4);
  ASSERT_TRUE(r.placement);
  EXPECT_EQ(r.placement->config, "single");
  EXPECT_EQ(placement_strategy(*r.placement), "sequential");
  const auto devices = placement_devices(*r.placement);
  ASSERT_EQ(devices.size(), 1u);
  EXPECT_EQ(devices[0].total_bytes, 140717680);
  const RankReport& rank = r.ranks.at("0of2");
  EXPECT_EQ(rank.status, "failed");
  EXPECT_EQ(rank.peak_memory_bytes->at("cpu"), 633450496);
  const DatasetReport& d = r.datasets.at("RealWorldQA");
  EXPECT_EQ(d.shards.at("0of2").items_per_s, 0.75);
  EXPECT_EQ(d.shards.at("0of2").stage_ms.at(run_stage::kLoad), 100.0);
  EXPECT_EQ(d.merged->signature.records.size(), 2u);
  EXPECT_EQ(d.merged->by_shard, "1of2");
  ASSERT_TRUE(d.acc_table);
  EXPECT_EQ(d.acc_table->number(0, 1), 0.5);
  EXPECT_TRUE(std::isnan(d.acc_table->number(0, 2)));
  EXPECT_EQ(d.errors->at(0).index, "5");
  const DatasetReport& v = r.datasets.at("TextVQA_VAL");
  EXPECT_EQ(v.predictions_file, "/p/M_TextVQA_VAL.xlsx");
  EXPECT_FALSE(v.md5.has_value());
  EXPECT_FALSE(v.limit.has_value());  // absent, not null
  EXPECT_EQ(r.errors.at(0).dataset, "POPE");
  EXPECT_EQ(r.versions->harness_commit, "0123");
  EXPECT_EQ(r.versions->cxx, 201703);
  EXPECT_EQ(rank.host->hostname, "vm");
  EXPECT_EQ(rank.model_files->stamped_files, 12);
  EXPECT_EQ(r.other.at("future_key"), json::parse(R"({"kept": [1, 2]})"));
}

TEST(RunReport, AChangedFieldChangesTheWrittenKeyAndNothingElse) {
  const json j = sample_run_json();
  RunReport r = run_report_from_json(j, "run.json");
  r.datasets.at("RealWorldQA").limit.emplace(3);
  r.ranks.at("0of2").message.reset();
  r.datasets.at("RealWorldQA").merged->signature.items = 8;
  json want = j;
  want["datasets"]["RealWorldQA"]["limit"] = 3;
  want["ranks"]["0of2"].erase("message");
  want["datasets"]["RealWorldQA"]["merged"]["signature"]["items"] = 8;
  EXPECT_EQ(to_json(r), want);
  EXPECT_FALSE(run_report_from_json(j, "run.json").datasets.at("RealWorldQA").merged->signature ==
               r.datasets.at("RealWorldQA").merged->signature);
}

TEST(RunReport, OlderShapesOfPeakMemoryAndDatasetSpeedAreRead) {
  const json j = json::parse(R"({
    "peak_memory_bytes": [{"device": "cuda:0", "bytes": 100}, {"device": "cuda:1", "peak_bytes": 7}],
    "datasets": {"D": {"items_per_s": 2.5, "peak_memory_bytes": {"cuda:0": 200}}}
  })");
  const RunReport r = run_report_from_json(j, "run.json");
  EXPECT_EQ(*r.peak_memory_bytes, (DeviceBytes{{"cuda:0", 100}, {"cuda:1", 7}}));
  EXPECT_EQ(r.datasets.at("D").items_per_s, 2.5);
  EXPECT_EQ(r.datasets.at("D").peak_memory_bytes->at("cuda:0"), 200);
  EXPECT_FALSE(r.model.has_value());
}

TEST(RunReport, AKeyOfTheWrongTypeIsAUserErrorNamingItsPath) {
  json j = sample_run_json();
  j["datasets"]["RealWorldQA"]["shards"]["0of2"]["items"] = "four";
  const std::string msg = testing::user_error([&] { run_report_from_json(j, "/w/M/T/run.json"); });
  EXPECT_NE(msg.find("/w/M/T/run.json: datasets.RealWorldQA.shards.0of2.items"), std::string::npos)
      << msg;
  j = sample_run_json();
  j["model"] = "M";
  EXPECT_NE(
      testing::user_error([&] { run_report_from_json(j, "run.json"); }).find("run.json: model"),
      std::string::npos);
}

}  // namespace
}  // namespace vlm
