// The `compare` library (lib/src/report) and app on run folders written by hand in a temp dir;
// every expected number below is computed by hand from the files the test writes.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <sstream>

#include "common/read_file.h"
#include "common/test_paths.h"
#include "common/user_error.h"
#include "vlm/report/comparison_chart.h"
#include "vlm/report/comparison_table.h"
#include "vlm/report/run_comparison.h"
#include "vlm/report/run_folder.h"
#include "vlm/report/score_cells.h"
#include "vlm/results/result_table.h"

namespace vlm {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using testing::read_file;
using testing::user_error;

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary);
  out << text;
}

// One record line as `run` writes it (ItemRecord::to_json's keys).
std::string record(const std::string& index, size_t row, const std::string& prediction,
                   const json& times) {
  json j = {{"index", index},
            {"row", row},
            {"prompt", "q"},
            {"tiles_per_image", {1}},
            {"input_tokens", 10},
            {"output_ids", {1, 2}},
            {"prediction", prediction},
            {"extracted", ""},
            {"hit", nullptr},
            {"log", ""},
            {"error", nullptr},
            {"times_ms", times}};
  return j.dump() + "\n";
}

const char* kTsvHeader =
    "\"index\"\t\"question\"\t\"A\"\t\"B\"\t\"answer\"\t\"category\"\t\"prediction\"\n";

// DS1 predictions: index 1..4; the third is multi-line with quotes; the fourth is NA.
std::string ds1_tsv(const std::string& pred2) {
  return std::string(kTsvHeader) + "\"1\"\t\"q1\"\t\"x\"\t\"y\"\t\"A\"\t\"cat1\"\t\"A\"\n" +
         "\"2\"\t\"q2\"\t\"x\"\t\"y\"\t\"B\"\t\"cat1\"\t\"" + pred2 + "\"\n" +
         "\"3\"\t\"q3\"\t\"x\"\t\"y\"\t\"A\"\t\"cat2\"\t\"line1\nline \"\"two\"\"\"\n" +
         "\"4\"\t\"q4\"\t\"x\"\t\"y\"\t\"B\"\t\"cat2\"\t\"\"\n";
}

