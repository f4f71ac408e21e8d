// The evaluation loop in process, without a model: run_evaluation with a FakeAnswerer
// (fake_answerer.h) on a 12-item MCQ set written by the test. Resume, --limit, shards, item
// errors, interrupts, --mode eval and batch sizes, each compared with the files of a plain run.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/read_file.h"
#include "common/run_files.h"
#include "run/loop/fake_answerer.h"
#include "vlm/results/run_journal.h"
#include "vlm/run/evaluation.h"

namespace vlm {
namespace {

namespace fs = std::filesystem;
using testing::FakeCall;
using testing::FakeLog;
using testing::FakeProvider;
using testing::read_file;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Item i's question: it says the right letter except for every fifth item, and `extra` (e.g.
// "fail:start") for the items named in `extras`.
std::vector<std::string> questions(size_t n, const std::map<size_t, std::string>& extras = {}) {
  std::vector<std::string> q;
  for (size_t i = 0; i < n; ++i) {
    const char right = "ABCD"[i % 4];
    const char said = i % 5 == 0 ? "ABCD"[(i + 1) % 4] : right;
    std::string text = "Question " + std::to_string(i) + " say:" + std::string(1, said);
    auto it = extras.find(i);
    if (it != extras.end()) text += " " + it->second;
    q.push_back(text);
  }
  return q;
}

class RunLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    root_ = fs::temp_directory_path() / ("vlm_run_loop_" + std::to_string(getpid()) + "_" + name);
    fs::remove_all(root_);
    fs::create_directories(root_ / "configs" / "datasets");
    fs::create_directories(root_ / "LMUData");
    std::ofstream(root_ / "configs" / "datasets" / "Fake.yaml")
        << "name: Fake\nfile: Fake.tsv\nkind: MCQ\nscorer: mcq_exact\n";
    write_dataset(questions(12));
  }
  void TearDown() override { fs::remove_all(root_); }

  // Fake.tsv with one item per question: options A..D, the answer, an image the fake never
  // decodes and a category of two.
  void write_dataset(const std::vector<std::string>& qs) {
    std::ofstream tsv(root_ / "LMUData" / "Fake.tsv");
    tsv << "index\tquestion\tA\tB\tC\tD\tanswer\timage\tcategory\n";
    for (size_t i = 0; i < qs.size(); ++i)
      tsv << i << "\t" << qs[i] << "\tred\tgreen\tblue\tgrey\t"
          << "ABCD"[i % 4] << "\t" << std::string(96, 'A') << "\t" << (i % 2 ? "odd" : "even")
          << "\n";
  }

  RunOptions options(const std::string& work) const {
    RunOptions o;
    o.models = {"Fake"};
    o.datasets = {"Fake"};
    o.work_dir = root_ / work;
    o.data_root = root_ / "LMUData";
    o.configs_dir = root_ / "configs";
    o.commit = "0123456789abcdef";
    o.quiet = true;
    return o;
  }

  // run_evaluation with fake answerers of `batch`; log_ says what they saw.
  EvaluationSummary run(const RunOptions& o, int64_t batch = 1) {
    log_ = std::make_shared<FakeLog>();
    return run_evaluation(o, {}, [this, batch](const std::string& model) {
      ModelConfig c;
      c.name = model;
      c.max_new_tokens = 16;
      return std::make_unique<FakeProvider>(c, batch, log_);
    });
  }

  // The run folder of work dir `work` (one per day and commit).
  fs::path folder(const std::string& work) const {
    for (const auto& e : fs::directory_iterator(root_ / work / "Fake"))
      if (e.is_directory() && !e.is_symlink()) return e.path();
    return {};
  }

  // The result files of a run folder by name: everything but the records, run.json and locks.
  static std::map<std::string, std::string> result_files(const fs::path& dir) {
    std::map<std::string, std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string name = e.path().filename().string();
      if (!e.is_regular_file() || name.find("_records") != std::string::npos ||
          name.rfind("run.json", 0) == 0 || name.find(".lock") != std::string::npos)
        continue;
      out[name] = read_file(e.path());
    }
    return out;
  }

  std::vector<std::string> file_names(const std::map<std::string, std::string>& files) const {
    std::vector<std::string> names;
    for (const auto& [name, bytes] : files) names.push_back(name);
    return names;
  }

  // The run all other tests are compared with: every item at batch 1, scored.
  std::map<std::string, std::string> plain_run_files() {
    const EvaluationSummary s = run(options("plain"));
    EXPECT_TRUE(s.failures.empty());
    return result_files(folder("plain"));
  }

  fs::path root_;
  std::shared_ptr<FakeLog> log_;
};

