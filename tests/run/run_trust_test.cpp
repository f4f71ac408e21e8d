// `run` never gives a wrong result quietly and never loses what it was given (issue 17): images by
// path, the error boundary around the runtime, one writer per record file, no temporary copies,
// text that is not UTF-8, and the KV cache the plan counts.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <sstream>

#include "common/run_files.h"
#include "common/shell.h"
#include "common/test_paths.h"
#include "vlm/data/base64.h"
#include "vlm/results/run_journal.h"

namespace vlm {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

using testing::read_file;
using testing::Result;
using testing::run_folder;
using testing::sh;

// index -> prediction, from a run's records.
std::map<std::string, json> records_of(const fs::path& file) {
  std::map<std::string, json> out;
  std::istringstream lines(read_file(file));
  for (std::string line; std::getline(lines, line);) {
    json j = json::parse(line);
    out[j["index"].get<std::string>()] = j;
  }
  return out;
}

// A small PNG of one colour, base64-encoded as a TSV's image cell.
std::string png_b64(int b, int g, int r) {
  cv::Mat m(40, 56, CV_8UC3, cv::Scalar(b, g, r));
  std::vector<uchar> buf;
  cv::imencode(".png", m, buf);
  return base64_encode(std::string(buf.begin(), buf.end()));
}

class RunTrust : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("vlm_run_trust_" + std::to_string(getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "LMUData");
    fs::create_directories(root_ / "tmp");
  }
  void TearDown() override { fs::remove_all(root_); }

  // Three MCQ items with one image each, a custom dataset of `name`.
  void write_mcq(const std::string& name, const std::string& second_question = "Which colour?") {
    std::ofstream f(root_ / "LMUData" / (name + ".tsv"), std::ios::binary);
    f << "index\tquestion\tA\tB\tanswer\timage\n"
      << "0\tWhich colour?\tred\tblue\tA\t" << png_b64(0, 0, 255) << "\n"
      << "1\t" << second_question << "\tred\tblue\tB\t" << png_b64(255, 0, 0) << "\n"
      << "2\tWhich colour?\tgreen\tblue\tA\t" << png_b64(0, 255, 0) << "\n";
  }

  Result run(const std::string& args, const std::string& env = "",
             const std::string& work = "out") {
    return sh("TMPDIR=" + (root_ / "tmp").string() + " LMUData=" + (root_ / "LMUData").string() +
                  " " + env + " " + (testing::bin_dir() / "run").string() + " --model-dir " +
                  testing::tiny_model_dir().string() + " --work-dir " + (root_ / work).string() +
                  " --max-new-tokens 4 " + args,
              root_);
  }
  fs::path folder(const std::string& work = "out") const {
    return run_folder(root_ / work, "InternVL2-tiny");
  }

  fs::path root_;
};

// A LibTorch error inside a unit on item 2 of 3 is that item's recorded error, naming the unit and
// the device; items 1 and 3 are answered as in a run without the fault, and run.json says done.
TEST_F(RunTrust, UnitRuntimeErrorIsTheItemsErrorAndTheRunGoesOn) {
  write_mcq("Trust");
  Result clean = run("--data Trust", "", "clean");
  ASSERT_EQ(clean.rc, 0) << clean.err;
  Result r = run("--data Trust", "VLM_TEST_UNIT_FAULT=vision_model:2:torch");
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto want = records_of(folder("clean") / "InternVL2-tiny_Trust_records.jsonl");
  const auto got = records_of(folder() / "InternVL2-tiny_Trust_records.jsonl");
  ASSERT_EQ(got.size(), 3u);
  ASSERT_TRUE(got.at("1")["error"].is_string());
  const std::string error = got.at("1")["error"];
  EXPECT_EQ(error.rfind("Trust item 1 (row 2): runtime error on cpu in unit vision_model", 0), 0u)
      << error;
  EXPECT_NE(error.find("fault injected"), std::string::npos) << error;
  EXPECT_EQ(got.at("1")["hit"], 0);
  EXPECT_TRUE(got.at("1")["times_ms"].contains("total")) << got.at("1").dump();
  for (const char* i : {"0", "2"}) {
    EXPECT_TRUE(got.at(i)["error"].is_null()) << got.at(i).dump();
    EXPECT_EQ(got.at(i)["output_ids"], want.at(i)["output_ids"]) << i;
  }
  const json run_json = json::parse(read_file(folder() / "run.json"));
  EXPECT_EQ(run_json["ranks"]["0of1"]["status"], "done");
  // The failed item is tried again by the next run (as VLMEvalKit does), and then answered.
  Result again = run("--data Trust");
  ASSERT_EQ(again.rc, 0) << again.err;
  const auto after = records_of(folder() / "InternVL2-tiny_Trust_records.jsonl");
  EXPECT_TRUE(after.at("1")["error"].is_null());
  EXPECT_EQ(after.at("1")["output_ids"], want.at("1")["output_ids"]);
}