class Compare : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("vlm_compare_" + std::to_string(getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    a_ = root_ / "wa" / "M" / "T20260101_G11111111";
    b_ = root_ / "wb" / "M" / "T20260102_G22222222";

    // Run A: DS1 (acc csv, records with times, no items_per_s in run.json), DS2 (records only,
    // scores as run.json rows, records without times). Peak memory at the top level.
    json ra = {{"argv", {"run"}},
               {"commit", "1111111111111111"},
               {"model", {{"name", "M"}}},
               {"placement",
                {{"config", "single"},
                 {"strategy", "balanced"},
                 {"devices",
                  {{{"device", "cuda:0"}, {"total_bytes", 2147483648LL}},
                   {{"device", "cpu"}, {"total_bytes", 1048576}}}}}},
               {"peak_memory_bytes", {{"cuda:0", 1073741824LL}}},
               {"ranks", {{"0of1", {{"peak_memory_bytes", {{"cpu", 5242880}}}}}}},
               {"datasets",
                {{"DS1", {{"items", 4}}},
                 {"DS2", {{"items", 3}, {"scores", {{{"split", "none"}, {"Overall", 0.5}}}}}}}}};
    write(a_ / "run.json", ra.dump(2));
    write(a_ / "M_DS1.tsv", ds1_tsv("B"));
    write(a_ / "M_DS1_acc.csv",
          "\"split\",\"Overall\",\"cat1\",\"cat2\"\n\"none\",\"0.75\",\"1.0\",\"0.5\"\n");
    // 2 timed items: 100 + 300 ms total -> 5 items/s; vision (40+100)/2, decode (60+200)/2. The
    // unfinished last line (a run still writing) is not counted and the file is left as it is.
    a_records_ = record("1", 0, "A", {{"vision", 40}, {"decode", 60}, {"total", 100}}) +
                 record("2", 1, "B", {{"vision", 100}, {"decode", 200}, {"total", 300}}) +
                 record("3", 2, "x", json::object()) + record("4", 3, "", json::object()) +
                 "{\"index\": \"5\", \"row\": 4, \"times_ms\": {\"total\": 10";
    write(a_ / "M_DS1_records.jsonl", a_records_);
    write(a_ / "M_DS2_records.jsonl", record("a", 0, "yes", json::object()) +
                                          record("b", 1, "no", json::object()) +
                                          record("c", 2, "yes", json::object()));

    // Run B: DS1 with item 2 answered "A" and items/s from two shards in run.json (5 + 7.5), DS2
    // with items b, c, d (c differs) in two shards' record files, DS3 (only here). Peaks per
    // dataset (largest wins), placement on cuda:0 only.
    json rb = {{"argv", {"run"}},
               {"commit", "2222222222222222"},
               {"model", {{"name", "M"}}},
               {"placement",
                {{"config", "balanced-2x80"},
                 {"strategy", "balanced"},
                 {"devices", {{{"device", "cuda:0"}, {"total_bytes", 3221225472LL}}}}}},
               {"datasets",
                {{"DS1",
                  {{"items", 4},
                   {"shards", {{"0of2", {{"items_per_s", 5.0}}}, {"1of2", {{"items_per_s", 7.5}}}}},
                   {"peak_memory_bytes", {{{"device", "cuda:0"}, {"bytes", 100}}}}}},
                 {"DS2",
                  {{"items", 3},
                   {"scores", {{{"split", "none"}, {"Overall", 1.0}}}},
                   {"peak_memory_bytes", {{"cuda:0", 200}}}}},
                 {"DS3", {{"items", 1}}}}}};
    write(b_ / "run.json", rb.dump(2));
    write(b_ / "M_DS1.tsv", ds1_tsv("A"));
    write(b_ / "M_DS1_acc.csv",
          "\"split\",\"Overall\",\"cat1\",\"cat2\"\n\"none\",\"0.5\",\"0.5\",\"0.5\"\n");
    write(b_ / "M_DS2_records.shard0of2.jsonl",
          record("b", 0, "no", json::object()) + record("d", 2, "yes", json::object()));
    write(b_ / "M_DS2_records.shard1of2.jsonl", record("c", 1, "no", json::object()));
  }
  void TearDown() override { fs::remove_all(root_); }

  // A copy of run A under another work dir (an identical rerun).
  fs::path copy_of_a() {
    const fs::path c = root_ / "wc" / "M" / "T20260103_G33333333";
    fs::create_directories(c.parent_path());
    fs::copy(a_, c, fs::copy_options::recursive);
    return c;
  }

  RunComparison compare_ab(const CompareOptions& o = {}) {
    return compare_runs({RunFolder::open(a_), RunFolder::open(b_)}, o);
  }

  fs::path root_, a_, b_;
  std::string a_records_;
};

TEST_F(Compare, RunFolderReadsIdentityAndMemory) {
  const RunFolder a = RunFolder::open(a_);
  EXPECT_EQ(a.label, "M/T20260101_G11111111");
  EXPECT_EQ(a.model, "M");
  EXPECT_EQ(a.placement, "single");
  EXPECT_EQ(a.strategy, "balanced");
  EXPECT_EQ(a.datasets, (std::vector<std::string>{"DS1", "DS2"}));
  ASSERT_EQ(a.memory.size(), 2u);
  EXPECT_EQ(a.memory[0].device, "cuda:0");
  EXPECT_EQ(a.memory[0].planned_bytes, 2147483648LL);
  EXPECT_EQ(a.memory[0].peak_bytes, 1073741824LL);
  EXPECT_EQ(a.memory[1].device, "cpu");
  EXPECT_EQ(a.memory[1].peak_bytes, 5242880);  // from ranks.0of1

  const RunFolder b = RunFolder::open(b_, "two GPUs");
  EXPECT_EQ(b.label, "two GPUs");
  ASSERT_EQ(b.memory.size(), 1u);
  EXPECT_EQ(b.memory[0].peak_bytes, 200);  // the larger of the datasets' peaks
}

