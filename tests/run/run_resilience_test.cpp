// `run` under crashes, signals, shards and bad input, end to end on the tiny model: killed at
// random points and restarted it ends with the files of an uninterrupted run; three torchrun-style
// processes give the files of one; errors are clear and lose nothing finished.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "common/read_file.h"
#include "common/test_paths.h"

namespace vlm {
namespace {
namespace fs = std::filesystem;
using testing::read_file;

size_t count_lines(const std::string& s) {
  return static_cast<size_t>(std::count(s.begin(), s.end(), '\n'));
}

// The final files of a single-model, single-dataset run (run.json and records apart).
const char* const kFinalFiles[] = {
    "InternVL2-tiny_RealWorldQA.xlsx", "InternVL2-tiny_RealWorldQA.tsv",
    "InternVL2-tiny_RealWorldQA_acc.csv", "InternVL2-tiny_RealWorldQA_exact_matching_result.xlsx"};

// index -> record without its timings (the resume journal's timings differ between runs).
std::map<std::string, nlohmann::json> records_without_times(const fs::path& folder) {
  std::map<std::string, nlohmann::json> out;
  for (const auto& e : fs::directory_iterator(folder)) {
    const std::string name = e.path().filename().string();
    if (name.find("_records") == std::string::npos) continue;
    std::istringstream lines(read_file(e.path()));
    for (std::string line; std::getline(lines, line);) {
      auto j = nlohmann::json::parse(line);
      j.erase("times_ms");
      out[j["index"].get<std::string>()] = j;
    }
  }
  return out;
}

// A child process running `cmd` through `sh -c exec ...` (so the pid is the program's own).
struct Child {
  pid_t pid = -1;
  int wait_status() {
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
  }
};

Child spawn(const std::string& cmd, const fs::path& out, const fs::path& err) {
  Child c;
  c.pid = fork();
  if (c.pid == 0) {
    const std::string full = "exec env " + cmd + " >" + out.string() + " 2>" + err.string();
    execl("/bin/sh", "sh", "-c", full.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return c;
}

class RunResilience : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("vlm_run_resilience_" + std::to_string(getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "LMUData");
    const std::string cmd =
        testing::python() + " " +
        (testing::source_dir() / "scripts/fixtures/make_demo_data.py").string() + " --out " +
        (root_ / "LMUData").string() + " --name RealWorldQA --n 8 --bad-rows";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  void TearDown() override { fs::remove_all(root_); }

  // The command line of `run` on the tiny model, with LMUData set.
  std::string run_cmd(const std::string& work, const std::string& args = "",
                      const std::string& env = "") const {
    return env + " LMUData=" + (root_ / "LMUData").string() + " " +
           (testing::bin_dir() / "run").string() + " --model-dir " +
           testing::tiny_model_dir().string() +
           " --data RealWorldQA --max-new-tokens 4 --work-dir " + (root_ / work).string() + " " +
           args;
  }
  struct Result {
    int rc = -1;
    std::string out, err;
  };
  Result run(const std::string& work, const std::string& args = "", const std::string& env = "",
             const std::string& wrap = "") {
    const fs::path out = root_ / "stdout.txt", err = root_ / "stderr.txt";
    std::string cmd = run_cmd(work, args, env);
    if (!wrap.empty()) cmd = wrap + " '" + cmd + "'";
    const int status = std::system((cmd + " >" + out.string() + " 2>" + err.string()).c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_file(out), read_file(err)};
  }
  fs::path folder(const std::string& work) const {
    const fs::path model = root_ / work / "InternVL2-tiny";
    if (!fs::is_directory(model)) return {};
    for (const auto& e : fs::directory_iterator(model))
      if (e.is_directory() && e.path().filename().string()[0] == 'T') return e.path();
    return {};
  }
  void expect_same_final_files(const fs::path& a, const fs::path& b) {
    for (const char* f : kFinalFiles) {
      ASSERT_TRUE(fs::exists(a / f)) << a / f;
      ASSERT_TRUE(fs::exists(b / f)) << b / f;
      EXPECT_TRUE(read_file(a / f) == read_file(b / f)) << f << " differs";
    }
    EXPECT_EQ(records_without_times(a), records_without_times(b));
  }
  void killed_at_random_points_and_restarted(const std::string& args);
  fs::path root_;
};

// Kills at 4 random item counts and once between two result files, restarting each time, every
// run with `args`.
void RunResilience::killed_at_random_points_and_restarted(const std::string& args) {
  Result full = run("full", args);
  ASSERT_EQ(full.rc, 0) << full.err;

  std::random_device rd;
  const unsigned seed = rd();
  std::mt19937 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  // Record lines after which to kill: 4 increasing random counts among the 10 items' records.
  std::vector<size_t> points;
  std::uniform_int_distribution<size_t> pick(1, 9);
  while (points.size() < 4) {
    const size_t p = pick(rng);
    if (std::find(points.begin(), points.end(), p) == points.end()) points.push_back(p);
  }
  std::sort(points.begin(), points.end());
  const fs::path records_name = "InternVL2-tiny_RealWorldQA_records.jsonl";
  for (size_t point : points) {
    Child c = spawn(run_cmd("crash", args), root_ / "c_out.txt", root_ / "c_err.txt");
    bool killed = false;
    for (int i = 0; i < 6000 && !killed; ++i) {  // up to 5 minutes
      const fs::path f = folder("crash");
      if (!f.empty() && count_lines(read_file(f / records_name)) >= point) {
        kill(c.pid, SIGKILL);
        killed = true;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        int status = 0;
        if (waitpid(c.pid, &status, WNOHANG) == c.pid) {
          c.pid = -1;
          break;  // it finished (every earlier kill was late): nothing left to kill
        }
      }
    }
    if (c.pid > 0) c.wait_status();
  }
  // A kill between the predictions workbook and the rest of the result files.
  Result final_write = run("crash", args, "VLM_RUN_CRASH_AT=after_predictions_xlsx");
  EXPECT_EQ(final_write.rc, 128 + SIGKILL) << "the crash hook did not fire: " << final_write.err;
  // (Whether acc.csv exists now depends on timing: when the last random kill came after the run
  // had finished, an earlier invocation wrote it. The restart below must give identical files
  // either way.)
  const fs::path b = folder("crash");

  Result last = run("crash", args);
  ASSERT_EQ(last.rc, 0) << last.err;
  // The 8 good items are resumed; the 2 broken rows are tried again, as VLMEvalKit retries
  // failures.
  EXPECT_NE(last.out.find("(2 answered now, 8 resumed, 2 errors)"), std::string::npos) << last.out;
  expect_same_final_files(folder("full"), b);
  // Every record line is complete JSON (no torn line was kept).
  std::istringstream lines(read_file(b / records_name));
  for (std::string line; std::getline(lines, line);) EXPECT_NO_THROW(nlohmann::json::parse(line));
}

TEST_F(RunResilience, KilledAtRandomPointsAndRestartedEndsWithTheUninterruptedFiles) {
  killed_at_random_points_and_restarted("");
}

// The same with up to 8 items in flight (continuous batching): records land as items finish, in
// any order, and a restart still ends with the files of an uninterrupted run.
TEST_F(RunResilience, AtBatchSize8KilledAndRestartedEndsWithTheUninterruptedFiles) {
  killed_at_random_points_and_restarted("--batch-size 8");
}

// Three processes started as torchrun starts them (RANK/WORLD_SIZE/LOCAL_RANK), at once.
TEST_F(RunResilience, ThreeTorchrunShardsGiveTheFilesOfOneProcess) {
  Result one = run("one");
  ASSERT_EQ(one.rc, 0) << one.err;
  std::vector<Child> children;
  for (int r = 0; r < 3; ++r) {
    const std::string env = "RANK=" + std::to_string(r) + " LOCAL_RANK=" + std::to_string(r) +
                            " WORLD_SIZE=3 LOCAL_WORLD_SIZE=3";
    children.push_back(spawn(run_cmd("three", "", env),
                             root_ / ("s_out" + std::to_string(r) + ".txt"),
                             root_ / ("s_err" + std::to_string(r) + ".txt")));
  }
  int waited = 0;
  for (int r = 0; r < 3; ++r) {
    const int status = children[static_cast<size_t>(r)].wait_status();
    const std::string out = read_file(root_ / ("s_out" + std::to_string(r) + ".txt"));
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << read_file(root_ / ("s_err" + std::to_string(r) + ".txt"));
    waited += out.find("other shards are still answering") != std::string::npos;
  }
  EXPECT_EQ(waited, 2) << "exactly one shard merges and scores";
  const fs::path f = folder("three");
  expect_same_final_files(folder("one"), f);
  // Each shard wrote its own record file with rows r, r+3, ... (10 items: 4, 3, 3).
  for (int r = 0; r < 3; ++r) {
    const fs::path rec =
        f / ("InternVL2-tiny_RealWorldQA_records.shard" + std::to_string(r) + "of3.jsonl");
    std::istringstream lines(read_file(rec));
    size_t n = 0;
    for (std::string line; std::getline(lines, line); ++n)
      EXPECT_EQ(nlohmann::json::parse(line)["row"].get<size_t>() % 3, static_cast<size_t>(r));
    EXPECT_EQ(n, r == 0 ? 4u : 3u) << rec;
  }
  auto run_json = nlohmann::json::parse(read_file(f / "run.json"));
  EXPECT_EQ(run_json["world_size"], 3);
  EXPECT_EQ(run_json["ranks"].size(), 3u);
  EXPECT_TRUE(run_json["datasets"]["RealWorldQA"]["merged"]["scored"].get<bool>());
}

TEST_F(RunResilience, SigintFinishesTheItemInFlightWritesAndExits130) {
  Child c = spawn(run_cmd("int"), root_ / "i_out.txt", root_ / "i_err.txt");
  const fs::path records_name = "InternVL2-tiny_RealWorldQA_records.jsonl";
  bool sent = false;
  for (int i = 0; i < 6000 && !sent; ++i) {
    const fs::path f = folder("int");
    if (!f.empty() && count_lines(read_file(f / records_name)) >= 1) {
      kill(c.pid, SIGINT);
      sent = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(sent);
  const int status = c.wait_status();
  ASSERT_TRUE(WIFEXITED(status)) << "killed by the signal instead of stopping";
  EXPECT_EQ(WEXITSTATUS(status), 130) << read_file(root_ / "i_err.txt");
  const std::string err = read_file(root_ / "i_err.txt");
  EXPECT_NE(err.find("interrupted"), std::string::npos) << err;
  const fs::path f = folder("int");
  const std::string rec = read_file(f / records_name);
  ASSERT_FALSE(rec.empty());
  EXPECT_EQ(rec.back(), '\n') << "the item in flight was finished, not torn";
  const size_t done = count_lines(rec);
  EXPECT_LT(done, 10u) << "stopped before the end";
  EXPECT_FALSE(fs::exists(f / "InternVL2-tiny_RealWorldQA.xlsx"));
  auto run_json = nlohmann::json::parse(read_file(f / "run.json"));
  EXPECT_EQ(run_json["ranks"]["0of1"]["status"], "interrupted");

  Result again = run("int");
  ASSERT_EQ(again.rc, 0) << again.err;
  EXPECT_NE(again.out.find(std::to_string(done) + " resumed"), std::string::npos) << again.out;
}

TEST_F(RunResilience, UnwritableWorkDirIsOneClearLine) {
  std::ofstream(root_ / "a_file") << "x";
  Result r = run("a_file/outputs");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("cannot create the run folder " + (root_ / "a_file/outputs").string()),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("--work-dir"), std::string::npos) << r.err;
}

// A file-size limit (as a full disk) while records are appended: the write error names the file,
// the complete records stay, and a run without the limit answers only the rest.
TEST_F(RunResilience, AFullDiskStopsWithTheFileNamedAndKeepsFinishedRecords) {
  // Unscored records of the first 3 items (run.json without scores yet), and a complete run in a
  // folder of the same name length for the sizes the files end at.
  Result first = run("full", "--limit 3 --mode infer");
  ASSERT_EQ(first.rc, 0) << first.err;
  Result reference = run("refr");
  ASSERT_EQ(reference.rc, 0) << reference.err;
  const fs::path f = folder("full");
  const fs::path rec = f / "InternVL2-tiny_RealWorldQA_records.jsonl";
  const size_t run_json = fs::file_size(f / "run.json");
  const size_t scored_json = fs::file_size(folder("refr") / "run.json");
  // A file-size limit in bytes (prlimit; ulimit -f would round to 1024-byte blocks, coarser than
  // the gap) halfway between the unscored run.json and the scored one: the records and the
  // unscored run.json fit, a later write (the scored run.json) does not.
  const size_t limit = (run_json + scored_json) / 2;
  ASSERT_LT(fs::file_size(folder("refr") / "InternVL2-tiny_RealWorldQA_records.jsonl"), limit);
  ASSERT_GT(scored_json, limit) << "the test needs a write past the limit after the records ("
                                << run_json << " and " << scored_json << " bytes)";
  Result limited = run("full", "", "",
                       "bash -c 'trap \"\" XFSZ; exec prlimit --fsize=" + std::to_string(limit) +
                           " \"$0\" \"$@\"' sh -c");
  EXPECT_EQ(limited.rc, 2) << limited.err;
  EXPECT_NE(limited.err.find("File too large"), std::string::npos) << limited.err;
  EXPECT_NE(limited.err.find(f.string()), std::string::npos) << limited.err;
  const std::string kept = read_file(rec);
  EXPECT_EQ(kept.back(), '\n');
  EXPECT_GE(count_lines(kept), 10u) << "every answered item is recorded";

  Result rest = run("full");
  ASSERT_EQ(rest.rc, 0) << rest.err;
  EXPECT_NE(rest.out.find("10 items"), std::string::npos) << rest.out;
  EXPECT_NE(rest.out.find("(2 answered now, 8 resumed"), std::string::npos) << rest.out;
}

TEST_F(RunResilience, ACorruptRecordNamesTheLineAndIsLeftAsItIs) {
  Result first = run("c", "--limit 3");
  ASSERT_EQ(first.rc, 0) << first.err;
  const fs::path rec = folder("c") / "InternVL2-tiny_RealWorldQA_records.jsonl";
  std::istringstream lines(read_file(rec));
  std::string l1, l2, l3;
  std::getline(lines, l1);
  std::getline(lines, l2);
  std::getline(lines, l3);
  const std::string corrupt = l1 + "\n" + l2.substr(0, 20) + "#garbage#\n" + l3 + "\n";
  std::ofstream(rec, std::ios::binary | std::ios::trunc) << corrupt;
  Result r = run("c");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find(rec.string() + ":2: corrupt record"), std::string::npos) << r.err;
  EXPECT_EQ(read_file(rec), corrupt) << "the record file must be left as it was";
}

TEST_F(RunResilience, AnMd5MismatchIsAWarningNamingBothSums) {
  // The expected sum is the published RealWorldQA.tsv's; the actual one comes from md5sum.
  const fs::path sum = root_ / "md5.txt";
  ASSERT_EQ(
      std::system(("md5sum " + (root_ / "LMUData/RealWorldQA.tsv").string() + " > " + sum.string())
                      .c_str()),
      0);
  const std::string actual = read_file(sum).substr(0, 32);
  Result r = run("m", "--limit 1");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find("4de008f55dc4fd008ca9e15321dc44b7"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(actual), std::string::npos) << r.err;
}

TEST_F(RunResilience, ConfigJsonRunsAndAnUnknownKeyNamesTheFileAndKeyPath) {
  const fs::path bad = root_ / "bad.json";
  std::ofstream(bad) << R"({"model": {"InternVL2-tiny": {"class": "InternVLChat", "modeldir": "x"}},
                          "data": {"RealWorldQA": {}}})";
  const std::string bin = (testing::bin_dir() / "run").string();
  const std::string env = "LMUData=" + (root_ / "LMUData").string() + " ";
  Result r;
  {
    const int status = std::system((env + bin + " --config " + bad.string() + " --work-dir " +
                                    (root_ / "o").string() + " >" + (root_ / "o.txt").string() +
                                    " 2>" + (root_ / "e.txt").string())
                                       .c_str());
    r = {WEXITSTATUS(status), read_file(root_ / "o.txt"), read_file(root_ / "e.txt")};
  }
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find(bad.string() + ": model.InternVL2-tiny.modeldir: unknown key"),
            std::string::npos)
      << r.err;

