// The `run` and `generate` executables end to end on the tiny model and generated VLMEvalKit data.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <torch/cuda.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "common/shell.h"
#include "common/test_paths.h"

namespace vlm {
namespace {
namespace fs = std::filesystem;

using testing::read_file;
using testing::Result;
using testing::sh;

int torch_cuda_device_count() {
  return static_cast<int>(torch::cuda::device_count());
}

size_t count_lines(const std::string& s) {
  return static_cast<size_t>(std::count(s.begin(), s.end(), '\n'));
}

class RunApp : public ::testing::Test {
 protected:
  // One data root per suite: 5 demo items + an undecodable image + a missing question + a question
  // of 5000 words (past the text budget of the KV cache).
  static void SetUpTestSuite() {
    // ctest runs each test in its own process, possibly in parallel: one folder per process.
    root_ = new fs::path(testing::make_bad_rows_data_root("vlm_run_app_"));
    ASSERT_FALSE(root_->empty()) << "scripts/fixtures/make_demo_data.py failed";
  }
  static void TearDownTestSuite() {
    fs::remove_all(*root_);
    delete root_;
  }

  // `run` with LMUData set; extra arguments appended.
  Result run(const std::string& args, const std::string& work = "out") {
    return sh("LMUData=" + (*root_ / "LMUData").string() + " " +
                  (testing::bin_dir() / "run").string() + " --work-dir " +
                  (*root_ / work).string() + " " + args,
              *root_);
  }
  static fs::path run_folder(const std::string& work) {
    const fs::path model = *root_ / work / "InternVL2-tiny";
    for (const auto& e : fs::directory_iterator(model))
      if (e.is_directory()) return e.path();
    return {};
  }
  std::string model_dir_arg() const { return "--model-dir " + testing::tiny_model_dir().string(); }