const std::vector<std::string> kResultFiles = {
    "Fake_Fake.tsv", "Fake_Fake.xlsx", "Fake_Fake_acc.csv", "Fake_Fake_exact_matching_result.xlsx"};

TEST_F(RunLoopTest, BatchSizesOneAndFourGiveIdenticalFiles) {
  const auto one = plain_run_files();
  EXPECT_EQ(log_->max_in_flight, 1);
  EXPECT_EQ(log_->loads, 1);
  EXPECT_EQ(file_names(one), kResultFiles);
  // The fake's answers are what the predictions say: item 0 said B (its answer is A).
  const std::vector<std::string> tsv = lines_of(one.at("Fake_Fake.tsv"));
  ASSERT_EQ(tsv.size(), 13u);
  EXPECT_EQ(tsv[1].substr(tsv[1].rfind('\t') + 1), "\"B\"") << tsv[1];

  const EvaluationSummary four = run(options("four"), 4);
  ASSERT_EQ(four.pairs.size(), 1u);
  EXPECT_EQ(four.pairs[0].answered, 12u);
  EXPECT_EQ(log_->max_in_flight, 4);
  EXPECT_GT(log_->steps, 0);
  EXPECT_EQ(result_files(folder("four")), one);
}

TEST_F(RunLoopTest, ResumesAfterAPartialRecordFile) {
  const auto plain = plain_run_files();
  const std::vector<std::string> records =
      lines_of(read_file(folder("plain") / "Fake_Fake_records.jsonl"));
  ASSERT_EQ(records.size(), 12u);
  // Five whole records and half of the sixth, in a folder of the same day and commit.
  const fs::path part = root_ / "part" / "Fake" / folder("plain").filename();
  fs::create_directories(part);
  {
    std::ofstream f(part / "Fake_Fake_records.jsonl", std::ios::binary);
    for (size_t i = 0; i < 5; ++i) f << records[i] << "\n";
    f << records[5].substr(0, records[5].size() / 2);
  }
  const EvaluationSummary s = run(options("part"));
  ASSERT_EQ(s.pairs.size(), 1u);
  EXPECT_EQ(s.pairs[0].resumed, 5u);
  EXPECT_EQ(s.pairs[0].answered, 7u);
  ASSERT_EQ(log_->started.size(), 7u);
  for (const std::string& prompt : log_->started)
    for (int i = 0; i < 5; ++i)
      EXPECT_EQ(prompt.find("Question " + std::to_string(i) + " "), std::string::npos) << prompt;
  EXPECT_EQ(result_files(part), plain);
}

TEST_F(RunLoopTest, LimitAnswersTheFirstItemsOnly) {
  const auto plain = plain_run_files();
  RunOptions o = options("limited");
  o.limit = 5;
  const EvaluationSummary s = run(o, 2);
  ASSERT_EQ(s.pairs.size(), 1u);
  EXPECT_EQ(s.pairs[0].items, 5u);
  EXPECT_EQ(s.pairs[0].answered, 5u);
  EXPECT_EQ(log_->started.size(), 5u);
  const auto limited = result_files(folder("limited"));
  EXPECT_EQ(file_names(limited), kResultFiles);
  const std::vector<std::string> tsv = lines_of(limited.at("Fake_Fake.tsv"));
  const std::vector<std::string> all = lines_of(plain.at("Fake_Fake.tsv"));
  EXPECT_EQ(tsv, std::vector<std::string>(all.begin(), all.begin() + 6));
  EXPECT_NE(limited.at("Fake_Fake_acc.csv"), plain.at("Fake_Fake_acc.csv"));
}

TEST_F(RunLoopTest, TwoShardsEachAnswerHalfAndTheSecondMerges) {
  const auto plain = plain_run_files();
  RunOptions first = options("sharded");
  first.shard.world_size = 2;
  first.shard.rank = 0;
  const EvaluationSummary a = run(first, 3);
  ASSERT_EQ(a.pairs.size(), 1u);
  EXPECT_EQ(a.pairs[0].answered, 6u);
  EXPECT_TRUE(a.pairs[0].waiting);
  EXPECT_FALSE(a.pairs[0].merged);
  EXPECT_TRUE(result_files(folder("sharded")).empty());

  RunOptions second = first;
  second.shard.rank = 1;
  const EvaluationSummary b = run(second, 3);
  ASSERT_EQ(b.pairs.size(), 1u);
  EXPECT_EQ(b.pairs[0].answered, 6u);
  EXPECT_EQ(b.pairs[0].resumed, 0u);
  EXPECT_TRUE(b.pairs[0].merged);
  EXPECT_TRUE(fs::exists(folder("sharded") / "Fake_Fake_records.shard0of2.jsonl"));
  EXPECT_TRUE(fs::exists(folder("sharded") / "Fake_Fake_records.shard1of2.jsonl"));
  EXPECT_EQ(result_files(folder("sharded")), plain);
}

