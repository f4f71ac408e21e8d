// The Y/N score tables (VLMEvalKit's default_rating, MME_rating, Hallusion_rating, POPE_rating in
// vlmeval/dataset/utils/yorn.py) against tables computed by hand; floats are Python's repr of the
// same arithmetic (e.g. 4/7*100 -> 57.14285714285714).
#include "vlm/eval/yorn_rating.h"

#include <gtest/gtest.h>

#include "common/user_error.h"

namespace vlm {
namespace {

YornItem yn(const std::string& index, const std::string& answer, YesNo extracted,
            std::optional<std::string> category = std::nullopt,
            std::optional<std::string> l2 = std::nullopt,
            std::optional<std::string> image_path = std::nullopt) {
  YornItem y;
  y.index = index;
  y.answer = answer;
  y.extracted = extracted;
  y.category = std::move(category);
  y.l2_category = std::move(l2);
  y.image_path = std::move(image_path);
  return y;
}

constexpr YesNo Y = YesNo::kYes;
constexpr YesNo N = YesNo::kNo;
constexpr YesNo U = YesNo::kUnknown;

TEST(YornRating, ScoreIsAnswerEqualsExtracted) {
  EXPECT_TRUE(yorn_score(yn("0", "Yes", Y)));
  EXPECT_FALSE(yorn_score(yn("0", "Yes", N)));
  EXPECT_FALSE(yorn_score(yn("0", "No", U)));
  YornItem no_answer = yn("0", "No", N);
  no_answer.answer.reset();
  EXPECT_FALSE(yorn_score(no_answer));
}

// POPE: 7 items, the 5th in two categories ("popular,random"), exploded into 8 rows.
//   rows (truth, pred): adv (Y,Y) TP, adv (Y,N) FN, adv (N,Y) FP, pop (N,N) TN, pop (Y,Y) TP,
//   rand (Y,Y) TP (the same item), rand (N,Unknown) TN but no hit, zeta (N,N) TN.
//   Overall: TP 3, FP 1, FN 1 -> precision 3/4, recall 3/4, F1 0.75; hits 5 of 8 -> 62.5.
//   adversarial: TP 1, FP 1, FN 1 -> 0.5 each; hits 1/3 -> 33.33333333333333.
//   popular: TP 1 -> 1.0 each; hits 2/2.  random: TP 1 -> 1.0 each; hits 1/2.
//   zeta: no positive at all -> precision, recall, F1 are the int 0 (float column: "0.0").
TEST(YornRating, PopePerCategoryAfterExplode) {
  const std::vector<YornItem> items = {
      yn("0", "Yes", Y, "adversarial"),
      yn("1", "Yes", N, "adversarial"),
      yn("2", "No", Y, "adversarial"),
      yn("3", "No", N, "popular"),
      yn("4", "Yes", Y, "popular,random"),
      yn("5", "No", U, "random"),
      yn("6", "No", N, "zeta"),
  };
  EXPECT_EQ(score_table_csv(pope_rating(items)),
            "\"split\",\"Overall\",\"acc\",\"precision\",\"recall\"\n"
            "\"Overall\",\"75.0\",\"62.5\",\"75.0\",\"75.0\"\n"
            "\"adversarial\",\"50.0\",\"33.33333333333333\",\"50.0\",\"50.0\"\n"
            "\"popular\",\"100.0\",\"100.0\",\"100.0\",\"100.0\"\n"
            "\"random\",\"100.0\",\"50.0\",\"100.0\",\"100.0\"\n"
            "\"zeta\",\"0.0\",\"100.0\",\"0.0\",\"0.0\"\n");
}

// With no positive prediction or truth anywhere, pandas keeps the int columns: "0", not "0.0".
TEST(YornRating, PopeAllIntColumnsStayInts) {
  const std::vector<YornItem> items = {yn("0", "No", N, "random"), yn("1", "No", N, "random")};
  EXPECT_EQ(score_table_csv(pope_rating(items)),
            "\"split\",\"Overall\",\"acc\",\"precision\",\"recall\"\n"
            "\"Overall\",\"0\",\"100.0\",\"0\",\"0\"\n"
            "\"random\",\"0\",\"100.0\",\"0\",\"0\"\n");
}

// MME: per category, acc over questions + acc+ over images (both questions right).
//   code_reasoning (first in the data): c1 (Y right, N wrong) -> acc 1/2 = 50, acc+ 0/1 = 0 -> 50.
//   OCR: o1 both right -> 100 + 100 = 200.
//   existence: e1 both right, e2 first wrong -> acc 3/4 = 75, acc+ 1/2 = 50 -> 125.
//   perception = OCR + existence = 325 (the other perception categories are absent);
//   reasoning = code_reasoning = 50. Columns: sums, then categories in order of appearance.
TEST(YornRating, MmeAccPlusAndSums) {
  const std::vector<YornItem> items = {
      yn("0", "Yes", Y, "code_reasoning", {}, "c1.png"),
      yn("1", "No", Y, "code_reasoning", {}, "c1.png"),
      yn("2", "Yes", Y, "OCR", {}, "o1.png"),
      yn("3", "No", N, "OCR", {}, "o1.png"),
      yn("4", "Yes", Y, "existence", {}, "e1.png"),
      yn("5", "No", N, "existence", {}, "e1.png"),
      yn("6", "Yes", N, "existence", {}, "e2.png"),
      yn("7", "No", N, "existence", {}, "e2.png"),
  };
  EXPECT_EQ(score_table_csv(mme_rating(items)),
            "\"perception\",\"reasoning\",\"code_reasoning\",\"OCR\",\"existence\"\n"
            "\"325.0\",\"50.0\",\"50.0\",\"200.0\",\"125.0\"\n");
}

// Pairs are keyed by image_path within a category; interleaved rows still pair up.
TEST(YornRating, MmePairsByImagePathNotByPosition) {
  const std::vector<YornItem> items = {
      yn("0", "Yes", Y, "color", {}, "a.jpg"),
      yn("1", "Yes", Y, "color", {}, "b.jpg"),
      yn("2", "No", N, "color", {}, "a.jpg"),
      yn("3", "No", Y, "color", {}, "b.jpg"),
  };
  // acc 3/4 = 75, acc+ (a right, b wrong) 1/2 = 50 -> 125; perception = 125.
  const ScoreTable t = mme_rating(items);
  EXPECT_EQ(score_number(t.at(0, "color")), 125.0);
  EXPECT_EQ(score_number(t.at(0, "perception")), 125.0);
  EXPECT_EQ(score_number(t.at(0, "reasoning")), 0.0);
}

TEST(YornRating, MmeNeedsImagePath) {
  const std::string m = testing::user_error([] { mme_rating({yn("0", "Yes", Y, "color")}); });
  EXPECT_NE(m.find("image_path"), std::string::npos) << m;
}

// HallusionBench: index fields 3, 4, 5 are set, figure and question ids.
//   chart (VD): s0 f0 q0 right, s0 f0 q1 wrong, s0 f1 q0 right, s0 f1 q1 right;
//   map (VS): s1 f0 q0 right, s1 f1 q0 right.
//   aAcc 5/6. fAcc groups chart_0_0 (wrong), chart_0_1, map_1_0, map_1_1 -> 3/4.
//   qAcc groups chart_0_0 (q0: right, right), chart_0_1 (q1: wrong, right), map_1_0 -> 2/3.
TEST(YornRating, HallusionAaccFaccQacc) {
  const std::vector<YornItem> items = {
      yn("VD_chart_x_0_0_0", "Yes", Y, "VD", "chart"),
      yn("VD_chart_x_0_0_1", "No", Y, "VD", "chart"),
      yn("VD_chart_x_0_1_0", "No", N, "VD", "chart"),
      yn("VD_chart_x_0_1_1", "Yes", Y, "VD", "chart"),
      yn("VS_map_x_1_0_0", "Yes", Y, "VS", "map"),
      yn("VS_map_x_1_1_0", "No", N, "VS", "map"),
  };
  EXPECT_EQ(score_table_csv(hallusion_rating(items)),
            "\"split\",\"aAcc\",\"fAcc\",\"qAcc\"\n"
            "\"Overall\",\"83.33333333333334\",\"75.0\",\"66.66666666666666\"\n"
            "\"VD\",\"75.0\",\"50.0\",\"50.0\"\n"
            "\"VS\",\"100.0\",\"100.0\",\"100.0\"\n"
            "\"chart\",\"75.0\",\"50.0\",\"50.0\"\n"
            "\"map\",\"100.0\",\"100.0\",\"100.0\"\n");
}

TEST(YornRating, HallusionIndexNeedsSixFields) {
  const std::string m =
      testing::user_error([] { hallusion_rating({yn("VD_chart_0_0", "Yes", Y, "VD", "chart")}); });
  EXPECT_NE(m.find("'VD_chart_0_0'"), std::string::npos) << m;
}

// default_rating: Overall, then sorted categories, then sorted l2-categories; NA dropped.
TEST(YornRating, DefaultRating) {
  const std::vector<YornItem> items = {
      yn("0", "Yes", Y, "b", "x"),
      yn("1", "No", Y, "a", "x"),
      yn("2", "No", N, "b", "y"),
      yn("3", "Yes", N, std::nullopt, "y"),
  };
  // Overall 2/4; a 0/1; b 2/2; x 1/2; y 1/2.
  EXPECT_EQ(score_table_csv(default_rating(items)),
            "\"Overall\",\"a\",\"b\",\"x\",\"y\"\n"
            "\"50.0\",\"0.0\",\"100.0\",\"50.0\",\"50.0\"\n");
}

}  // namespace
}  // namespace vlm
