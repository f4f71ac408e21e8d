#include "vlm/eval/circular_eval.h"

#include "vlm/eval/mcq_scorer.h"

namespace vlm {

int64_t circular_group_index(int64_t index) {
  constexpr int64_t kGroup = 1000000;
  return ((index % kGroup) + kGroup) % kGroup;
}

CircularScore score_circular_group(const std::vector<CircularVariant>& variants,
                                   const CanInferOptions& options) {
  bool all_matched = true;
  for (size_t i = 0; i < variants.size(); ++i) {
    const CircularVariant& v = variants[i];
    const std::optional<char> pred = can_infer(v.prediction, v.choices, options);
    if (pred && v.answer != std::string(1, *pred)) {
      return {0, "Failed in Prefetching Rolling " + std::to_string(i) + ": Answer is " + v.answer +
                     ", Prediction is " + v.prediction + ", Pre-fetched is " +
                     std::string(1, *pred) + ". "};
    }
    if (!pred) all_matched = false;
  }
  if (all_matched) return {1, kCircularSucceedLog};
  return {0, kPrefetchFailedLog};
}

}  // namespace vlm