TEST_F(RunLoopTest, AnItemErrorIsRecordedAndTheRunGoesOn) {
  write_dataset(questions(12, {{3, "fail:start"}, {5, "fail:prepare"}, {8, "fail:step steps:3"}}));
  const EvaluationSummary s = run(options("errors"), 4);
  EXPECT_TRUE(s.failures.empty());
  ASSERT_EQ(s.pairs.size(), 1u);
  EXPECT_EQ(s.pairs[0].answered, 12u);
  EXPECT_EQ(s.pairs[0].errors, 3u);
  EXPECT_TRUE(s.pairs[0].merged);
  const auto files = result_files(folder("errors"));
  EXPECT_EQ(file_names(files), kResultFiles);
  const std::vector<std::string> tsv = lines_of(files.at("Fake_Fake.tsv"));
  ASSERT_EQ(tsv.size(), 13u);
  for (size_t i : {3u, 5u, 8u})
    EXPECT_NE(tsv[i + 1].find("Failed to obtain answer: "), std::string::npos) << tsv[i + 1];
  EXPECT_EQ(tsv[3].find("Failed"), std::string::npos) << tsv[3];
  const nlohmann::json run_json = read_run_json(folder("errors"));
  const nlohmann::json& errors = run_json["datasets"]["Fake"]["errors"];
  ASSERT_EQ(errors.size(), 3u) << errors.dump();
  EXPECT_EQ(errors[0]["index"], "3");
  EXPECT_NE(errors[1]["error"].get<std::string>().find("Fake item 5 (row 6)"), std::string::npos)
      << errors.dump();
  EXPECT_EQ(run_json["ranks"]["0of1"]["status"], "done");

  // A second invocation tries the failed items again (and only them).
  const EvaluationSummary again = run(options("errors"), 4);
  EXPECT_EQ(again.pairs[0].resumed, 9u);
  EXPECT_EQ(again.pairs[0].answered, 3u);
  EXPECT_EQ(log_->started.size(), 2u);  // item 5 fails before it starts
}

TEST_F(RunLoopTest, AnInterruptFinishesTheItemsInFlightAndARestartCompletes) {
  const auto plain = plain_run_files();
  std::atomic<int> stop{0};
  RunOptions o = options("interrupted");
  o.interrupt = &stop;
  o.at_point = [&stop](const std::string& point) {
    if (point == "after_record_3") stop = SIGTERM;
  };
  const EvaluationSummary s = run(o, 4);
  EXPECT_EQ(s.interrupted_by, SIGTERM);
  ASSERT_EQ(s.pairs.size(), 1u);
  EXPECT_TRUE(s.pairs[0].interrupted);
  const size_t answered = s.pairs[0].answered;
  EXPECT_GE(answered, 3u);
  EXPECT_LT(answered, 12u);
  EXPECT_EQ(log_->started.size(), answered);  // every item started was recorded
  EXPECT_TRUE(result_files(folder("interrupted")).empty());
  EXPECT_EQ(read_run_json(folder("interrupted"))["ranks"]["0of1"]["status"], "interrupted");

  stop = 0;
  o.at_point = nullptr;
  const EvaluationSummary rest = run(o, 4);
  EXPECT_EQ(rest.interrupted_by, 0);
  EXPECT_EQ(rest.pairs[0].resumed, answered);
  EXPECT_EQ(rest.pairs[0].answered, 12 - answered);
  EXPECT_EQ(result_files(folder("interrupted")), plain);
  EXPECT_EQ(read_run_json(folder("interrupted"))["ranks"]["0of1"]["status"], "done");
}

TEST_F(RunLoopTest, ModeEvalScoresTheRecordsOfAnInferRunWithoutAModel) {
  const auto plain = plain_run_files();
  RunOptions o = options("staged");
  o.mode = RunMode::kEval;
  const EvaluationSummary early = run(o);
  ASSERT_EQ(early.failures.size(), 1u);
  EXPECT_NE(early.failures[0].message.find("--mode eval needs every item's record"),
            std::string::npos)
      << early.failures[0].message;

  o.mode = RunMode::kInfer;
  run(o, 2);
  EXPECT_EQ(file_names(result_files(folder("staged"))),
            (std::vector<std::string>{"Fake_Fake.tsv", "Fake_Fake.xlsx"}));

  o.mode = RunMode::kEval;
  const EvaluationSummary eval = run(o);
  EXPECT_TRUE(eval.failures.empty());
  EXPECT_EQ(log_->loads, 0);
  EXPECT_EQ(log_->prepared.load(), 0);
  ASSERT_EQ(eval.pairs.size(), 1u);
  ASSERT_TRUE(eval.pairs[0].acc.has_value());
  EXPECT_EQ(result_files(folder("staged")), plain);
}

