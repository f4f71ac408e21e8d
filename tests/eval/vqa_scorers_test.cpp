// VLMEvalKit's VQA metrics against hand-computed cases: the reference's §7 tables
// (shared/reference/vlmevalkit-vqa.md, checked there against the Python functions) and cases of
// our own around each rule. Expected doubles are Python's values of the same arithmetic.
#include "vlm/eval/vqa_scorers.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "vlm/eval/numpy_mean.h"

namespace vlm {
namespace {

std::vector<std::string> rep(const std::string& s, int n) {
  return std::vector<std::string>(static_cast<size_t>(n), s);
}
std::vector<std::string> cat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// ---- numpy_mean --------------------------------------------------------------------------------

TEST(NumpyMean, PairwiseSumDiffersFromSequentialInTheLastBit) {
  const double t = 1.0 / 3, tt = 2.0 / 3;
  const std::vector<double> v = {t, 0, 0, 1, tt, t, t, 1, tt, 1};
  EXPECT_EQ(numpy_mean(v), 0.5333333333333333);
  double seq = 0;
  for (double x : v) seq += x;
  EXPECT_EQ(seq / 10, 0.5333333333333334);  // what a plain loop would give
}

TEST(NumpyMean, AggregatesAsTheReferenceShows) {
  EXPECT_EQ(numpy_mean({1.0, 0.3, 0.6, 0.9}) * 100, 70.0);
  EXPECT_EQ(numpy_mean({1.0, 0.75, 0.0}) * 100, 58.333333333333336);
  std::vector<double> chart(2500, 0.0);
  for (int i = 0; i < 7; ++i) chart[static_cast<size_t>(i) * 300] = 1.0;
  EXPECT_EQ(numpy_mean(chart) * 100, 0.27999999999999997);
  std::vector<double> human(1250, 0.0);
  for (int i = 0; i < 839; ++i) human[static_cast<size_t>(i)] = 1.0;
  EXPECT_EQ(numpy_mean(human) * 100, 67.12);
  EXPECT_TRUE(std::isnan(numpy_mean({})));
}

// ---- answers -----------------------------------------------------------------------------------

TEST(VqaAnswers, ListLiteralsGiveTheirItemsAndAnythingElseItself) {
  EXPECT_EQ(vqa_answers("['Travel', 'Tourism']"), (std::vector<std::string>{"Travel", "Tourism"}));
  EXPECT_EQ(vqa_answers("[\"ANTONIO'S\", 'x\\ny']"),
            (std::vector<std::string>{"ANTONIO'S", "x\ny"}));
  EXPECT_EQ(vqa_answers("1984"), (std::vector<std::string>{"1984"}));
  EXPECT_EQ(vqa_answers("Harry Potter"), (std::vector<std::string>{"Harry Potter"}));
  EXPECT_EQ(vqa_answers("[not a list"), (std::vector<std::string>{"[not a list"}));
  EXPECT_EQ(vqa_answers("[unquoted]"), (std::vector<std::string>{"[unquoted]"}));
}

// ---- TextVQA -----------------------------------------------------------------------------------

struct TextVqaCase {
  std::string prediction;
  std::vector<std::string> answers;
  double score;
};

TEST(TextVqa, ReferenceCases) {
  const auto nokia = cat(rep("nokia", 9), {"toshiba"});
  const std::vector<TextVqaCase> cases = {
      {"nokia", nokia, 1.0},                                              // 1
      {"toshiba", nokia, 0.3},                                            // 2
      {"Nokia.", nokia, 1.0},                                             // 3
      {"yes", cat(rep("yes", 3), rep("no", 7)), 0.9},                     // 4
      {"stop", cat(rep("stop", 2), rep("go", 8)), 0.6},                   // 5
      {"x", cat({"x"}, rep("y", 9)), 0.3},                                // 6
      {"The Two", rep("2", 10), 1.0},                                     // 7
      {"a/b", rep("a/b", 10), 1.0},                                       // 8
      {"5.", rep("5", 10), 0.0},                                          // 9
      {"1,000", rep("1000", 10), 1.0},                                    // 10
      {"dont", rep("don't", 10), 1.0},                                    // 11
      {"Im", rep("i'm", 10), 0.0},                                        // 12
      {"None", rep("0", 10), 1.0},                                        // 13
      {"nan", rep("0", 10), 0.0},                                         // 14
      {"coca-cola", cat(rep("coca cola", 5), rep("coca-cola", 5)), 1.0},  // 15
      {"A", rep("a", 10), 1.0},                                           // 16
      {"U.S.A.", rep("usa", 10), 1.0},                                    // 17
      {"3.14.", rep("3.14", 10), 0.0},                                    // 18
      {std::string(80, 'x'), rep(std::string(40, 'x'), 10), 0.0},         // 19 (made below)
      {"two-thirds", rep("two thirds", 10), 1.0},                         // 20
      {"$5", rep("5", 10), 0.0},                                          // 21
      {"12:30", rep("1230", 10), 0.0},                                    // 22
      {"3,5", rep("35", 10), 1.0},                                        // 23
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    TextVqaCase c = cases[i];
    if (i == 18) {
      c.prediction.clear();
      for (int k = 0; k < 40; ++k) c.prediction += "x.";
    }
    EXPECT_EQ(textvqa_score(c.prediction, c.answers), c.score)
        << "case " << i + 1 << ": '" << c.prediction << "'";
  }
}

TEST(TextVqa, ProcessAnswerRules) {
  // Only the first 32 qualifying periods go (re.sub's count = re.UNICODE = 32).
  std::string forty;
  for (int k = 0; k < 40; ++k) forty += "x.";
  std::string expected = std::string(33, 'x');
  for (int k = 0; k < 7; ++k) expected += ".x";
  EXPECT_EQ(textvqa_process_answer(forty), expected + ".");
  // Contractions, number words, articles.
  EXPECT_EQ(textvqa_process_answer("Dont"), "don't");
  EXPECT_EQ(textvqa_process_answer("somebody'd"), "somebodyd");
  EXPECT_EQ(textvqa_process_answer("an apple and the pear"), "apple and pear");
  EXPECT_EQ(textvqa_process_answer("Three Zero ten eleven"), "3 0 10 eleven");
  EXPECT_EQ(textvqa_process_answer("it's"), "it's");  // the apostrophe is no punctuation here
  EXPECT_NE(textvqa_process_answer("it's"), textvqa_process_answer("its"));
  // Punctuation: spaced unless next to a space in the input or a digit,digit appears anywhere.
  EXPECT_EQ(textvqa_process_answer("a(b)c"), "b c");      // "a b c" minus the article
  EXPECT_EQ(textvqa_process_answer("x-y -z"), "xy z");    // " -" occurs: every '-' deleted
  EXPECT_EQ(textvqa_process_answer("x-y z"), "x y z");    // otherwise spaced
  EXPECT_EQ(textvqa_process_answer("x-y 1,2"), "xy 12");  // digit,digit: '-' deleted too
  EXPECT_EQ(textvqa_process_answer("50%"), "50%");
  EXPECT_EQ(textvqa_process_answer("e.g."), "eg");
  EXPECT_EQ(textvqa_process_answer("3.14"), "3.14");
  EXPECT_EQ(textvqa_process_answer(".5"), ".5");  // followed by a digit: kept
  // Whitespace: \n and \t become spaces, Unicode whitespace is stripped and split on.
  EXPECT_EQ(textvqa_process_answer("\tNew\nYork\u00a0"), "new york");
  EXPECT_EQ(textvqa_process_answer("\u0130stanbul"), "i\u0307stanbul");  // full lower()
  // Full-width digits are \d: the comma between them makes all punctuation vanish.
  EXPECT_EQ(textvqa_process_answer("\uff11,\uff12 x-y"), "\uff11\uff12 xy");
  EXPECT_EQ(textvqa_process_answer(""), "");
}

TEST(TextVqa, LeaveOneOutMatchList) {
  EXPECT_EQ(textvqa_match("b", {"a", "b", "b", "c"}),
            (std::vector<double>{2.0 / 3, 1.0 / 3, 1.0 / 3, 2.0 / 3}));  // "a" -> ""
  EXPECT_EQ(textvqa_match("b", {}), std::vector<double>{});
  EXPECT_EQ(textvqa_score("anything", rep("", 10)), 0.0);
  EXPECT_EQ(textvqa_score("the", rep("a", 10)), 1.0);  // both become ''
}

// ---- ANLS --------------------------------------------------------------------------------------

TEST(Anls, ReferenceCases) {
  struct C {
    std::string pred;
    std::vector<std::string> gt;
    double score;
  };
  const std::vector<C> cases = {
      {"0.28", {"0.28"}, 1.0},
      {"0.24", {"0.28"}, 0.75},
      {" 1/8/93\n", {"1/8/93"}, 1.0},
      {"ITC Limited", {"itc limited"}, 1.0},
      {"abc", {"abd"}, 0.6666666666666667},
      {"ab", {"abcd"}, 0.5},
      {"a", {"abcd"}, 0.0},
      {"$137,001.88", {"$137,001.88", "$137001.88"}, 1.0},
      {"abx", {"  abc  "}, 0.8571428571428572},
      {"new   york", {"new york"}, 1.0},
      {"nan", {"xyz"}, 0.0},
      {"strasse", {"stra\u00dfe"}, 0.7142857142857143},
      {"The answer is 0.28", {"0.28"}, 0.0},
      {"caf\u00e9", {"cafe"}, 0.75},
      {"Ten", {"10", "ten"}, 1.0},
      {"abcxyz", {"abcdef"}, 0.5},
      {"abcdxyz", {"abcdefg"}, 0.5714285714285714},
      {"abcd", {"abce", "xbcd", "abcd e"}, 0.75},
      {"\ufb01le", {"file"}, 0.5},
      {"ab c", {"abc"}, 0.75},
      {"abc", {""}, 0.0},
  };
  for (size_t i = 0; i < cases.size(); ++i)
    EXPECT_EQ(anls_score(cases[i].pred, cases[i].gt), cases[i].score)
        << "case " << i + 1 << ": '" << cases[i].pred << "'";
}

TEST(Anls, DistanceAndThreshold) {
  EXPECT_EQ(anls_distance("abcd", "ab"), 0.5);
  EXPECT_EQ(anls_distance("  abc  ", "abx"), 0.14285714285714285);  // raw length 7
  EXPECT_EQ(anls_distance("", ""), 0.0);
  EXPECT_EQ(anls_distance("", "abc"), 1.0);
  EXPECT_EQ(anls_distance("stra\u00dfe", "strasse"), 0.2857142857142857);
  // The threshold is strict on the score: exactly 0.5 stays, just below goes.
  EXPECT_EQ(anls_score("ab", {"abcd"}), 0.5);
  EXPECT_EQ(anls_score("ab", {"abcde"}), 0.0);  // 1 - 3/5 = 0.4
  EXPECT_EQ(anls_score("ab", {"abcd"}, 0.6), 0.0);
  EXPECT_EQ(anls_score("x", {}), 0.0);
}

// ---- ChartQA -----------------------------------------------------------------------------------

TEST(ChartQa, ReferenceCasesInBothEras) {
  struct C {
    std::string pred, gt;
    bool current, classic;
  };
  const std::vector<C> cases = {
      {"104", "100", true, true},      {"95.2", "100", true, false},
      {"105", "100", true, true},      {"105.1", "100", false, true},
      {"94.9", "100", false, false},   {"50%", "0.5", true, true},
      {"50", "50%", false, false},     {"0", "0", true, true},
      {"0.0", "0", false, false},      {"0", "-0.0", false, false},
      {"yes", "Yes", true, true},      {"Yes.", "Yes", false, false},
      {"1000", "1,000", false, false}, {" 12 ", "12", true, true},
      {"2013", "2012", true, true},    {"3.5 million", "3.5", false, false},
      {"nan", "10", false, false},     {"inf", "inf", false, false},
      {"1000", "1e3", true, true},     {"1_000", "1000", true, true},
      {"5 %", "0.05", true, true},     {"\uff15", "5", true, true},
      {"$5", "5", false, false},       {"0", "0.01", false, false},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const C& c = cases[i];
    EXPECT_EQ(chartqa_score(c.pred, {c.gt}, ChartQaEra::kCurrent), c.current) << "case " << i + 1;
    EXPECT_EQ(chartqa_score(c.pred, {c.gt}, ChartQaEra::kClassic), c.classic) << "case " << i + 1;
  }
}

TEST(ChartQa, SignsPercentagesAndLists) {
  EXPECT_TRUE(chartqa_score("-104", {"-100"}));
  EXPECT_FALSE(chartqa_score("104", {"-100"}));  // sign matters
  EXPECT_TRUE(chartqa_score("+5", {"5"}));
  EXPECT_TRUE(chartqa_score("50%%", {"0.5"}));       // every trailing % goes
  EXPECT_TRUE(chartqa_score("50% ", {"0.5"}));       // stripped first: '50%' -> 0.5
  EXPECT_FALSE(relaxed_correctness("0.5", "50% "));  // unstripped: float('50% ') fails
  EXPECT_TRUE(chartqa_score("-5%", {"-0.05"}));
  EXPECT_TRUE(chartqa_score("no", {"7", "No"}));  // any answer
  EXPECT_FALSE(chartqa_score("x", {}));
  EXPECT_EQ(std::string(chartqa_era_name(kDefaultChartQaEra)), "2025-09-01");
  EXPECT_TRUE(relaxed_correctness("100", "104"));
  EXPECT_FALSE(relaxed_correctness("104", "100", 0.03));
}

// ---- OCRVQA ------------------------------------------------------------------------------------

TEST(OcrVqa, ReferenceCases) {
  struct C {
    std::string pred, gt;
    double score;
  };
  const std::vector<C> cases = {
      {"Harry Potter", "harry potter", 1.0},
      {"Harry Potter.", "Harry Potter", 0.0},
      {" Yes ", "Yes", 1.0},
      {"No", "no", 1.0},
      {"J.K. Rowling", "J. K. Rowling", 0.0},
      {"Romance", "Romance ", 1.0},
      {"1984", "1984", 1.0},
      {"1984.0", "1984", 0.0},
      {"Children\u2019s Books", "Children's Books", 0.0},
      {"stra\u00dfe", "STRASSE", 0.0},
      {"\u00c9COLE", "\u00e9cole", 1.0},
      {"tourism", "['Travel', 'Tourism']", 1.0},
      {"Harry\nPotter", "Harry Potter", 0.0},
      {"Harry  Potter", "Harry Potter", 0.0},
      {"\tYes\n", "Yes", 1.0},
      {"nan", "No", 0.0},
      {"nan", "nan", 1.0},
  };
  for (size_t i = 0; i < cases.size(); ++i)
    EXPECT_EQ(ocrvqa_score(cases[i].pred, vqa_answers(cases[i].gt)), cases[i].score)
        << "case " << i + 1;
}

}  // namespace
}  // namespace vlm