  static fs::path* root_;
};
fs::path* RunApp::root_ = nullptr;

TEST_F(RunApp, RunsEveryItemRecordsBadRowsAndPrintsTheAccuracyTable) {
  Result r = run(model_dir_arg() + " --data RealWorldQA");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("Overall"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("8 items (8 answered now, 0 resumed, 3 errors)"), std::string::npos)
      << r.out;
  // The md5 of a local file that is not the published one is a warning naming both sums.
  EXPECT_NE(r.err.find("4de008f55dc4fd008ca9e15321dc44b7"), std::string::npos) << r.err;

  const fs::path folder = run_folder("out");
  ASSERT_FALSE(folder.empty());
  EXPECT_EQ(folder.filename().string().substr(0, 1), "T");
  EXPECT_NE(folder.filename().string().find("_G"), std::string::npos);
  for (const char* f :
       {"InternVL2-tiny_RealWorldQA.xlsx", "InternVL2-tiny_RealWorldQA.tsv",
        "InternVL2-tiny_RealWorldQA_acc.csv", "InternVL2-tiny_RealWorldQA_records.jsonl",
        "InternVL2-tiny_RealWorldQA_exact_matching_result.xlsx", "run.json"})
    EXPECT_TRUE(fs::exists(folder / f)) << f;

  const std::string acc = read_file(folder / "InternVL2-tiny_RealWorldQA_acc.csv");
  EXPECT_EQ(acc.rfind("\"split\",\"Overall\"\n\"none\",\"", 0), 0u) << acc;

  // One record per item; the three bad rows carry their errors, the others their outputs.
  std::istringstream lines(read_file(folder / "InternVL2-tiny_RealWorldQA_records.jsonl"));
  std::string line;
  int errors = 0, answered = 0;
  while (std::getline(lines, line)) {
    auto j = nlohmann::json::parse(line);
    for (const char* k : {"index", "prompt", "tiles_per_image", "input_tokens", "output_ids",
                          "prediction", "extracted", "hit", "times_ms"})
      EXPECT_TRUE(j.contains(k)) << k;
    if (!j["error"].is_null()) {
      ++errors;
      // Each error names its item; the long question is refused before any compute.
      const std::string error = j["error"].get<std::string>();
      EXPECT_EQ(error.rfind("RealWorldQA item " + j["index"].get<std::string>() + " (row ", 0), 0u)
          << error;
      if (j["index"] == "7") {
        EXPECT_NE(error.find("exceeds the KV-cache capacity"), std::string::npos) << error;
      }
      EXPECT_EQ(j["prediction"].get<std::string>().rfind("Failed to obtain answer: ", 0), 0u);
      EXPECT_EQ(j["hit"], 0);
    } else {
      ++answered;
      EXPECT_GT(j["input_tokens"].get<int>(), 256);
      EXPECT_FALSE(j["output_ids"].empty());
      EXPECT_GE(j["tiles_per_image"][0].get<int>(), 1);
    }
  }
  EXPECT_EQ(errors, 3);
  EXPECT_EQ(answered, 5);
  // Predictions: the TSV's columns minus image, then prediction; one row per item.
  const std::string tsv = read_file(folder / "InternVL2-tiny_RealWorldQA.tsv");
  EXPECT_EQ(tsv.substr(0, tsv.find('\n')),
            "\"index\"\t\"question\"\t\"A\"\t\"B\"\t\"C\"\t\"D\"\t\"answer\"\t\"prediction\"");
  // One row per item (a prediction may hold quoted newlines: count the lines starting a row).
  size_t rows = 0;
  for (size_t at = tsv.find("\n\""); at != std::string::npos; at = tsv.find("\n\"", at + 1))
    rows += at + 2 < tsv.size() && std::isdigit(static_cast<unsigned char>(tsv[at + 2]));
  EXPECT_EQ(rows, 8u);

  auto run_json = nlohmann::json::parse(read_file(folder / "run.json"));
  EXPECT_EQ(run_json["datasets"]["RealWorldQA"]["items"], 8);
  EXPECT_EQ(run_json["datasets"]["RealWorldQA"]["errors"].size(), 3u);
  EXPECT_TRUE(run_json["placement"]["map"].contains("vision_model"));
  EXPECT_EQ(run_json["placement"]["config"], "single");
  EXPECT_TRUE(run_json["placement"]["fits"].get<bool>());
  // Every model file was checked as it loaded: hashed, or unchanged since an earlier run hashed it.
  ASSERT_EQ(run_json["ranks"].size(), 1u) << run_json.dump();
  const nlohmann::json& files = run_json["ranks"].begin().value()["model_files"];
  EXPECT_TRUE(files["verified"].get<bool>()) << files;
  const auto manifest =
      nlohmann::json::parse(read_file(testing::tiny_model_dir() / "manifest.json"));
  EXPECT_EQ(files["hashed_files"].get<size_t>() + files["stamped_files"].get<size_t>(),
            manifest["units"].size() + manifest["files"].size())
      << files;
  EXPECT_EQ(files["unrecorded_files"], 0) << files;
}

// A manifest whose dtype is not its units' stops the run at load with exit 2, naming the unit and
// both dtypes (issue 17.5), not a TorchScript traceback at the first item.
TEST_F(RunApp, AManifestDtypeThatIsNotTheUnitsIsABadInput) {
  const fs::path model = *root_ / "bf16" / "InternVL2-tiny";
  fs::create_directories(model.parent_path());
  fs::copy(testing::tiny_model_dir(), model, fs::copy_options::recursive);
  nlohmann::json j = nlohmann::json::parse(read_file(model / "manifest.json"));
  j["dtype"] = "bfloat16";
  std::ofstream(model / "manifest.json", std::ios::trunc) << j.dump();
  Result r =
      run("--model-dir " + model.string() + " --data RealWorldQA --max-new-tokens 2", "bf16_out");
  EXPECT_EQ(r.rc, 2) << r.err;
  EXPECT_NE(r.err.find("declares dtype bfloat16, but unit "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("holds float32 tensors"), std::string::npos) << r.err;
}

// A VQA benchmark end to end: the demo rows as a TextVQA_VAL TSV (10 answers each, the first
// row's answers all "nokia"), answered by the tiny model and scored with TextVQA's metric; then
// the same predictions file scored again by --predictions, which must give the same _acc.csv.
TEST_F(RunApp, TextVqaRunWritesVlmevalkitsFilesAndScoresItsOwnPredictionsAlike) {
  const fs::path data = *root_ / "LMUData";
  const std::string script =
      "import csv, sys\n"
      "csv.field_size_limit(1 << 30)\n"
      "rows = list(csv.DictReader(open(sys.argv[1], encoding='utf-8'), delimiter='\\t'))\n"
      "with open(sys.argv[2], 'w', encoding='utf-8') as f:\n"
      "    f.write('index\\timage\\tquestion\\tanswer\\n')\n"
      "    for i, r in enumerate(rows[:3]):\n"
      "        a = ['nokia'] * 10 if i == 0 else ['red'] * 5 + ['blue'] * 5\n"
      "        f.write('%s\\t%s\\t%s\\t%s\\n' % (r['index'], r['image'], r['question'], a))\n";
  std::ofstream(*root_ / "to_textvqa.py", std::ios::binary) << script;
  ASSERT_EQ(
      std::system((testing::python() + " " + (*root_ / "to_textvqa.py").string() + " " +
                   (data / "RealWorldQA.tsv").string() + " " + (data / "TextVQA_VAL.tsv").string())
                      .c_str()),
      0);
  Result r = run(model_dir_arg() + " --data TextVQA_VAL --max-new-tokens 8", "out_vqa");
  ASSERT_EQ(r.rc, 0) << r.err;
  const fs::path folder = run_folder("out_vqa");
  ASSERT_FALSE(folder.empty());
  for (const char* f : {"InternVL2-tiny_TextVQA_VAL.xlsx", "InternVL2-tiny_TextVQA_VAL_acc.csv",
                        "InternVL2-tiny_TextVQA_VAL_results.xlsx", "run.json"})
    EXPECT_TRUE(fs::exists(folder / f)) << f;
  const std::string acc = read_file(folder / "InternVL2-tiny_TextVQA_VAL_acc.csv");
  EXPECT_EQ(acc.rfind("\"Overall\"\n\"", 0), 0u) << acc;
  const auto run_json = nlohmann::json::parse(read_file(folder / "run.json"));
  const auto& scores = run_json["datasets"]["TextVQA_VAL"]["scores"];
  EXPECT_EQ(scores["scorer"], "vqa_textvqa");
  ASSERT_TRUE(scores["Overall"].is_number());
  // The summary line shows the headline figure (x 100, two decimals).
  char overall[32];
  std::snprintf(overall, sizeof(overall), "%.2f", scores["Overall"].get<double>());
  EXPECT_NE(r.out.find(overall), std::string::npos) << r.out;
  // The prompt carries the short-answer suffix.
  const std::string records = read_file(folder / "InternVL2-tiny_TextVQA_VAL_records.jsonl");
  EXPECT_NE(records.find("Answer the question using a single word or phrase."), std::string::npos);

  Result again = run("--mode eval --model Again --data TextVQA_VAL --predictions " +
                         (folder / "InternVL2-tiny_TextVQA_VAL.xlsx").string(),
                     "out_vqa_eval");
  ASSERT_EQ(again.rc, 0) << again.err;
  fs::path eval_folder;
  for (const auto& e : fs::directory_iterator(*root_ / "out_vqa_eval" / "Again"))
    if (e.is_directory()) eval_folder = e.path();
  EXPECT_EQ(read_file(eval_folder / "Again_TextVQA_VAL_acc.csv"), acc);
}

// The dataset-config key min_new_tokens (a benchmark knob, configs/datasets/BenchVQA.yaml: 8)
// reaches generation: with a copy of the tiny model whose every id is a stop id, BenchVQA's answers
// have 8 tokens and the same rows as a custom dataset (no config, min 0) have one.
TEST_F(RunApp, DatasetConfigMinNewTokensForcesTheAnswerLength) {
  const fs::path data = *root_ / "LMUData";
  ASSERT_EQ(std::system((testing::python() + " " +
                         (testing::source_dir() / "scripts/fixtures/make_bench_data.py").string() +
                         " --out " + data.string() + " --mcq 0 --vqa 2 --scale 0.25 >/dev/null")
                            .c_str()),
            0);
  fs::copy_file(data / "BenchVQA.tsv", data / "PlainVQA.tsv", fs::copy_options::overwrite_existing);
  const fs::path model = *root_ / "stop_everywhere";
  fs::remove_all(model);
  fs::copy(testing::tiny_model_dir(), model, fs::copy_options::recursive);
  auto manifest = nlohmann::json::parse(read_file(model / "manifest.json"));
  const int64_t vocab = manifest["llm"]["vocab_size"].get<int64_t>();
  manifest["stop_ids"] = nlohmann::json::array();
  for (int64_t id = 0; id < vocab; ++id) manifest["stop_ids"].push_back(id);
  std::ofstream(model / "manifest.json") << manifest.dump(1);
  const std::string name = manifest["name"].get<std::string>();  // the run folder's model name

  auto answer_lengths = [&](const std::string& dataset) {
    const std::string work = "out_min_" + dataset;
    Result r =
        run("--model-dir " + model.string() + " --data " + dataset + " --max-new-tokens 12", work);
    EXPECT_EQ(r.rc, 0) << r.err;
    std::vector<size_t> lengths;
    fs::path folder;
    for (const auto& e : fs::directory_iterator(*root_ / work / name))
      if (e.is_directory()) folder = e.path();
    std::istringstream lines(read_file(folder / (name + "_" + dataset + "_records.jsonl")));
    for (std::string line; std::getline(lines, line);)
      lengths.push_back(nlohmann::json::parse(line)["output_ids"].size());
    return lengths;
  };
  EXPECT_EQ(answer_lengths("BenchVQA"), std::vector<size_t>({8, 8}));
  EXPECT_EQ(answer_lengths("PlainVQA"), std::vector<size_t>({1, 1}));
}

TEST_F(RunApp, ARestartAfterACrashFinishesTheRestAndGivesTheSameFiles) {
  Result full = run(model_dir_arg() + " --data RealWorldQA", "full");
  ASSERT_EQ(full.rc, 0) << full.err;
  const fs::path a = run_folder("full");

  // Simulate a kill: keep 3 complete records and half of the 4th, no result files.
  Result again = run(model_dir_arg() + " --data RealWorldQA", "crash");
  ASSERT_EQ(again.rc, 0) << again.err;
  const fs::path b = run_folder("crash");
  const fs::path rec = b / "InternVL2-tiny_RealWorldQA_records.jsonl";
  std::istringstream lines(read_file(rec));
  std::string kept, line;
  for (int i = 0; i < 3 && std::getline(lines, line); ++i) kept += line + "\n";
  std::getline(lines, line);
  kept += line.substr(0, line.size() / 2);
  std::ofstream(rec, std::ios::binary | std::ios::trunc) << kept;
  for (const char* f : {"InternVL2-tiny_RealWorldQA.xlsx", "InternVL2-tiny_RealWorldQA.tsv",
                        "InternVL2-tiny_RealWorldQA_acc.csv",
                        "InternVL2-tiny_RealWorldQA_exact_matching_result.xlsx"})
    fs::remove(b / f);

  Result resumed = run(model_dir_arg() + " --data RealWorldQA", "crash");
  ASSERT_EQ(resumed.rc, 0) << resumed.err;
  EXPECT_NE(resumed.out.find("(5 answered now, 3 resumed"), std::string::npos) << resumed.out;
  EXPECT_NE(resumed.err.find("truncated last record"), std::string::npos) << resumed.err;
  for (const char* f : {"InternVL2-tiny_RealWorldQA.xlsx", "InternVL2-tiny_RealWorldQA.tsv",
                        "InternVL2-tiny_RealWorldQA_acc.csv",
                        "InternVL2-tiny_RealWorldQA_exact_matching_result.xlsx"})
    EXPECT_TRUE(read_file(a / f) == read_file(b / f))
        << f << " differs from the uninterrupted run's";
}

// `--profile FILE`: with a Kineto LibTorch (pip, CUDA) the trace marks each answered item's
// vision and prefill once and the result files are those of a run without it; a LibTorch without
// Kineto (Debian's) is refused before any item, naming the file, and leaves no run folder.
TEST_F(RunApp, AProfileTraceMarksEachItemsStagesOrIsRefusedBeforeAnyItem) {
  const fs::path trace = *root_ / "profile" / "trace.json";
  Result r = run(model_dir_arg() + " --data RealWorldQA --profile " + trace.string(), "profiled");
  if (r.rc != 0) {
    EXPECT_EQ(r.rc, 2) << r.err;
    EXPECT_NE(r.err.find(trace.string()), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("Kineto"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(*root_ / "profiled")) << "a refused --profile ran items";
    return;
  }
  const nlohmann::json j = nlohmann::json::parse(read_file(trace));
  std::map<std::string, int> scopes;
  for (const auto& e : j.at("traceEvents"))
    if (e.value("cat", "") == "user_annotation") ++scopes[e.value("name", "")];
  // 8 rows: 5 answered; the undecodable image and the missing question fail before vision, the
  // 5000-word question at the capacity check before its prefill.
  EXPECT_EQ(scopes["vlm::vision"], 5);
  EXPECT_EQ(scopes["vlm::prefill"], 5);
  Result plain = run(model_dir_arg() + " --data RealWorldQA", "unprofiled");
  ASSERT_EQ(plain.rc, 0) << plain.err;
  for (const char* f : {"InternVL2-tiny_RealWorldQA.xlsx", "InternVL2-tiny_RealWorldQA_acc.csv"})
    EXPECT_TRUE(read_file(run_folder("profiled") / f) == read_file(run_folder("unprofiled") / f))
        << f;
}

TEST_F(RunApp, MissingModelDirectoryIsOneLineNamingThePathAndTheCommand) {
  Result r = run("--model-dir /nonexistent/InternVL2-8B --data RealWorldQA");
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(count_lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("/nonexistent/InternVL2-8B"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("export_internvl2.py"), std::string::npos) << r.err;

  Result named = run("--model InternVL2-8B --model-root /nonexistent --data RealWorldQA");
  EXPECT_EQ(named.rc, 2);
  EXPECT_NE(named.err.find("/nonexistent/InternVL2-8B"), std::string::npos) << named.err;
  EXPECT_NE(named.err.find("OpenGVLab/InternVL2-8B"), std::string::npos) << named.err;
}

TEST_F(RunApp, MissingTsvIsOneLineNamingThePathAndTheCommand) {
  Result r = run(model_dir_arg() + " --data MyBench");
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(count_lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("MyBench"), std::string::npos) << r.err;

  fs::create_directories(*root_ / "empty");
  Result known =
      sh("LMUData=" + (*root_ / "empty").string() + " " + (testing::bin_dir() / "run").string() +
             " " + model_dir_arg() + " --data RealWorldQA --work-dir " + (*root_ / "o2").string(),
         *root_);
  EXPECT_EQ(known.rc, 2);
  EXPECT_NE(known.err.find((*root_ / "empty" / "RealWorldQA.tsv").string()), std::string::npos)
      << known.err;
  EXPECT_NE(known.err.find("make_demo_data.py"), std::string::npos) << known.err;
}

TEST_F(RunApp, ModelNamesResolveThroughConfigsAndUnknownNamesGetSuggestions) {
  Result r = run("--model InternVL2-tiny --model-root " +
                     testing::tiny_model_dir().parent_path().string() +
                     " --data RealWorldQA --max-new-tokens 2",
                 "named");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("InternVL2-tiny / RealWorldQA"), std::string::npos);

  Result typo = run("--model InternVL2-8b --data RealWorldQA");
  EXPECT_EQ(typo.rc, 2);
  EXPECT_NE(typo.err.find("closest known: InternVL2-8B"), std::string::npos) << typo.err;
}

// `generate` tokenizes the exporter's golden question exactly as the exporter's Python did, and
// its greedy ids are the reference's (up to the stop id).
TEST(GenerateApp, MatchesTheExportersTokenizationAndGreedyIds) {
  const fs::path scratch =
      fs::temp_directory_path() / ("vlm_generate_app_" + std::to_string(getpid()));
  fs::create_directories(scratch);
  auto golden = nlohmann::json::parse(read_file(testing::tiny_model_dir() / "golden.json"));
  for (const auto& c : golden["cases"]) {
    if (c["num_tiles"].get<int>() != 0) continue;
    const fs::path q = scratch / "question.txt";
    std::ofstream(q) << c["question"].get<std::string>();
    Result r = sh((testing::bin_dir() / "generate").string() + " --model-dir " +
                      testing::tiny_model_dir().string() +
                      " --json --max-new-tokens 20 --prompt \"$(cat " + q.string() + ")\"",
                  scratch);
    ASSERT_EQ(r.rc, 0) << r.err;
    auto out = nlohmann::json::parse(r.out);
    EXPECT_EQ(out["input_ids"], c["input_ids"]);
    const auto expected = c["greedy_ids"].get<std::vector<int64_t>>();
    const auto got = out["output_ids"].get<std::vector<int64_t>>();
    ASSERT_FALSE(got.empty());
    EXPECT_TRUE(std::equal(got.begin(), got.end(), expected.begin()));
    return;
  }
  FAIL() << "golden.json has no text-only case";
}

}  // namespace
}  // namespace vlm

namespace vlm {
namespace {

// `run --plan-only` on config-only manifests of the real sizes: nothing is loaded, and the exit
// code says whether the plan fits.
class PlanOnly : public ::testing::Test {
 protected:
  void SetUp() override {
    scratch_ = fs::temp_directory_path() / ("vlm_plan_only_" + std::to_string(getpid()));
    fs::create_directories(scratch_);
  }
  void TearDown() override { fs::remove_all(scratch_); }
  Result run(const std::string& args) {
    return sh((testing::bin_dir() / "run").string() + " " + args, scratch_);
  }
  std::string sizes() const { return testing::size_manifests_dir().string(); }
  fs::path scratch_;
};

TEST_F(PlanOnly, UpstreamSplitOf76BOnTwo80GBGpusDoesNotFitAndSaysWhere) {
  Result r = run("--model InternVL2-76B --model-root " + sizes() +
                 " --placement internvl-split-2x80 --plan-only");
  EXPECT_EQ(r.rc, 4) << r.err;
  EXPECT_NE(r.out.find("DOES NOT FIT"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cuda:1  layers 27-78"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("OVER by"), std::string::npos) << r.out;
}

TEST_F(PlanOnly, BalancedPlansFitAndNeedNoGpu) {
  for (const char* p : {"balanced-2x80", "balanced-4x80", "balanced-8x141"}) {
    Result r = run("--model InternVL2-76B --model-root " + sizes() + " --placement " + p +
                   " --plan-only --data RealWorldQA");
    EXPECT_EQ(r.rc, 0) << p << ": " << r.err;
    EXPECT_NE(r.out.find(" fits"), std::string::npos) << r.out;
  }
}

TEST_F(PlanOnly, AnAccelerateDeviceMapIsAPlacement) {
  const fs::path map =
      testing::source_dir() / "configs/placements/examples/accelerate-76b-2gpu.json";
  Result r = run("--model-dir " + sizes() + "/InternVL2-Llama3-76B --placement " + map.string() +
                 " --plan-only");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("(explicit)"), std::string::npos) << r.out;
}

TEST_F(PlanOnly, AConfigOnlyExportIsPlannedButNotRun) {
  fs::create_directories(scratch_ / "LMUData");
  std::ofstream(scratch_ / "LMUData" / "Tiny.tsv") << "index\tquestion\tA\tB\tanswer\timage\n";
  Result r = sh("LMUData=" + (scratch_ / "LMUData").string() + " " +
                    (testing::bin_dir() / "run").string() + " --model-dir " + sizes() +
                    "/InternVL2-1B --data Tiny --work-dir " + (scratch_ / "o").string(),
                scratch_);
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("--config-only"), std::string::npos) << r.err;
}

// A misspelled key in a model config (here InternVL2-Demo's own `generation: max_new_tokens: 8`
// written one level too high) stops the run before anything is loaded, naming the file and the key;
// it used to run with the base file's 4096.
TEST_F(PlanOnly, AModelConfigWithAnUnknownKeyExitsTwoNamingTheFileAndTheKey) {
  fs::copy(testing::source_dir() / "configs", scratch_ / "configs", fs::copy_options::recursive);
  const fs::path models = scratch_ / "configs" / "models";
  const std::string head =
      "base: _internvl2.yaml\nname: Typo\nmodel_dir: InternVL2-1B\ntemplate: Hermes-2\n";
  std::ofstream(models / "Typo.yaml") << head << "max_new_token: 8\n";
  const std::string args = "--configs " + (scratch_ / "configs").string() + " --model Typo" +
                           " --model-root " + sizes() + " --plan-only";
  Result r = run(args);
  EXPECT_EQ(r.rc, 2) << r.out << r.err;
  EXPECT_EQ(count_lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find((models / "Typo.yaml").string() + ": max_new_token: unknown key"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("closest: generation.max_new_tokens"), std::string::npos) << r.err;

  // Written where it belongs, the same config is planned.
  std::ofstream(models / "Typo.yaml") << head << "generation:\n  max_new_tokens: 8\n";
  r = run(args);
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("Typo under placement single"), std::string::npos) << r.out;
}

// The cuda:0 row of a plan's table, split at its column gaps: device, units, weights, kv, act,
// total, budget, free.
std::vector<std::string> cuda0_row(const std::string& out) {
  const size_t at = out.find("\ncuda:0  ");
  if (at == std::string::npos) return {};
  const std::string line = out.substr(at + 1, out.find('\n', at + 1) - at - 1);
  std::vector<std::string> cells;
  for (size_t i = 0; i < line.size();) {
    const size_t gap = line.find("  ", i);
    cells.push_back(line.substr(i, gap - i));
    if (gap == std::string::npos) break;
    i = line.find_first_not_of(' ', gap);
  }
  return cells;
}

// --batch-size N: the plan's title says the batch, and its KV cache column holds N items.
TEST_F(PlanOnly, BatchSizeIsPrintedWithTheKvCacheOfThatManyItems) {
  const std::string args =
      "--model-dir " + sizes() + "/InternVL2-8B --placement balanced-1x80 --plan-only";
  const Result one = run(args), four = run(args + " --batch-size 4");
  ASSERT_EQ(one.rc, 0) << one.err;
  ASSERT_EQ(four.rc, 0) << four.err;
  EXPECT_NE(one.out.find(", batch 1 x 7936 positions"), std::string::npos) << one.out;
  EXPECT_NE(four.out.find(", batch 4 x 7936 positions"), std::string::npos) << four.out;
  const auto r1 = cuda0_row(one.out), r4 = cuda0_row(four.out);
  ASSERT_EQ(r1.size(), 8u) << one.out;
  ASSERT_EQ(r4.size(), 8u) << four.out;
  EXPECT_EQ(r1[2], r4[2]);   // weights
  EXPECT_EQ(r1[3], "0.97");  // 128 KiB x 7936 positions
  EXPECT_EQ(r4[3], "3.88");  // four items of it
  EXPECT_EQ(r1[4], r4[4]);   // activations: one prefill, one decode step
  // auto: the largest batch under the 76 GiB budget, said in a note.
  const Result a =
      run("--model-dir " + sizes() +
          "/InternVL2-Llama3-76B --placement balanced-2x80 --plan-only --batch-size auto");
  EXPECT_EQ(a.rc, 0) << a.err;
  EXPECT_NE(a.out.find("note: batch size auto: "), std::string::npos) << a.out;
  EXPECT_NE(a.out.find(" (of at most 32); "), std::string::npos) << a.out;
  EXPECT_EQ(a.out.find(", batch 1 x "), std::string::npos) << a.out;
  // A batch that does not fit: --plan-only says at which batch size and what to do.
  const Result big =
      run("--model-dir " + sizes() +
          "/InternVL2-Llama3-76B --placement balanced-2x80 --plan-only --batch-size 32");
  EXPECT_EQ(big.rc, 4) << big.err;
  EXPECT_NE(big.out.find("DOES NOT FIT at batch size 32 (the KV cache of 32 items): pass a "
                         "smaller --batch-size, or --batch-size auto for the largest that fits"),
            std::string::npos)
      << big.out;
}

// The device holding vision and the layers (balanced-1x80: all of InternVL2-8B on cuda:0) reserves
// the larger of their activations when vision runs eagerly (--no-cuda-graphs), and both when the
// next item's vision runs beside an item's layers (--overlap) or when vision's CUDA graphs keep
// their memory (the default); weights and KV cache stay.
TEST_F(PlanOnly, OverlapAndVisionGraphsReserveTheVisionActivationsBesideTheLayers) {
  const std::string args =
      "--model-dir " + sizes() + "/InternVL2-8B --placement balanced-1x80 --plan-only";
  const Result eager = run(args + " --no-cuda-graphs"),
               overlap = run(args + " --no-cuda-graphs --overlap"), graphs = run(args);
  ASSERT_EQ(eager.rc, 0) << eager.err;
  ASSERT_EQ(overlap.rc, 0) << overlap.err;
  ASSERT_EQ(graphs.rc, 0) << graphs.err;
  EXPECT_EQ(eager.out.find("overlap"), std::string::npos) << eager.out;
  EXPECT_EQ(eager.out.find("note: vision graphs: "), std::string::npos) << eager.out;
  EXPECT_NE(overlap.out.find(" tiles, overlap"), std::string::npos) << overlap.out;
  EXPECT_NE(overlap.out.find("note: overlap: "), std::string::npos) << overlap.out;
  EXPECT_NE(graphs.out.find("note: vision graphs: "), std::string::npos) << graphs.out;
  const auto e = cuda0_row(eager.out);
  ASSERT_EQ(e.size(), 8u) << eager.out;
  for (const Result* r : {&overlap, &graphs}) {
    const auto o = cuda0_row(r->out);
    ASSERT_EQ(o.size(), 8u) << r->out;
    EXPECT_EQ(o[2], e[2]);                        // weights
    EXPECT_EQ(o[3], e[3]);                        // KV cache
    EXPECT_GT(std::stod(o[4]), std::stod(e[4]));  // activations: vision + layers > the larger
  }
}

TEST_F(PlanOnly, BatchSizeOutOfRangeExitsTwoNamingTheOption) {
  for (const std::string bad : {"0", "33", "many"}) {
    const Result r =
        run("--model-dir " + sizes() + "/InternVL2-8B --plan-only --batch-size " + bad);
    EXPECT_EQ(r.rc, 2) << bad;
    EXPECT_EQ(r.err,
              "run: error: --batch-size must be auto or an integer in 1..32, got '" + bad + "'\n");
  }
}

// A model config's batch_size plans the batch; --batch-size wins over it; a bad one names the
// file and the key.
TEST_F(PlanOnly, AModelConfigsBatchSizeIsPlannedAndTheOptionWins) {
  fs::copy(testing::source_dir() / "configs", scratch_ / "configs", fs::copy_options::recursive);
  const fs::path models = scratch_ / "configs" / "models";
  const std::string head = "base: _internvl2.yaml\nname: Batched\nmodel_dir: InternVL2-8B\n" +
                           std::string("template: internlm2-chat\nplacement: balanced-1x80\n");
  const std::string args = "--configs " + (scratch_ / "configs").string() + " --model Batched" +
                           " --model-root " + sizes() + " --plan-only";
  std::ofstream(models / "Batched.yaml") << head << "batch_size: 4\n";
  Result r = run(args);
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find(", batch 4 x "), std::string::npos) << r.out;
  r = run(args + " --batch-size 2");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find(", batch 2 x "), std::string::npos) << r.out;
  std::ofstream(models / "Batched.yaml") << head << "batch_size: 0\n";
  r = run(args);
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_EQ(r.err, "run: error: " + (models / "Batched.yaml").string() +
                       ": batch_size must be auto or an integer in 1..32, got '0'\n");
}

// A run whose batch does not fit is refused before anything loads, with the plan's table, the
// batch size, and what to pass instead.
TEST_F(PlanOnly, ARunWhoseBatchDoesNotFitIsRefusedWithTheTable) {
  fs::create_directories(scratch_ / "LMUData");
  std::ofstream(scratch_ / "LMUData" / "Tiny.tsv") << "index\tquestion\tA\tB\tanswer\timage\n";
  const Result r = sh("LMUData=" + (scratch_ / "LMUData").string() + " " +
                          (testing::bin_dir() / "run").string() + " --model-dir " + sizes() +
                          "/InternVL2-Llama3-76B --placement balanced-2x80 --batch-size 32" +
                          " --data Tiny --work-dir " + (scratch_ / "o").string(),
                      scratch_);
  EXPECT_EQ(r.rc, 2) << r.err;
  EXPECT_NE(r.err.find("placement balanced-2x80 does not fit at batch size 32 (the KV cache of 32 "
                       "items): pass a smaller --batch-size, or --batch-size auto for the largest "
                       "that fits:\n"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(", batch 32 x "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("OVER by"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(scratch_ / "o")) << "refused before the run folder is made";
}

// Every shipped placement (configs/placements/*.yaml and examples/*.json) on four sizes, and
// `single` under --device cpu, printed by --plan-only: stdout, stderr and the exit code, with the
// source directory written as <src>, equal byte for byte to tests/run/golden/plan_only.txt (made
// by the planner before it was split into steps). VLM_WRITE_PLAN_GOLDEN=1 rewrites the file.
TEST_F(PlanOnly, EveryShippedPlacementPrintsItsGolden) {
  const fs::path dir = testing::source_dir() / "configs" / "placements";
  std::vector<std::string> placements;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".yaml") placements.push_back(e.path().stem().string());
  for (const auto& e : fs::directory_iterator(dir / "examples"))
    if (e.path().extension() == ".json")
      placements.push_back("examples/" + e.path().filename().string());
  std::sort(placements.begin(), placements.end());
  ASSERT_GE(placements.size(), 12u);
  std::vector<std::string> runs;
  for (const auto& p : placements)
    for (const char* m : {"InternVL2-2B", "InternVL2-8B", "InternVL2-40B", "InternVL2-Llama3-76B"})
      runs.push_back("--model-dir " + sizes() + "/" + m + " --placement " + p);
  runs.push_back("--model-dir " + sizes() + "/InternVL2-26B --placement single --device cpu");
  runs.push_back("--model InternVL2-8B --model-root " + sizes() +
                 " --placement seed-pins-balanced --data RealWorldQA");
  std::string got;
  const std::string src = testing::source_dir().string(), root = sizes();
  auto masked = [&](std::string s) {
    const std::vector<std::pair<std::string, std::string>> paths = {{root, "<sizes>"},
                                                                    {src, "<src>"}};
    for (const auto& [from, to] : paths)
      for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at))
        s.replace(at, from.size(), to);
    return s;
  };
  for (const auto& args : runs) {
    const Result r = run(args + " --plan-only");
    got += "=== " + masked(args) + "\n" + masked(r.out) + "--- stderr\n" + masked(r.err) +
           "--- rc " + std::to_string(r.rc) + "\n";
  }
  const fs::path golden = testing::source_dir() / "tests/run/golden/plan_only.txt";
  if (std::getenv("VLM_WRITE_PLAN_GOLDEN")) {
    fs::create_directories(golden.parent_path());
    std::ofstream(golden, std::ios::binary) << got;
    GTEST_SKIP() << "wrote " << golden;
  }
  const std::string want = testing::read_file(golden);
  ASSERT_FALSE(want.empty()) << golden << " is missing";
  EXPECT_EQ(got, want);
}

TEST_F(PlanOnly, ADeviceThisMachineLacksIsNamedBeforeLoading) {
  if (torch_cuda_device_count() >= 2) GTEST_SKIP() << "this machine has the devices";
  fs::create_directories(scratch_ / "LMUData");
  std::ofstream(scratch_ / "LMUData" / "Tiny.tsv") << "index\tquestion\tA\tB\tanswer\timage\n";
  Result r = sh(
      "LMUData=" + (scratch_ / "LMUData").string() + " " + (testing::bin_dir() / "run").string() +
          " --model-dir " + testing::tiny_model_dir().string() +
          " --placement balanced-2x80 --data Tiny --work-dir " + (scratch_ / "o").string(),
      scratch_);
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("placement puts "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("but this machine has"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("CUDA device(s)"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace vlm