TEST_F(Compare, AgreementCountsAndDifferences) {
  const RunComparison c = compare_ab();
  ASSERT_EQ(c.datasets.size(), 2u);
  EXPECT_EQ(c.skipped_datasets, (std::vector<std::string>{"DS3"}));
  EXPECT_EQ(c.devices, (std::vector<std::string>{"cuda:0", "cpu"}));

  const DatasetComparison& d1 = c.datasets[0];
  EXPECT_EQ(d1.dataset, "DS1");
  ASSERT_EQ(d1.agreement.size(), 1u);
  const Agreement& g1 = d1.agreement[0];
  EXPECT_EQ(g1.compared, 4u);
  EXPECT_EQ(g1.identical, 3u);  // 1, the multi-line 3, the NA 4
  EXPECT_EQ(g1.differing, 1u);
  EXPECT_EQ(g1.differing_indices, (std::vector<std::string>{"2"}));
  ASSERT_EQ(g1.first_differences.size(), 1u);
  EXPECT_EQ(g1.first_differences[0].index, "2");
  EXPECT_EQ(g1.first_differences[0].baseline, "B");
  EXPECT_EQ(g1.first_differences[0].other, "A");
  EXPECT_EQ(d1.outputs[0].predictions[2].second, "line1\nline \"two\"");

  const Agreement& g2 = c.datasets[1].agreement[0];  // DS2 from the record files
  EXPECT_EQ(g2.compared, 2u);
  EXPECT_EQ(g2.identical, 1u);
  EXPECT_EQ(g2.differing_indices, (std::vector<std::string>{"c"}));
  EXPECT_EQ(g2.only_in_baseline, (std::vector<std::string>{"a"}));
  EXPECT_EQ(g2.only_in_other, (std::vector<std::string>{"d"}));
  EXPECT_EQ(c.datasets[1].in_all, 2u);
  EXPECT_EQ(c.datasets[1].all_agree, 1u);

  EXPECT_FALSE(c.identical());
  const std::string summary = c.difference_summary();
  EXPECT_NE(summary.find("DS1: M/T20260102_G22222222 vs M/T20260101_G11111111: 1 of 4 "
                         "predictions differ (index 2)"),
            std::string::npos)
      << summary;
  EXPECT_NE(summary.find("1 items missing from M/T20260102_G22222222 (index a)"), std::string::npos)
      << summary;
}

TEST_F(Compare, ScoreDeltasSpeedAndStages) {
  const RunComparison c = compare_ab();
  const DatasetComparison& d1 = c.datasets[0];
  ASSERT_EQ(d1.scores.size(), 3u);
  const double expect[3][3] = {{0.75, 0.5, -0.25}, {1.0, 0.5, -0.5}, {0.5, 0.5, 0.0}};
  const char* metrics[3] = {"Overall", "cat1", "cat2"};
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(d1.scores[k].split, "none");
    EXPECT_EQ(d1.scores[k].metric, metrics[k]);
    EXPECT_DOUBLE_EQ(*d1.scores[k].values[0], expect[k][0]);
    EXPECT_DOUBLE_EQ(*d1.scores[k].values[1], expect[k][1]);
    EXPECT_DOUBLE_EQ(*d1.scores[k].deltas[1], expect[k][2]);
  }
  EXPECT_DOUBLE_EQ(*d1.overall[0], 0.75);
  EXPECT_DOUBLE_EQ(*c.datasets[1].overall[1], 1.0);  // DS2: run.json rows

  EXPECT_DOUBLE_EQ(*d1.outputs[0].items_per_s, 5.0);
  EXPECT_EQ(d1.outputs[0].items_per_s_source, "records");
  EXPECT_DOUBLE_EQ(*d1.outputs[1].items_per_s, 12.5);
  EXPECT_EQ(d1.outputs[1].items_per_s_source, "run.json");
  EXPECT_EQ(d1.outputs[0].timed_items, 2u);
  EXPECT_DOUBLE_EQ(d1.outputs[0].ms_per_stage.at("vision"), 70.0);
  EXPECT_DOUBLE_EQ(d1.outputs[0].ms_per_stage.at("decode"), 130.0);
  EXPECT_DOUBLE_EQ(d1.outputs[0].ms_per_stage.at("total"), 200.0);
  EXPECT_EQ(d1.stages, (std::vector<std::string>{"vision", "decode", "total"}));
  EXPECT_FALSE(c.datasets[1].outputs[0].items_per_s.has_value());  // DS2: no times anywhere
  EXPECT_EQ(read_file(a_ / "M_DS1_records.jsonl"), a_records_);    // read, never changed
}