  const fs::path good = root_ / "good.json";
  std::ofstream(good) << R"({"model": {"tiny": {"class": "InternVLChat", "model_dir": ")" +
                             testing::tiny_model_dir().string() +
                             R"(", "max_new_tokens": 2}},
                          "data": {"RWQ": {"class": "ImageMCQDataset", "dataset": "RealWorldQA"}}})";
  const int status = std::system((env + bin + " --config " + good.string() +
                                  " --limit 2 --work-dir " + (root_ / "o").string() + " >" +
                                  (root_ / "o.txt").string() + " 2>" + (root_ / "e.txt").string())
                                     .c_str());
  ASSERT_EQ(WEXITSTATUS(status), 0) << read_file(root_ / "e.txt");
  bool found = false;
  for (const auto& e : fs::directory_iterator(root_ / "o" / "tiny"))
    if (e.is_directory()) {
      found = true;
      EXPECT_EQ(count_lines(read_file(e.path() / "tiny_RWQ.tsv")), 3u);
      auto j = nlohmann::json::parse(read_file(e.path() / "run.json"));
      EXPECT_EQ(j["model"]["max_new_tokens"], 2);
      EXPECT_EQ(j["datasets"]["RWQ"]["dataset"], "RealWorldQA");
    }
  EXPECT_TRUE(found);
}