// Out of memory inside a unit: the item is tried once more after the cache is released, and
// answered as without the fault.
TEST_F(RunTrust, OutOfMemoryItemIsTriedAgainOnce) {
  write_mcq("Trust");
  Result clean = run("--data Trust", "", "clean");
  ASSERT_EQ(clean.rc, 0) << clean.err;
  Result r = run("--data Trust", "VLM_TEST_UNIT_FAULT=vision_model:2:oom");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find("out of memory on cpu in unit vision_model"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("trying it again"), std::string::npos) << r.err;
  const auto want = records_of(folder("clean") / "InternVL2-tiny_Trust_records.jsonl");
  const auto got = records_of(folder() / "InternVL2-tiny_Trust_records.jsonl");
  for (const char* i : {"0", "1", "2"}) {
    EXPECT_TRUE(got.at(i)["error"].is_null()) << got.at(i).dump();
    EXPECT_EQ(got.at(i)["output_ids"], want.at(i)["output_ids"]) << i;
  }
  EXPECT_EQ(read_file(folder() / "InternVL2-tiny_Trust_acc.csv"),
            read_file(folder("clean") / "InternVL2-tiny_Trust_acc.csv"));
}

// A harness bug on item 2 stops the run with exit 3: it is never recorded or scored as an answer,
// and run.json says failed with the message.
TEST_F(RunTrust, InternalErrorStopsTheRunWithExit3) {
  write_mcq("Trust");
  Result r = run("--data Trust", "VLM_TEST_UNIT_FAULT=vision_model:2:internal");
  EXPECT_EQ(r.rc, 3) << r.err;
  EXPECT_NE(r.err.find("fault injected"), std::string::npos) << r.err;
  const auto got = records_of(folder() / "InternVL2-tiny_Trust_records.jsonl");
  EXPECT_EQ(got.size(), 1u);
  EXPECT_EQ(got.count("1"), 0u);
  EXPECT_FALSE(fs::exists(folder() / "InternVL2-tiny_Trust_acc.csv"));
  const json run_json = json::parse(read_file(folder() / "run.json"));
  EXPECT_EQ(run_json["ranks"]["0of1"]["status"], "failed");
  EXPECT_NE(run_json["ranks"]["0of1"]["message"].get<std::string>().find("fault injected"),
            std::string::npos);
}

// A second run on the same folder and shard stops at once naming the process that holds it, and
// writes nothing; once that one is done, a run finishes the folder and its files equal an
// uninterrupted run's.
TEST_F(RunTrust, SecondRunOnOneFolderStopsNamingTheFirst) {
  write_mcq("Trust");
  Result clean = run("--data Trust", "", "clean");
  ASSERT_EQ(clean.rc, 0) << clean.err;
  const fs::path f = folder("clean");
  // The same folder name under another work dir: the date and commit decide it.
  const fs::path busy = root_ / "out" / "InternVL2-tiny" / f.filename();
  fs::create_directories(busy);
  {
    ShardWriterLock holder(busy, "0of1", "run --data Trust (the test)");
    Result second = run("--data Trust");
    EXPECT_EQ(second.rc, 2) << second.err;
    EXPECT_NE(second.err.find("another run is answering shard 0of1"), std::string::npos)
        << second.err;
    EXPECT_NE(second.err.find("pid " + std::to_string(getpid())), std::string::npos) << second.err;
    EXPECT_NE(second.err.find("(the test)"), std::string::npos) << second.err;
    EXPECT_FALSE(fs::exists(busy / "run.json"));
    EXPECT_FALSE(fs::exists(busy / "InternVL2-tiny_Trust_records.jsonl"));
  }
  Result after = run("--data Trust");
  ASSERT_EQ(after.rc, 0) << after.err;
  for (const char* name :
       {"InternVL2-tiny_Trust.xlsx", "InternVL2-tiny_Trust.tsv", "InternVL2-tiny_Trust_acc.csv",
        "InternVL2-tiny_Trust_exact_matching_result.xlsx"})
    EXPECT_TRUE(read_file(busy / name) == read_file(f / name)) << name;
}