TEST_F(RunLoopTest, TheCrashPointsComeInOrder) {
  std::vector<std::string> points;
  RunOptions o = options("points");
  o.at_point = [&points](const std::string& point) { points.push_back(point); };
  o.limit = 3;
  run(o, 2);
  EXPECT_EQ(points, (std::vector<std::string>{"after_record_1", "after_record_2", "after_record_3",
                                              "after_predictions_xlsx", "after_scoring"}));
  EXPECT_EQ(log_->min_new_tokens, 0);
}

// The item of a fake prompt ("Question N say:X ...").
size_t item_of(const std::string& query) {
  return std::stoul(query.substr(query.find("Question ") + 9));
}

// --overlap's contract on the calls of a run of `items` items whose pool is always ready
// (--prepare-threads 0): before every start() and step(), the next item not started yet has been
// given to prepare_ahead() when its host half succeeded; no item is given twice, none whose host
// half failed (`host_failed`), and the first item never (nothing runs before it). An item's first
// start() comes with prepare_ahead's mark, a second one (after out of memory) without.
void expect_staged_ahead(const std::vector<FakeCall>& calls, size_t items,
                         const std::set<size_t>& host_failed, const std::string& what) {
  std::set<size_t> staged, started;
  size_t next = 0;  // the item after the last one started
  for (size_t n = 0; n < calls.size(); ++n) {
    const FakeCall& c = calls[n];
    if (c.kind == "ahead") {
      const size_t i = item_of(c.query);
      EXPECT_TRUE(staged.insert(i).second) << what << ": item " << i << " given twice";
      EXPECT_EQ(host_failed.count(i), 0u) << what << ": item " << i << " has no host half";
      continue;
    }
    if (c.kind == "start") {
      const size_t i = item_of(c.query);
      const bool first = started.insert(i).second;
      EXPECT_EQ(c.ahead, first && i > 0) << what << ": start of item " << i;
      if (first) next = std::max(next, i + 1);
    }
    if (next < items && host_failed.count(next) == 0) {
      EXPECT_EQ(staged.count(next), 1u) << what << ": call " << n << " (" << c.kind << " "
                                        << c.query << ") before item " << next << " was staged";
    }
  }
  EXPECT_EQ(staged.size(), items - 1 - host_failed.size()) << what;
}

TEST_F(RunLoopTest, OverlapStagesTheNextItemBeforeEveryCallAndChangesNoFile) {
  // Item 4's host half fails, 6 runs out of memory once (tried again), 9 fails at its start.
  write_dataset(questions(12, {{4, "fail:prepare"}, {6, "fail:oom"}, {9, "fail:start"}}));
  for (const int64_t batch : {1, 3}) {
    const std::string b = std::to_string(batch);
    const EvaluationSummary off = run(options("off" + b), batch);
    ASSERT_TRUE(off.failures.empty());
    for (const auto& c : log_->calls) EXPECT_NE(c.kind, "ahead") << "without --overlap";
    EXPECT_EQ(std::count_if(log_->started.begin(), log_->started.end(),
                            [](const std::string& q) { return q.find("fail:oom") != q.npos; }),
              2)
        << "the premise: item 6 starts twice";

    for (const int threads : {0, 2}) {
      const std::string work = "on" + b + "_" + std::to_string(threads);
      RunOptions o = options(work);
      o.overlap = true;
      o.prepare_threads = threads;
      const EvaluationSummary on = run(o, batch);
      ASSERT_TRUE(on.failures.empty());
      ASSERT_EQ(on.pairs.size(), 1u);
      EXPECT_EQ(on.pairs[0].errors, 2u);
      const std::string what = "batch " + b + ", " + std::to_string(threads) + " threads";
      if (threads == 0) expect_staged_ahead(log_->calls, 12, {4}, what);
      EXPECT_EQ(result_files(folder(work)), result_files(folder("off" + b))) << what;
      EXPECT_EQ(testing::records_without_times(folder(work) / "Fake_Fake_records.jsonl"),
                testing::records_without_times(folder("off" + b) / "Fake_Fake_records.jsonl"))
          << what;
      EXPECT_TRUE(read_run_json(folder(work))["config"]["overlap"].get<bool>());
    }
    EXPECT_FALSE(read_run_json(folder("off" + b))["config"]["overlap"].get<bool>());
  }
}

}  // namespace
}  // namespace vlm