TEST_F(Compare, JsonHoldsTheHandComputedValues) {
  const json j = compare_ab({{}, 5}).to_json();
  EXPECT_EQ(j["identical"], false);
  EXPECT_EQ(j["baseline"], "M/T20260101_G11111111");
  ASSERT_EQ(j["runs"].size(), 2u);
  EXPECT_EQ(j["runs"][1]["placement"], "balanced-2x80");
  const json& d1 = j["datasets"][0];
  EXPECT_EQ(d1["name"], "DS1");
  EXPECT_EQ(d1["agreement"][0]["compared"], 4);
  EXPECT_EQ(d1["agreement"][0]["identical"], 3);
  EXPECT_EQ(d1["agreement"][0]["differing"], 1);
  EXPECT_EQ(d1["agreement"][0]["first_differences"][0],
            json({{"index", "2"}, {"baseline", "B"}, {"other", "A"}}));
  EXPECT_EQ(d1["scores"][0]["metric"], "Overall");
  EXPECT_DOUBLE_EQ(d1["scores"][0]["deltas"][1].get<double>(), -0.25);
  EXPECT_DOUBLE_EQ(d1["speed"]["items_per_s"][0].get<double>(), 5.0);
  EXPECT_DOUBLE_EQ(d1["speed"]["ms_per_item"]["vision"][0].get<double>(), 70.0);
  EXPECT_TRUE(d1["speed"]["ms_per_item"]["vision"][1].is_null());
  const json& d2 = j["datasets"][1];
  EXPECT_EQ(d2["agreement"][0]["only_in_baseline"], json({"a"}));
  EXPECT_EQ(d2["agreement"][0]["only_in_run"], json({"d"}));
  EXPECT_EQ(j["skipped_datasets"], json({"DS3"}));
  EXPECT_EQ(j["memory"][0]["device"], "cuda:0");
  EXPECT_EQ(j["memory"][0]["planned_bytes"], json({2147483648LL, 3221225472LL}));
  EXPECT_EQ(j["memory"][0]["peak_bytes"], json({1073741824LL, 200}));
  EXPECT_EQ(j["memory"][1]["planned_bytes"], json({1048576, nullptr}));
  EXPECT_EQ(j["memory"][1]["peak_bytes"], json({5242880, nullptr}));
}