// --limit reads a view of the dataset: nothing is written outside the run folder (the temporary
// directory stays empty), and the files cover the first N items.
TEST_F(RunTrust, LimitWritesNothingOutsideTheRunFolder) {
  write_mcq("Trust");
  Result r = run("--data Trust --limit 2");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(fs::is_empty(root_ / "tmp"));
  const std::string tsv = read_file(folder() / "InternVL2-tiny_Trust.tsv");
  EXPECT_EQ(std::count(tsv.begin(), tsv.end(), '\n'), 3) << tsv;  // header + 2 items
}

// A question with a byte that is not UTF-8: that row's error names the line, the column and the
// byte; the other items are answered and the run ends with rc 0.
TEST_F(RunTrust, NonUtf8QuestionIsThatRowsError) {
  write_mcq("Trust", std::string("Which colour\xFF?"));
  Result r = run("--data Trust");
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto got = records_of(folder() / "InternVL2-tiny_Trust_records.jsonl");
  ASSERT_EQ(got.size(), 3u);
  ASSERT_TRUE(got.at("1")["error"].is_string());
  const std::string error = got.at("1")["error"];
  EXPECT_NE(error.find("line 3"), std::string::npos) << error;
  EXPECT_NE(error.find("'question'"), std::string::npos) << error;
  EXPECT_NE(error.find("0xFF at byte offset 12"), std::string::npos) << error;
  EXPECT_TRUE(got.at("0")["error"].is_null());
  EXPECT_TRUE(got.at("2")["error"].is_null());
  const json run_json = json::parse(read_file(folder() / "run.json"));
  EXPECT_EQ(run_json["ranks"]["0of1"]["status"], "done");
}

// The plan counts the KV cache for the dataset's largest item with all its images, and that is
// what the session allocates: a three-image item, planned bytes = allocated bytes.
TEST_F(RunTrust, ThreeImageItemPlannedKvCacheIsWhatIsAllocated) {
  std::ofstream f(root_ / "LMUData" / "Three.tsv", std::ios::binary);
  f << "index\tquestion\tA\tB\tanswer\timage\n"
    << "0\tWhich colour?\tred\tblue\tA\t" << png_b64(0, 0, 255) << "\n"
    << "1\tWhich colour?\tred\tblue\tB\t['" << png_b64(255, 0, 0) << "', '" << png_b64(0, 255, 0)
    << "', '" << png_b64(0, 0, 255) << "']\n";
  f.close();
  Result r = run("--data Three");
  ASSERT_EQ(r.rc, 0) << r.err;
  const json j = json::parse(read_file(folder() / "run.json"));
  const json& dev = j["placement"]["devices"][0];
  const json& allocated = j["ranks"]["0of1"]["kv_cache_allocated_bytes"];
  ASSERT_TRUE(allocated.contains(dev["device"].get<std::string>())) << j["ranks"].dump();
  EXPECT_EQ(dev["kv_cache_bytes"], allocated[dev["device"].get<std::string>()]);
  // The three-image item decides it: more than one image's worth at the same tiles.
  std::ofstream(root_ / "LMUData" / "One.tsv", std::ios::binary)
      << "index\tquestion\tA\tB\tanswer\timage\n"
      << "0\tWhich colour?\tred\tblue\tA\t" << png_b64(0, 0, 255) << "\n";
  Result single =
      run("--data One --no-cuda-graphs --jit-optimize --cudnn-attention --prefill-bucket 64", "",
          "single");
  ASSERT_EQ(single.rc, 0) << single.err;
  const json s = json::parse(read_file(folder("single") / "run.json"));
  EXPECT_GT(dev["kv_cache_bytes"].get<int64_t>(),
            s["placement"]["devices"][0]["kv_cache_bytes"].get<int64_t>());
  // The execution flags reach the run and its record (on the CPU they change no result: decode
  // graphs exist only on CUDA devices, and the GPU tests hold graphs and eager to the same ids;
  // cuDNN's attention is a CUDA kernel: tests/gpu/attention_backend_test.cpp shows the switch;
  // a padded prefill gives the same ids and logits: tests/generate/prefill_bucket_test.cpp).
  EXPECT_EQ(j["model"]["cuda_graphs"], true);
  EXPECT_EQ(j["model"]["jit_optimize"], false);
  EXPECT_EQ(j["model"]["cudnn_attention"], false);
  EXPECT_EQ(j["model"]["prefill_bucket"], 0);
  EXPECT_EQ(s["model"]["cuda_graphs"], false);
  EXPECT_EQ(s["model"]["jit_optimize"], true);
  EXPECT_EQ(s["model"]["cudnn_attention"], true);
  EXPECT_EQ(s["model"]["prefill_bucket"], 64);
  Result bad = run("--data One --prefill-bucket 5000", "", "bad");
  EXPECT_NE(bad.rc, 0);
  EXPECT_NE(bad.err.find("--prefill-bucket"), std::string::npos) << bad.err;
}

