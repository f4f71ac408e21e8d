// OCRBench's scoring (OCRBench.evaluate) against the reference's §7.5 rows and its result dict.
#include "vlm/eval/ocrbench_score.h"

#include <gtest/gtest.h>

#include <map>

#include "common/user_error.h"
#include "vlm/eval/vqa_scorers.h"

namespace vlm {
namespace {

const std::string kHmer = "Handwritten Mathematical Expression Recognition";

struct Row {
  std::string category;
  std::string answers;  // list literal, as the TSV holds it
  std::string prediction;
  bool hit;
};

std::vector<Row> reference_rows() {
  const std::string y2 = "['y _ { 2 } = - 1\\n', 'y_2 = - 1\\n']";
  return {
      {"Regular Text Recognition", "['CENTRE']", "Centre", true},
      {"Regular Text Recognition", "['CENTRE']", "The text is \"CENTRE\".", true},
      {"Regular Text Recognition", "['CENTRE']", "CENTER", false},
      {"Irregular Text Recognition", "['ANTONIOS', \"ANTONIO'S\"]", "Antonio's", true},
      {"Scene Text-centric VQA", "['hello\\nworld']", "Hello World", true},
      {"Scene Text-centric VQA", "['hello world']", "hello\nworld", true},
      {"Key Information Extraction", "['$137,001.88', '$137001.88', '$137 001.88']", "137,001.88",
       false},
      {kHmer, y2, "y_{2}=-1", true},
      {kHmer, y2, "Y_{2}=-1", false},
      {kHmer, y2, "$$y_2 = -1$$", true},
      {kHmer, "['x ^ { 2 }\\n']", "x^{2}\t", true},
      {kHmer, "['x ^ { 2 }\\n']", "x^\t{2}", false},
      {"Digit String Recognition", "['6015']", "60 15", false},
      {"Scene Text-centric VQA", "['Airfrance', 'Air france']", "AIR FRANCE", true},
      {"Doc-oriented VQA", "['no']", "I do not know", true},
      {"Digit String Recognition", "['1']", "10", true},
      {"Scene Text-centric VQA", "['a b']", "a\tb", false},
      {"Doc-oriented VQA", "['\u00c9COLE']", "\u00e9cole", true},
      {"Key Information Extraction", "[' total ']", "subtotal", true},
      {"Non-Semantic Text Recognition", "['nan']", "nan", true},
  };
}

TEST(OcrBench, ReferenceRows) {
  const auto rows = reference_rows();
  for (size_t i = 0; i < rows.size(); ++i)
    EXPECT_EQ(ocrbench_hit(rows[i].category, vqa_answers(rows[i].answers), rows[i].prediction),
              rows[i].hit)
        << "row " << i + 1;
}

TEST(OcrBench, ReferenceDictAndFile) {
  std::map<std::string, int64_t> counts;
  for (const Row& r : reference_rows())
    counts[r.category] += ocrbench_hit(r.category, vqa_answers(r.answers), r.prediction);
  const OcrBenchScore s = ocrbench_score({counts.begin(), counts.end()});
  EXPECT_EQ(s.final_score, 14);
  EXPECT_EQ(s.final_score_norm(), 1.4);
  EXPECT_EQ(ocrbench_score_json_text(s),
            "{\n"
            "    \"Text Recognition\": 5,\n"
            "    \"Scene Text-centric VQA\": 3,\n"
            "    \"Doc-oriented VQA\": 2,\n"
            "    \"Key Information Extraction\": 1,\n"
            "    \"Handwritten Mathematical Expression Recognition\": 3,\n"
            "    \"Final Score\": 14,\n"
            "    \"Final Score Norm\": 1.4\n"
            "}");
}

TEST(OcrBench, FullBenchmarkExampleAndMissingCategories) {
  const OcrBenchScore s = ocrbench_score({{"Regular Text Recognition", 200},
                                          {"Digit String Recognition", 38},
                                          {"Scene Text-centric VQA", 178},
                                          {"Doc-oriented VQA", 151},
                                          {"Key Information Extraction", 153},
                                          {kHmer, 4}});
  EXPECT_EQ(s.final_score, 724);
  EXPECT_EQ(s.final_score_norm(), 72.4);
  EXPECT_EQ(s.groups.front(), (std::pair<std::string, int64_t>{"Text Recognition", 238}));
  EXPECT_EQ(ocrbench_score({}).final_score, 0);
  EXPECT_NE(ocrbench_score_json_text(ocrbench_score({})).find("\"Final Score Norm\": 0.0\n}"),
            std::string::npos);
}

TEST(OcrBench, FormulaSpacesAndNewlinesVanishTabsInsideStay) {
  EXPECT_TRUE(ocrbench_hit(kHmer, {"\\frac { 1 } { 2 }\n"}, "\\frac{1}\n{2}"));
  EXPECT_FALSE(ocrbench_hit(kHmer, {"\\frac { 1 } { 2 }"}, "\\frac{1}\t{2}"));
  EXPECT_FALSE(ocrbench_hit(kHmer, {"X"}, "x"));  // case-sensitive
  // Outside HMER, inner spaces count and case does not.
  EXPECT_FALSE(ocrbench_hit("Doc-oriented VQA", {"ab"}, "a b"));
  EXPECT_TRUE(ocrbench_hit("Doc-oriented VQA", {"AB"}, "xaby"));
  EXPECT_FALSE(ocrbench_hit("Doc-oriented VQA", {}, "anything"));
}

TEST(OcrBench, UnknownCategoryIsAUserError) {
  EXPECT_NE(testing::user_error([] {
              ocrbench_hit("Text Recognition", {"a"}, "a");
            }).find("unknown category 'Text Recognition'"),
            std::string::npos);
  EXPECT_NE(testing::user_error([] {
              ocrbench_score({{"Nope", 1}});
            }).find("'Nope'"),
            std::string::npos);
}

}  // namespace
}  // namespace vlm
