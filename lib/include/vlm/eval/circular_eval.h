// Circular evaluation of multiple-choice groups under exact matching: VLMEvalKit's
// mcq_circular_eval with prefetch_circular_group (vlmeval/dataset/utils/multiple_choice.py), as
// ImageMCQDataset.evaluate runs it for MMBench* and CCBench when the judge is exact_matching.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vlm/eval/can_infer.h"

namespace vlm {

// The logs mcq_circular_eval writes for a group.
inline constexpr const char* kCircularSucceedLog = "Succeed During Pre-fetching";

// The group of an MMBench index: int(index % 1e6) (Python's modulo: never negative). The group's
// main row is the one whose index equals its group.
int64_t circular_group_index(int64_t index);

// One rotated copy of a question.
struct CircularVariant {
  int64_t index = 0;       // the TSV index
  std::string prediction;  // str() of the predictions-file cell
  Choices choices;         // build_choices(row): the non-NA options A..Z
  std::string answer;      // the ground-truth letter (meta `answer`)
};

// The outcome of one group: the `hit` and `log` cells of its main row in the result file.
struct CircularScore {
  int hit = 0;
  std::string log;
};

// prefetch_circular_group over `variants` in ascending index order, then the exact-matching
// fallback of mcq_circular_eval:
// - the first variant whose can_infer letter is found and differs from its answer ends the group:
//   hit 0, "Failed in Prefetching Rolling {i}: Answer is {GT}, Prediction is {prediction},
//   Pre-fetched is {letter}. " (i = position in the group, from 0);
// - every variant matched: hit 1, kCircularSucceedLog;
// - otherwise (some variant unresolved, none wrong): hit 0, kPrefetchFailedLog (mcq_scorer.h).
CircularScore score_circular_group(const std::vector<CircularVariant>& variants,
                                   const CanInferOptions& options = {});

}  // namespace vlm
