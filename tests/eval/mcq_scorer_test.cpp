// Per-item scoring against reference/vlmevalkit-behaviour.md §3.3 (eval_vanilla's log format).
#include "vlm/eval/mcq_scorer.h"

#include <gtest/gtest.h>

namespace vlm {
namespace {

const Choices kChoices = {{'A', "Left"}, {'B', "Straight"}, {'C', "Right"}};

TEST(McqScorer, MatchedCorrect) {
  const ItemScore s = score_mcq_item("C. Right", kChoices, "C");
  EXPECT_EQ(s.option, 'C');
  EXPECT_EQ(s.hit, 1);
  EXPECT_EQ(s.log, "Match Log: C. Right. ");
}

TEST(McqScorer, MatchedWrong) {
  const ItemScore s = score_mcq_item("Straight", kChoices, "A");
  EXPECT_EQ(s.option, 'B');
  EXPECT_EQ(s.hit, 0);
  EXPECT_EQ(s.log, "Match Log: Straight. ");
}

TEST(McqScorer, UnresolvedIsZWithThePrefetchLog) {
  const ItemScore s = score_mcq_item("I am not sure", kChoices, "A");
  EXPECT_EQ(s.option, 'Z');
  EXPECT_EQ(s.hit, 0);
  EXPECT_EQ(s.log,
            "Match Log: Failed in Prefetch, no GPT-based answer matching under `exact_matching` "
            "policy.. ");
}

TEST(McqScorer, EmptyCellReadBackAsNan) {
  const ItemScore s = score_mcq_item("nan", {{'A', "banana"}, {'B', "kiwi"}}, "A");
  EXPECT_EQ(s.option, 'Z');
  EXPECT_EQ(s.hit, 0);
}

TEST(McqScorer, RefusalIsZAndLogsThePrediction) {
  const ItemScore s = score_mcq_item("Cannot determine the answer", kChoices, "B");
  EXPECT_EQ(s.option, 'Z');
  EXPECT_EQ(s.hit, 0);
  EXPECT_EQ(s.log, "Match Log: Cannot determine the answer. ");
}

TEST(McqScorer, EraOptionReachesCanInfer) {
  const std::string p = "B is correct because the car turns";
  EXPECT_EQ(score_mcq_item(p, kChoices, "B").hit, 1);
  const ItemScore s = score_mcq_item(p, kChoices, "B", {CanInferEra::kLast4, false});
  EXPECT_EQ(s.option, 'Z');
  EXPECT_EQ(s.hit, 0);
}

TEST(McqScorer, GroundTruthComparedAsString) {
  EXPECT_EQ(score_mcq_item("A", kChoices, "A ").hit, 0);
  EXPECT_EQ(score_mcq_item("A", kChoices, "a").hit, 0);
}

}  // namespace
}  // namespace vlm