// run.json records the batch size asked for and the one the plan resolved: on the CPU, where no
// device has a budget, auto is 1; a number is itself, with the KV cache of that many items.
TEST_F(RunTrust, RunJsonRecordsTheRequestedAndTheResolvedBatchSize) {
  write_mcq("Trust");
  Result r = run("--data Trust --device cpu --batch-size auto");
  ASSERT_EQ(r.rc, 0) << r.err;
  const json a = json::parse(read_file(folder() / "run.json"));
  EXPECT_EQ(a["model"]["batch_size"], json({{"requested", "auto"}, {"resolved", 1}}));
  EXPECT_EQ(a["placement"]["capacity"]["batch"], 1);
  r = run("--data Trust --device cpu --batch-size 3", "", "three");
  ASSERT_EQ(r.rc, 0) << r.err;
  const json t = json::parse(read_file(folder("three") / "run.json"));
  EXPECT_EQ(t["model"]["batch_size"], json({{"requested", "3"}, {"resolved", 3}}));
  EXPECT_EQ(t["placement"]["capacity"]["batch"], 3);
  EXPECT_EQ(t["placement"]["devices"][0]["kv_cache_bytes"].get<int64_t>(),
            3 * a["placement"]["devices"][0]["kv_cache_bytes"].get<int64_t>());
}

// VLMEvalKit's meta-only form of a dataset (image_path naming files under LMUData/images/{name},
// no image column) is answered with its images: the trained demo model gives the same predictions
// as on the embedded TSV, and scores 1.0 on both.
TEST(RunMetaOnly, DemoShapesByPathAnswersAsEmbedded) {
  const fs::path root = fs::temp_directory_path() / ("vlm_meta_only_" + std::to_string(getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "LMUData");
  const fs::path src = testing::source_dir() / "models" / "InternVL2-Demo";
  const std::string py = testing::python() + " " + testing::source_dir().string() + "/scripts/";
  ASSERT_EQ(
      std::system((py + "export_internvl2.py --checkpoint " + src.string() + " --out " +
                   (root / "model").string() + " --name InternVL2-Demo --dtype float32 >/dev/null")
                      .c_str()),
      0);
  fs::copy_file(src / "DemoShapes.tsv", root / "LMUData" / "DemoShapes.tsv");
  ASSERT_EQ(std::system((py + "make_meta_only_tsv.py --tsv " + (src / "DemoShapes.tsv").string() +
                         " --out " + (root / "LMUData").string() + " --name DemoMeta")
                            .c_str()),
            0);
  // The first 100 items (a third of the held-out set) keep the test short on a CPU.
  auto run = [&](const std::string& data) {
    return sh("LMUData=" + (root / "LMUData").string() + " " +
                  (testing::bin_dir() / "run").string() + " --model-dir " +
                  (root / "model").string() + " --work-dir " + (root / "out").string() +
                  " --limit 100 --quiet --data " + data,
              root);
  };
  Result embedded = run("DemoShapes");
  ASSERT_EQ(embedded.rc, 0) << embedded.err;
  Result by_path = run("DemoMeta");
  ASSERT_EQ(by_path.rc, 0) << by_path.err;
  const fs::path f = run_folder(root / "out", "InternVL2-Demo");
  const auto a = records_of(f / "InternVL2-Demo_DemoShapes_records.jsonl");
  const auto b = records_of(f / "InternVL2-Demo_DemoMeta_records.jsonl");
  ASSERT_EQ(a.size(), 100u);
  ASSERT_EQ(b.size(), 100u);
  size_t same = 0;
  for (const auto& [index, rec] : a) {
    EXPECT_TRUE(b.at(index)["error"].is_null()) << b.at(index).dump();
    EXPECT_EQ(b.at(index)["tiles_per_image"], rec["tiles_per_image"]) << index;
    same += b.at(index)["prediction"] == rec["prediction"];
  }
  EXPECT_EQ(same, 100u);
  const std::string acc_a = read_file(f / "InternVL2-Demo_DemoShapes_acc.csv");
  const std::string acc_b = read_file(f / "InternVL2-Demo_DemoMeta_acc.csv");
  EXPECT_NE(acc_a.find("\"none\",\"1.0\""), std::string::npos) << acc_a;
  EXPECT_EQ(acc_a, acc_b);
  fs::remove_all(root);
}

}  // namespace
}  // namespace vlm