TEST_F(Compare, TableShowsRunsDifferencesAndMemory) {
  const std::string t = comparison_table(compare_ab());
  EXPECT_NE(t.find("[1]  M/T20260102_G22222222  model M  placement balanced-2x80 (balanced)"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("[1] index 2: [0] \"B\" | [1] \"A\""), std::string::npos) << t;
  EXPECT_NE(t.find("Overall  0.7500  0.5000 (-0.2500)"), std::string::npos) << t;
  EXPECT_NE(t.find("items/s         5.000 *  12.500"), std::string::npos) << t;
  EXPECT_NE(t.find("cuda:0  2.00 GiB / 1.00 GiB  3.00 GiB / 0.0 MiB"), std::string::npos) << t;
  EXPECT_NE(t.find("predictions: NOT identical"), std::string::npos) << t;
}

TEST_F(Compare, IdenticalRerunAndOneChangedPrediction) {
  const fs::path c = copy_of_a();
  EXPECT_TRUE(compare_runs({RunFolder::open(a_), RunFolder::open(c)}).identical());
  write(c / "M_DS1.tsv", ds1_tsv("C"));
  const RunComparison r = compare_runs({RunFolder::open(a_), RunFolder::open(c)});
  EXPECT_FALSE(r.identical());
  EXPECT_EQ(r.datasets[0].agreement[0].differing_indices, (std::vector<std::string>{"2"}));
  EXPECT_EQ(r.datasets[1].agreement[0].differing, 0u);
}

TEST_F(Compare, ChartBarsFollowTheValues) {
  const fs::path png = root_ / "chart.png";
  const std::vector<ChartBar> bars = write_comparison_chart(compare_ab(), png);
  const cv::Mat img = cv::imread(png.string(), cv::IMREAD_COLOR);
  ASSERT_FALSE(img.empty());
  EXPECT_EQ(img.cols, 1200);
  EXPECT_EQ(img.rows, 600);

  auto bar = [&](const std::string& panel, size_t dataset, size_t run) -> const ChartBar* {
    for (const ChartBar& b : bars)
      if (b.panel == panel && b.dataset == dataset && b.run == run) return &b;
    return nullptr;
  };
  // Scores: axis 0..1. DS1 0.75 vs 0.5, DS2 0.5 vs 1.0.
  const ChartBar *s10 = bar("score", 0, 0), *s11 = bar("score", 0, 1), *s20 = bar("score", 1, 0),
                 *s21 = bar("score", 1, 1);
  ASSERT_TRUE(s10 && s11 && s20 && s21);
  EXPECT_NEAR(static_cast<double>(s10->height) / s11->height, 0.75 / 0.5, 0.03);
  EXPECT_NEAR(static_cast<double>(s21->height) / s20->height, 2.0, 0.03);
  EXPECT_EQ(s11->height, s20->height);                    // both 0.5
  EXPECT_EQ(s10->y + s10->height, s21->y + s21->height);  // one baseline
  // items/s: DS1 5 (records) vs 12.5 (run.json); DS2 has none (n/a, no bar).
  const ChartBar *v0 = bar("items_per_s", 0, 0), *v1 = bar("items_per_s", 0, 1);
  ASSERT_TRUE(v0 && v1);
  EXPECT_NEAR(static_cast<double>(v0->height) / v1->height, 5.0 / 12.5, 0.02);
  EXPECT_EQ(bar("items_per_s", 1, 0), nullptr);
  EXPECT_EQ(bar("items_per_s", 1, 1), nullptr);
  // The bars are drawn in their run's colour (sampled inside, off the edges) and the left and
  // right panels do not overlap.
  for (const ChartBar& b : bars) {
    unsigned char bgr[3];
    chart_run_colour(b.run, bgr);
    const cv::Vec3b px = img.at<cv::Vec3b>(b.y + b.height - 2, b.x + b.width / 2);
    EXPECT_EQ(px, cv::Vec3b(bgr[0], bgr[1], bgr[2])) << b.panel << " " << b.dataset << " " << b.run;
    if (b.panel == "score") {
      EXPECT_LT(b.x + b.width, 600);
    } else {
      EXPECT_GE(b.x, 600);
    }
  }
  unsigned char c0[3], c1[3];
  chart_run_colour(0, c0);
  chart_run_colour(1, c1);
  EXPECT_NE(cv::Vec3b(c0[0], c0[1], c0[2]), cv::Vec3b(c1[0], c1[1], c1[2]));
}

TEST_F(Compare, ChartSizeAndUnwritablePath) {
  const RunComparison c = compare_ab();
  write_comparison_chart(c, root_ / "small.png", {400, 300});
  const cv::Mat img = cv::imread((root_ / "small.png").string());
  EXPECT_EQ(img.cols, 400);
  EXPECT_EQ(img.rows, 300);
  EXPECT_NE(user_error([&] {
              write_comparison_chart(c, root_ / "no" / "such" / "c.png");
            }).find((root_ / "no" / "such" / "c.png").string()),
            std::string::npos);
  EXPECT_NE(user_error([&] {
              write_comparison_chart(c, root_ / "c.png", {100, 100});
            }).find("below the minimum"),
            std::string::npos);
}

TEST_F(Compare, BadInputNamesTheFile) {
  // A folder without run.json.
  fs::create_directories(root_ / "empty");
  EXPECT_NE(user_error([&] {
              RunFolder::open(root_ / "empty");
            }).find((root_ / "empty" / "run.json").string() + " not found"),
            std::string::npos);
  EXPECT_NE(user_error([&] { RunFolder::open(root_ / "missing"); }).find("does not exist"),
            std::string::npos);
  // run.json that is not JSON.
  const fs::path c = copy_of_a();
  write(c / "run.json", "{\"datasets\": ");
  EXPECT_NE(
      user_error([&] { RunFolder::open(c); }).find((c / "run.json").string() + ": not valid JSON"),
      std::string::npos);
  // A number out of double's range is a parse error too (json::out_of_range, not parse_error).
  write(c / "run.json", "{\"items_per_s\": 1e999}");
  EXPECT_NE(
      user_error([&] { RunFolder::open(c); }).find((c / "run.json").string() + ": not valid JSON"),
      std::string::npos);
  write(c / "run.json", "{\"model\": {\"name\": \"M\"}}");
  EXPECT_NE(user_error([&] { RunFolder::open(c); }).find("no `datasets` object"),
            std::string::npos);
  fs::remove_all(c);

  // A predictions .tsv without the prediction column.
  const fs::path d = copy_of_a();
  write(d / "M_DS1.tsv", "\"index\"\t\"answer\"\n\"1\"\t\"A\"\n");
  EXPECT_NE(user_error([&] {
              compare_runs({RunFolder::open(a_), RunFolder::open(d)});
            }).find((d / "M_DS1.tsv").string() + ": no `prediction` column"),
            std::string::npos);
  // A corrupt record line.
  write(d / "M_DS1.tsv", ds1_tsv("B"));
  write(d / "M_DS2_records.jsonl", record("a", 0, "yes", json::object()) + "{oops\n");
  EXPECT_NE(user_error([&] {
              compare_runs({RunFolder::open(a_), RunFolder::open(d)});
            }).find((d / "M_DS2_records.jsonl").string() + ":2: corrupt record"),
            std::string::npos);
  // Neither predictions file.
  fs::remove(d / "M_DS2_records.jsonl");
  ASSERT_FALSE(fs::exists(d / "M_DS2.tsv"));
  EXPECT_NE(user_error([&] {
              compare_runs({RunFolder::open(a_), RunFolder::open(d)});
            }).find("neither M_DS2.tsv nor M_DS2_records.jsonl exists"),
            std::string::npos);
  // A score cell that is not a number.
  write(d / "M_DS2_records.jsonl", record("a", 0, "yes", json::object()));
  write(d / "M_DS1_acc.csv", "\"split\",\"Overall\"\n\"none\",\"high\"\n");
  EXPECT_NE(user_error([&] {
              compare_runs({RunFolder::open(a_), RunFolder::open(d)});
            }).find((d / "M_DS1_acc.csv").string() + ": record 2, column Overall: `high`"),
            std::string::npos);
}

// VLMEvalKit's own folders (no run.json): the classic T{date}_G{hash}/ with {model}_{data}.xlsx
// and a VQA-style _acc.csv ("Overall" alone) beside its evaluation files, and the newer
// T{date}-{time}/ with PRED_FORMAT=tsv predictions and EVAL_FORMAT=json scores.
TEST_F(Compare, VlmevalkitFoldersBesideTheHarness) {
  const fs::path vk = root_ / "vk" / "M" / "T20241227_G0eef2a64";
  fs::create_directories(vk);
  ResultTable t;
  t.add_column("index", true);
  t.add_column("question");
  t.add_column("prediction");
  t.add_row({"1", "q1", "A"});
  t.add_row({"2", "q2", "A"});
  t.add_row({"3", "q3", "line1\nline \"two\""});
  t.add_row({"4", "q4", std::nullopt});
  t.write_xlsx(vk / "M_DS1.xlsx");
  t.write_xlsx(vk / "M_DS1_results.xlsx");  // an evaluation file, not a dataset
  write(vk / "M_DS1_acc.csv", "\"Overall\"\n\"0.25\"\n");
  write(vk / "01_DS1.pkl", "x");

  const RunFolder v = RunFolder::open(vk);
  EXPECT_EQ(v.layout, "vlmevalkit");
  EXPECT_EQ(v.model, "M");
  EXPECT_EQ(v.commit, "0eef2a64");
  EXPECT_EQ(v.label, "M/T20241227_G0eef2a64");
  EXPECT_EQ(v.datasets, std::vector<std::string>{"DS1"});

  CompareOptions o;
  o.datasets = {"DS1"};
  const RunComparison r = compare_runs({RunFolder::open(a_), v}, o);
  ASSERT_EQ(r.datasets.size(), 1u);
  const DatasetComparison& d = r.datasets[0];
  ASSERT_EQ(d.agreement.size(), 1u);
  EXPECT_EQ(d.agreement[0].compared, 4u);
  EXPECT_EQ(d.agreement[0].identical, 3u);
  EXPECT_EQ(d.agreement[0].differing_indices, std::vector<std::string>{"2"});
  ASSERT_TRUE(d.overall[1].has_value());
  EXPECT_DOUBLE_EQ(*d.overall[1], 0.25);
  for (const ScoreRow& row : d.scores) {
    if (row.metric == "Overall") {
      ASSERT_TRUE(row.deltas[1].has_value());
      EXPECT_DOUBLE_EQ(*row.deltas[1], -0.5);
    }
  }

  // The model folder itself, holding the links, reads the same way.
  fs::create_symlink(vk / "M_DS1.xlsx", vk.parent_path() / "M_DS1.xlsx");
  const RunFolder links = RunFolder::open(vk.parent_path());
  EXPECT_EQ(links.model, "M");
  EXPECT_EQ(links.datasets, std::vector<std::string>{"DS1"});

  const fs::path vn = root_ / "vn" / "M" / "T20260409-101010";
  write(vn / "M_DS2.tsv",
        "\"index\"\t\"question\"\t\"prediction\"\n\"a\"\t\"q\"\t\"yes\"\n\"b\"\t\"q\"\t\"no\"\n"
        "\"c\"\t\"q\"\t\"no\"\n");
  write(vn / "M_DS2_acc.json", "[\n    {\n        \"Overall\": 0.9\n    }\n]");
  o.datasets = {"DS2"};
  const RunComparison n = compare_runs({RunFolder::open(a_), RunFolder::open(vn)}, o);
  EXPECT_EQ(n.runs[1].commit, "");
  EXPECT_EQ(n.datasets[0].agreement[0].differing_indices, std::vector<std::string>{"c"});
  EXPECT_DOUBLE_EQ(*n.datasets[0].overall[1], 0.9);
}

TEST_F(Compare, DatasetsNotSharedAndRunCount) {
  const fs::path only3 = root_ / "wd" / "M" / "T20260104_G44444444";
  write(only3 / "run.json", json({{"datasets", {{"DS3", json::object()}}}}).dump());
  const std::string msg = user_error([&] {
    compare_runs({RunFolder::open(a_), RunFolder::open(only3)});
  });
  EXPECT_NE(msg.find("share no dataset"), std::string::npos) << msg;
  EXPECT_NE(msg.find((a_ / "run.json").string() + ": DS1, DS2"), std::string::npos) << msg;
  EXPECT_NE(msg.find((only3 / "run.json").string() + ": DS3"), std::string::npos) << msg;

  EXPECT_NE(user_error([&] {
              compare_ab({{"DS3"}, 5});
            }).find((a_ / "run.json").string() + ": run M/T20260101_G11111111 has no dataset DS3"),
            std::string::npos);
  EXPECT_NE(user_error([&] { compare_runs({RunFolder::open(a_)}); }).find("at least two"),
            std::string::npos);
  EXPECT_NE(user_error([&] {
              compare_runs({RunFolder::open(a_), RunFolder::open(a_)});
            }).find("same label"),
            std::string::npos);
}

// Two runs of one model on the same day at the same commit under two work dirs have the same run
// folder names, so the same folder labels (M/T20260101_G11111111), which compare refused: their
// labels take the folders above until they differ.
TEST_F(Compare, RunsWhoseFolderNamesCoincideAreLabelledByTheirPaths) {
  const fs::path again = root_ / "wx" / "M" / "T20260101_G11111111";
  fs::create_directories(again.parent_path());
  fs::copy(a_, again, fs::copy_options::recursive);
  ASSERT_EQ(RunFolder::open(again).label, RunFolder::open(a_).label);

  const RunComparison c =
      compare_runs({RunFolder::open(a_), RunFolder::open(again), RunFolder::open(b_)});
  EXPECT_EQ(c.runs[0].label, "wa/M/T20260101_G11111111");
  EXPECT_EQ(c.runs[1].label, "wx/M/T20260101_G11111111");
  EXPECT_EQ(c.runs[2].label, "M/T20260102_G22222222");  // no clash: as before
  EXPECT_EQ(c.datasets[0].agreement[0].differing, 0u);  // the copy agrees with a_

  // --label ones are kept as given.
  const RunComparison named =
      compare_runs({RunFolder::open(a_, "first"), RunFolder::open(again, "second")});
  EXPECT_EQ(named.runs[0].label, "first");
  EXPECT_EQ(named.runs[1].label, "second");
}

TEST(ScoreCells, AccCsvAndRunJsonShapes) {
  const fs::path p = fs::temp_directory_path() / ("vlm_acc_" + std::to_string(getpid()) + ".csv");
  // pandas QUOTE_ALL with a comma and a quote inside a name, an NA cell, two splits.
  write(p,
        "\"split\",\"Overall\",\"a, "
        "\"\"b\"\"\"\r\n\"dev\",\"0.5\",\"\"\r\n\"test\",\"1e-05\",\"1.0\"\r\n");
  const std::vector<ScoreCell> cells = read_acc_csv(p);
  fs::remove(p);
  ASSERT_EQ(cells.size(), 4u);
  EXPECT_EQ(cells[1].metric, "a, \"b\"");
  EXPECT_TRUE(std::isnan(cells[1].value));
  EXPECT_EQ(cells[2].split, "test");
  EXPECT_DOUBLE_EQ(cells[2].value, 1e-05);
  EXPECT_DOUBLE_EQ(*overall_score(cells), 0.5);  // no "none" split: the first with Overall

  const auto flat = score_cells_from_json(
      json::parse(R"({"Overall": 0.8, "perception": {"acc": 0.7, "acc+": null}, "note": "x"})"),
      "w");
  ASSERT_EQ(flat.size(), 3u);
  EXPECT_EQ(flat[0].metric, "Overall");
  EXPECT_EQ(flat[1].metric, "perception/acc");
  EXPECT_TRUE(std::isnan(flat[2].value));
  EXPECT_DOUBLE_EQ(*overall_score(flat), 0.8);
  EXPECT_NE(user_error([] {
              score_cells_from_json(json("x"), "run.json: datasets.D.scores");
            }).find("run.json: datasets.D.scores"),
            std::string::npos);
}

// ---- the `compare` executable ------------------------------------------------------------------

struct Result {
  int rc = -1;
  std::string out, err;
};

class CompareApp : public Compare {
 protected:
  Result compare(const std::string& args) {
    const fs::path exe = testing::bin_dir() / "compare";
    if (!fs::exists(exe)) return {};
    const fs::path out = root_ / "stdout.txt", err = root_ / "stderr.txt";
    const int status = std::system(
        (exe.string() + " " + args + " >" + out.string() + " 2>" + err.string()).c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_file(out), read_file(err)};
  }
  void SetUp() override {
    Compare::SetUp();
    if (!fs::exists(testing::bin_dir() / "compare"))
      GTEST_SKIP() << "the compare app is not built (a VLM_ONLY_AREAS build)";
  }
};

TEST_F(CompareApp, ExpectIdenticalPassesThenFailsOnOneChangedPrediction) {
  const fs::path c = copy_of_a();
  Result r = compare(a_.string() + " " + c.string() + " --expect-identical");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("predictions: identical in every run"), std::string::npos) << r.out;

  write(c / "M_DS2_records.jsonl", record("a", 0, "yes", json::object()) +
                                       record("b", 1, "yes", json::object()) +
                                       record("c", 2, "yes", json::object()));
  r = compare(a_.string() + " " + c.string() + " --expect-identical --label base --label rerun");
  EXPECT_EQ(r.rc, 1) << r.err;
  EXPECT_NE(r.err.find("DS2: rerun vs base: 1 of 3 predictions differ (index b)"),
            std::string::npos)
      << r.err;
  // Without the flag a difference is only reported.
  EXPECT_EQ(compare(a_.string() + " " + c.string()).rc, 0);
}

