// `run --prepare-threads N` (issue 13): the items' CPU stages run ahead of the device on a pool,
// and every result file, the records and their order are the same as with the pool off (0); and
// so they are with `--overlap` (the next item's device work queued ahead; nothing on the CPU).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "common/run_files.h"
#include "common/shell.h"
#include "common/test_paths.h"

namespace vlm {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using testing::read_file;
using testing::records_without_times;
using testing::Result;
using testing::sh;

const char* const kResultFiles[] = {
    "InternVL2-tiny_RealWorldQA.xlsx", "InternVL2-tiny_RealWorldQA.tsv",
    "InternVL2-tiny_RealWorldQA_acc.csv", "InternVL2-tiny_RealWorldQA_exact_matching_result.xlsx"};

// The stages each record timed, in file order.
std::vector<std::vector<std::string>> timed_stages(const fs::path& file) {
  std::vector<std::vector<std::string>> out;
  std::istringstream in(read_file(file));
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> stages;
    for (const auto& [stage, ms] : json::parse(line)["times_ms"].items()) stages.push_back(stage);
    out.push_back(stages);
  }
  return out;
}

class RunPrepareAhead : public ::testing::Test {
 protected:
  // 5 demo items, then an undecodable image, a missing question and a question too long for the
  // KV cache: errors of the image decode (on the pool), of the prompt and of the device side.
  static void SetUpTestSuite() {
    root_ = new fs::path(testing::make_bad_rows_data_root("vlm_run_prepare_ahead_"));
    ASSERT_FALSE(root_->empty()) << "scripts/fixtures/make_demo_data.py failed";
  }
  static void TearDownTestSuite() {
    fs::remove_all(*root_);
    delete root_;
  }

  static Result run(const std::string& work, const std::string& args) {
    return sh("LMUData=" + (*root_ / "LMUData").string() + " " +
                  (testing::bin_dir() / "run").string() + " --model-dir " +
                  testing::tiny_model_dir().string() + " --data RealWorldQA --max-new-tokens 4" +
                  " --work-dir " + (*root_ / work).string() + " " + args,
              *root_);
  }
  static fs::path folder(const std::string& work) {
    return testing::run_folder(*root_ / work, "InternVL2-tiny");
  }
  static fs::path records(const std::string& work) {
    return folder(work) / "InternVL2-tiny_RealWorldQA_records.jsonl";
  }

  // The files of `work` are those of `want`: result files byte for byte, records but for times.
  static void expect_same_files(const std::string& want, const std::string& work) {
    for (const char* f : kResultFiles) {
      ASSERT_TRUE(fs::exists(folder(want) / f)) << f;
      EXPECT_TRUE(read_file(folder(want) / f) == read_file(folder(work) / f))
          << f << " of " << work << " differs from " << want << "'s";
    }
    EXPECT_EQ(records_without_times(records(work)), records_without_times(records(want)));
    EXPECT_EQ(timed_stages(records(work)), timed_stages(records(want)));
    const json a = json::parse(read_file(folder(want) / "run.json"))["datasets"]["RealWorldQA"];
    const json b = json::parse(read_file(folder(work) / "run.json"))["datasets"]["RealWorldQA"];
    EXPECT_EQ(b["errors"], a["errors"]);
    EXPECT_EQ(b["scores"], a["scores"]);
  }

  static fs::path* root_;
};
fs::path* RunPrepareAhead::root_ = nullptr;

TEST_F(RunPrepareAhead, ThePoolChangesNoResultFileNoRecordAndNoItemError) {
  Result off = run("off", "--prepare-threads 0");
  ASSERT_EQ(off.rc, 0) << off.err;
  Result on = run("on", "--prepare-threads 3");
  ASSERT_EQ(on.rc, 0) << on.err;
  EXPECT_NE(on.out.find("8 items (8 answered now, 0 resumed, 3 errors)"), std::string::npos)
      << on.out;
  expect_same_files("off", "on");

  // The broken image is its own item's error, with the message and record a run without the pool
  // gives (no tiles, no tokens, the prompt kept); the items around it are answered.
  const std::vector<std::string> lines = records_without_times(records("on"));
  ASSERT_EQ(lines.size(), 8u);
  const json bad = json::parse(lines[5]);
  EXPECT_EQ(bad["index"], "5");
  ASSERT_TRUE(bad["error"].is_string()) << lines[5];
  EXPECT_EQ(bad["error"].get<std::string>().rfind(
                "RealWorldQA item 5 (row 6): image is not a decodable JPEG/PNG", 0),
            0u)
      << lines[5];
  EXPECT_EQ(bad["tiles_per_image"], json::array());
  EXPECT_EQ(bad["input_tokens"], 0);
  EXPECT_NE(bad["prompt"].get<std::string>().find("<image>"), std::string::npos) << lines[5];
  EXPECT_TRUE(json::parse(lines[4])["error"].is_null()) << lines[4];
  // Each answered item still times its CPU stages, wherever they ran.
  for (const auto& stages : timed_stages(records("on"))) {
    if (stages.size() < 4) continue;  // an item that failed before them
    for (const char* s : {"image_decode", "preprocess", "tokenize", "total"})
      EXPECT_NE(std::find(stages.begin(), stages.end(), s), stages.end()) << s;
  }
}

// A run that resumes (the first 3 items recorded by a --limit run) prepares and answers only the
// rest, and ends with the files of a run that answered everything without the pool.
TEST_F(RunPrepareAhead, AResumedRunWithThePoolGivesTheFilesOfAFullRunWithout) {
  Result off = run("full_off", "--prepare-threads 0");
  ASSERT_EQ(off.rc, 0) << off.err;
  Result first = run("resumed", "--prepare-threads 2 --limit 3");
  ASSERT_EQ(first.rc, 0) << first.err;
  Result rest = run("resumed", "--prepare-threads 1");
  ASSERT_EQ(rest.rc, 0) << rest.err;
  EXPECT_NE(rest.out.find("(5 answered now, 3 resumed"), std::string::npos) << rest.out;
  expect_same_files("full_off", "resumed");
}

// `run --overlap` on the CPU: prepare_ahead has nothing to queue there (the vision side is not on
// CUDA), and nothing changes but run.json's config.
TEST_F(RunPrepareAhead, OverlapOnTheCpuChangesNoResultFile) {
  Result off = run("overlap_off", "");
  ASSERT_EQ(off.rc, 0) << off.err;
  Result on = run("overlap_on", "--overlap");
  ASSERT_EQ(on.rc, 0) << on.err;
  expect_same_files("overlap_off", "overlap_on");
  EXPECT_TRUE(
      json::parse(read_file(folder("overlap_on") / "run.json"))["config"]["overlap"].get<bool>());
  EXPECT_FALSE(
      json::parse(read_file(folder("overlap_off") / "run.json"))["config"]["overlap"].get<bool>());
}

TEST_F(RunPrepareAhead, ANegativeThreadCountIsRefused) {
  Result r = run("bad", "--prepare-threads -1");
  EXPECT_EQ(r.rc, 2) << r.err;
  EXPECT_NE(r.err.find("--prepare-threads must be in 0..64, got -1"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace vlm