// --mode infer writes predictions only; --mode eval scores them without a model and links the
// evaluation files one level up; --reuse takes an earlier same-commit folder's records.
TEST_F(RunResilience, InferThenEvalThenReuse) {
  Result infer = run("w", "--limit 3 --mode infer");
  ASSERT_EQ(infer.rc, 0) << infer.err;
  const fs::path f = folder("w");
  EXPECT_TRUE(fs::exists(f / "InternVL2-tiny_RealWorldQA.xlsx"));
  EXPECT_FALSE(fs::exists(f / "InternVL2-tiny_RealWorldQA_acc.csv"));
  EXPECT_FALSE(fs::exists(f.parent_path() / "InternVL2-tiny_RealWorldQA.xlsx"));

  Result eval2 = run("w", "--limit 3 --mode eval");
  ASSERT_EQ(eval2.rc, 0) << eval2.err;
  EXPECT_NE(eval2.out.find("3 items (0 answered now, 0 resumed"), std::string::npos) << eval2.out;
  EXPECT_TRUE(fs::exists(f / "InternVL2-tiny_RealWorldQA_acc.csv"));
  const fs::path link = f.parent_path() / "InternVL2-tiny_RealWorldQA_acc.csv";
  ASSERT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(fs::read_symlink(link), fs::absolute(f / "InternVL2-tiny_RealWorldQA_acc.csv"));

  Result incomplete = run("w", "--mode eval");
  EXPECT_EQ(incomplete.rc, 2);
  EXPECT_NE(incomplete.err.find("7 of 10 items"), std::string::npos) << incomplete.err;

  // An earlier folder of the same commit: --reuse starts from its records.
  const fs::path older = f.parent_path() / ("T19990101_" + f.filename().string().substr(10));
  fs::rename(f, older);
  Result reuse = run("w", "--limit 3 --reuse");
  ASSERT_EQ(reuse.rc, 0) << reuse.err;
  EXPECT_NE(reuse.out.find("0 answered now, 3 resumed"), std::string::npos) << reuse.out;
  EXPECT_NE(reuse.err.find("--reuse: took the records of " + older.string()), std::string::npos)
      << reuse.err;
}

}  // namespace
}  // namespace vlm
