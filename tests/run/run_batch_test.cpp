// `run --batch-size N` (issue 14): up to N items in flight, items joining and leaving one batched
// decode step as they start and finish, give every result file, every record (in any order) and
// every item error of a run that answers one item at a time.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
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
using testing::Result;
using testing::sh;

const char* const kResultFiles[] = {
    "InternVL2-Demo_RealWorldQA.xlsx", "InternVL2-Demo_RealWorldQA.tsv",
    "InternVL2-Demo_RealWorldQA_acc.csv", "InternVL2-Demo_RealWorldQA_exact_matching_result.xlsx"};

// The record file's lines without their "times_ms", sorted (records land as items finish).
std::vector<std::string> sorted_records(const fs::path& file) {
  std::vector<std::string> lines = testing::records_without_times(file);
  std::sort(lines.begin(), lines.end());
  return lines;
}

class RunBatch : public ::testing::Test {
 protected:
  // The demo model (it answers most of these questions with a letter and rambles on one, so the
  // answers end at different steps) on 12 demo items and three broken rows: an undecodable image
  // (fails on the pool), a missing question (fails building the prompt) and a question too long
  // for the KV cache (fails at its start on the model).
  static void SetUpTestSuite() {
    root_ = new fs::path(fs::temp_directory_path() / ("vlm_run_batch_" + std::to_string(getpid())));
    fs::remove_all(*root_);
    fs::create_directories(*root_ / "LMUData");
    const std::string py = testing::python() + " " + testing::source_dir().string() + "/scripts/";
    ASSERT_EQ(
        std::system((py + "fixtures/make_demo_data.py --out " + (*root_ / "LMUData").string() +
                     " --name RealWorldQA --n 12 --bad-rows --long-question 5000 >/dev/null")
                        .c_str()),
        0);
    ASSERT_EQ(std::system((py + "export_internvl2.py --checkpoint " +
                           (testing::source_dir() / "models" / "InternVL2-Demo").string() +
                           " --out " + (*root_ / "model").string() +
                           " --name InternVL2-Demo --dtype float32 >/dev/null 2>&1")
                              .c_str()),
              0);
  }
  static void TearDownTestSuite() {
    fs::remove_all(*root_);
    delete root_;
  }
  static Result run(const std::string& work, const std::string& args) {
    return sh("LMUData=" + (*root_ / "LMUData").string() + " " +
                  (testing::bin_dir() / "run").string() + " --model-dir " +
                  (*root_ / "model").string() + " --data RealWorldQA --max-new-tokens 24" +
                  " --work-dir " + (*root_ / work).string() + " " + args,
              *root_);
  }
  static fs::path folder(const std::string& work) {
    return testing::run_folder(*root_ / work, "InternVL2-Demo");
  }
  static fs::path records(const std::string& work) {
    return folder(work) / "InternVL2-Demo_RealWorldQA_records.jsonl";
  }
  static fs::path* root_;
};
fs::path* RunBatch::root_ = nullptr;

TEST_F(RunBatch, TheBatchSizeChangesNoResultFileNoRecordAndNoError) {
  Result one = run("n1", "--batch-size 1");
  ASSERT_EQ(one.rc, 0) << one.err;
  // The premise: the answers end at different steps.
  std::set<size_t> lengths;
  for (const std::string& line : sorted_records(records("n1"))) {
    const json r = json::parse(line);
    if (r["error"].is_null()) lengths.insert(r["output_ids"].size());
  }
  ASSERT_GE(lengths.size(), 2u) << "every answer has the same length: nothing is staggered";
  const json a = json::parse(read_file(folder("n1") / "run.json"));
  for (const char* n : {"3", "8"}) {
    const std::string work = std::string("n") + n;
    Result r = run(work, std::string("--batch-size ") + n);
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_NE(r.out.find("15 items (15 answered now, 0 resumed, 3 errors)"), std::string::npos)
        << r.out;
    for (const char* f : kResultFiles)
      EXPECT_TRUE(read_file(folder("n1") / f) == read_file(folder(work) / f))
          << f << " at batch " << n;
    EXPECT_EQ(sorted_records(records(work)), sorted_records(records("n1"))) << "batch " << n;
    const json b = json::parse(read_file(folder(work) / "run.json"));
    EXPECT_EQ(b["datasets"]["RealWorldQA"]["errors"], a["datasets"]["RealWorldQA"]["errors"]);
    EXPECT_EQ(b["datasets"]["RealWorldQA"]["scores"], a["datasets"]["RealWorldQA"]["scores"]);
    // The shared decode steps' wall time is in the shard's stage times.
    EXPECT_TRUE(b["datasets"]["RealWorldQA"]["shards"]["0of1"]["stage_ms"].contains("decode"))
        << b.dump();
  }
}

}  // namespace
}  // namespace vlm
