// report_acc and its CSV against hand-computed tables (reference/vlmevalkit-behaviour.md §3.6).
#include "vlm/eval/acc_report.h"

#include <gtest/gtest.h>

#include <cmath>

#include "common/python_runner.h"
#include "vlm/core/error.h"

namespace vlm {
namespace {

AccItem item(int hit) {
  AccItem a;
  a.hit = hit;
  return a;
}

AccItem item(const char* split, const char* l2, const char* category, int hit) {
  AccItem a;
  a.split = split;
  a.l2_category = l2;
  a.category = category;
  a.hit = hit;
  return a;
}

TEST(AccReport, NoSplitNoCategory) {
  const ScoreTable t = report_acc({item(1), item(0), item(1)});
  EXPECT_EQ(score_table_csv(t), "\"split\",\"Overall\"\n\"none\",\"0.6666666666666666\"\n");
}

TEST(AccReport, RealWorldQaShape) {
  // 529 of 765 right: 529 / 765 = 0.6915032679738562 (Python: repr(529 / 765)).
  std::vector<AccItem> items;
  for (int i = 0; i < 765; ++i) items.push_back(item(i < 529 ? 1 : 0));
  EXPECT_EQ(score_table_csv(report_acc(items)),
            "\"split\",\"Overall\"\n\"none\",\"0.6915032679738562\"\n");
}

TEST(AccReport, AllRightAndAllWrong) {
  EXPECT_EQ(score_table_csv(report_acc({item(1), item(1)})),
            "\"split\",\"Overall\"\n\"none\",\"1.0\"\n");
  EXPECT_EQ(score_table_csv(report_acc({item(0)})), "\"split\",\"Overall\"\n\"none\",\"0.0\"\n");
}

TEST(AccReport, EmptyInputIsNan) {
  EXPECT_EQ(score_table_csv(report_acc({})), "\"split\",\"Overall\"\n\"none\",\"\"\n");
}

TEST(AccReport, SplitsL2CategoriesAndCategories) {
  const std::vector<AccItem> items = {
      item("dev", "P", "b_cat", 1),  item("dev", "P", "a_cat", 0),  item("dev", "Q", "b_cat", 1),
      item("test", "Q", "a_cat", 1), item("test", "Q", "a_cat", 0), item("test", "Q", "a_cat", 0),
  };
  const ScoreTable t = report_acc(items);
  EXPECT_EQ(t.columns, (std::vector<std::string>{"split", "Overall", "P", "Q", "a_cat", "b_cat"}));
  EXPECT_TRUE(std::isnan(t.number(1, 2)));
  EXPECT_EQ(score_table_csv(t),
            "\"split\",\"Overall\",\"P\",\"Q\",\"a_cat\",\"b_cat\"\n"
            "\"dev\",\"0.6666666666666666\",\"0.5\",\"1.0\",\"0.0\",\"1.0\"\n"
            "\"test\",\"0.3333333333333333\",\"\",\"0.3333333333333333\",\"0.3333333333333333\","
            "\"\"\n");
}

TEST(AccReport, CategoryOnlySortedByCodePoint) {
  std::vector<AccItem> items;
  for (const char* c : {"b", "B", "a", "Ä", "b"}) {
    AccItem a;
    a.category = c;
    a.hit = c[0] == 'b' ? 1 : 0;
    items.push_back(a);
  }
  EXPECT_EQ(score_table_csv(report_acc(items)),
            "\"split\",\"Overall\",\"B\",\"a\",\"b\",\"Ä\"\n"
            "\"none\",\"0.4\",\"0.0\",\"0.0\",\"1.0\",\"0.0\"\n");
}

TEST(AccReport, AbbreviationsAndSameNameColumns) {
  AccItem a;
  a.category = "coarse_perception";
  a.l2_category = "CP";
  a.hit = 1;
  AccItem b;
  b.category = "logic_reasoning";
  b.l2_category = "CP";
  b.hit = 0;
  AccReportOptions options;
  options.abbreviations = mmbench_abbreviations();
  // l2 "CP" (mean 0.5) comes first; category "coarse_perception" -> "CP" (mean 1.0) replaces its
  // values in place, as assigning to an existing key of a Python dict does.
  EXPECT_EQ(score_table_csv(report_acc({a, b}, options)),
            "\"split\",\"Overall\",\"CP\",\"LR\"\n\"none\",\"0.5\",\"1.0\",\"0.0\"\n");
  EXPECT_EQ(score_table_csv(report_acc({a, b})),
            "\"split\",\"Overall\",\"CP\",\"coarse_perception\",\"logic_reasoning\"\n"
            "\"none\",\"0.5\",\"0.5\",\"1.0\",\"0.0\"\n");
}

TEST(AccReport, QuotesInNames) {
  AccItem a;
  a.category = "say \"hi\", ok";
  a.hit = 1;
  EXPECT_EQ(score_table_csv(report_acc({a})),
            "\"split\",\"Overall\",\"say \"\"hi\"\", ok\"\n\"none\",\"1.0\",\"1.0\"\n");
}

TEST(AccReport, MissingGroupValueIsAUserError) {
  AccItem a;
  a.split = "dev";
  EXPECT_THROW(report_acc({a, item(1)}), UserError);
}

TEST(AccReport, WritesTheFileAtomically) {
  const auto dir = testing::scratch_dir("acc_report");
  const auto path = dir / "M_RealWorldQA_acc.csv";
  testing::write_bytes(path, "old");
  write_score_csv(report_acc({item(1), item(0)}), path);
  EXPECT_EQ(testing::read_file(path), "\"split\",\"Overall\"\n\"none\",\"0.5\"\n");
  EXPECT_FALSE(std::filesystem::exists(dir / "M_RealWorldQA_acc.csv.tmp"));
}

}  // namespace
}  // namespace vlm