TEST_F(CompareApp, WritesJsonAndChart) {
  const fs::path js = root_ / "cmp.json", png = root_ / "cmp.png";
  const Result r = compare(a_.string() + " " + b_.string() + " --json " + js.string() +
                           " --chart " + png.string() + " --chart-size 800");
  ASSERT_EQ(r.rc, 0) << r.err;
  const json j = json::parse(read_file(js));
  EXPECT_EQ(j["datasets"][0]["agreement"][0]["differing_indices"], json({"2"}));
  EXPECT_EQ(j["datasets"][1]["agreement"][0]["compared"], 2);
  const cv::Mat img = cv::imread(png.string());
  EXPECT_EQ(img.cols, 800);
  EXPECT_EQ(img.rows, 400);
  EXPECT_NE(r.err.find("not compared (not in every run): DS3"), std::string::npos) << r.err;
}

TEST_F(CompareApp, SameDayRunsOfOneModelNeedNoLabel) {
  const fs::path again = root_ / "wx" / "M" / "T20260101_G11111111";
  fs::create_directories(again.parent_path());
  fs::copy(a_, again, fs::copy_options::recursive);
  const Result r = compare(a_.string() + " " + again.string() + " --expect-identical");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("wx/M/T20260101_G11111111"), std::string::npos) << r.out;
}

TEST_F(CompareApp, UserErrorsExitWithTwo) {
  fs::create_directories(root_ / "empty");
  Result r = compare(a_.string() + " " + (root_ / "empty").string());
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find((root_ / "empty" / "run.json").string()), std::string::npos) << r.err;
  r = compare(a_.string() + " " + b_.string() + " --label one");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("--label given 1 times for 2 run folders"), std::string::npos) << r.err;
  EXPECT_EQ(compare(a_.string()).rc, 2);
  EXPECT_EQ(compare(a_.string() + " " + b_.string() + " --no-such-flag").rc, 2);
}

}  // namespace
}  // namespace vlm
