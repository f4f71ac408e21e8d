// Circular groups under exact matching (VLMEvalKit's prefetch_circular_group and the
// exact-matching branch of mcq_circular_eval), against hand-written outcomes and logs.
#include "vlm/eval/circular_eval.h"

#include <gtest/gtest.h>

#include "vlm/eval/mcq_scorer.h"

namespace vlm {
namespace {

// A question with options sun/moon rotated: copy k has the correct text at letter `answer`.
CircularVariant v(int64_t index, const std::string& prediction, const std::string& answer) {
  CircularVariant c;
  c.index = index;
  c.prediction = prediction;
  c.choices =
      answer == "A" ? Choices{{'A', "sun"}, {'B', "moon"}} : Choices{{'A', "moon"}, {'B', "sun"}};
  c.answer = answer;
  return c;
}

TEST(CircularEval, GroupIndex) {
  EXPECT_EQ(circular_group_index(5), 5);
  EXPECT_EQ(circular_group_index(1000005), 5);
  EXPECT_EQ(circular_group_index(3000005), 5);
  EXPECT_EQ(circular_group_index(999999), 999999);
  EXPECT_EQ(circular_group_index(-1), 999999);  // Python's float modulo
}

TEST(CircularEval, EveryCopyRightIsAHit) {
  const CircularScore s = score_circular_group({v(5, "A", "A"), v(1000005, "B. sun", "B")});
  EXPECT_EQ(s.hit, 1);
  EXPECT_EQ(s.log, "Succeed During Pre-fetching");
}

TEST(CircularEval, OneWrongCopyMissesTheGroup) {
  const CircularScore s = score_circular_group({v(5, "A", "A"), v(1000005, "A", "B")});
  EXPECT_EQ(s.hit, 0);
  EXPECT_EQ(s.log,
            "Failed in Prefetching Rolling 1: Answer is B, Prediction is A, Pre-fetched "
            "is A. ");
}

TEST(CircularEval, WrongCopyWinsOverAnEarlierUnresolvedOne) {
  const CircularScore s =
      score_circular_group({v(5, "no idea", "A"), v(1000005, "moon", "B"), v(2000005, "?", "A")});
  EXPECT_EQ(s.hit, 0);
  EXPECT_EQ(s.log,
            "Failed in Prefetching Rolling 1: Answer is B, Prediction is moon, "
            "Pre-fetched is A. ");
}

TEST(CircularEval, UnresolvedCopyWithoutJudgeIsAMiss) {
  const CircularScore s = score_circular_group({v(5, "A", "A"), v(1000005, "no idea", "B")});
  EXPECT_EQ(s.hit, 0);
  EXPECT_EQ(s.log, kPrefetchFailedLog);
}

TEST(CircularEval, RefusalIsALetterZAndFailsFast) {
  const CircularScore s =
      score_circular_group({v(5, "Cannot determine the answer", "A"), v(1000005, "B", "B")});
  EXPECT_EQ(s.hit, 0);
  EXPECT_EQ(s.log,
            "Failed in Prefetching Rolling 0: Answer is A, Prediction is Cannot determine "
            "the answer, Pre-fetched is Z. ");
}

TEST(CircularEval, LoneMainRowScoresAlone) {
  EXPECT_EQ(score_circular_group({v(7, "B", "B")}).hit, 1);
  EXPECT_EQ(score_circular_group({v(7, "A", "B")}).hit, 0);
}

}  // namespace
}  // namespace vlm
