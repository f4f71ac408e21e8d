#include "vlm/eval/mcq_scorer.h"

#include <optional>

namespace vlm {

std::string mcq_match_log(const std::string& text) {
  return "Match Log: " + text + ". ";
}

ItemScore score_mcq_item(const std::string& prediction, const Choices& choices,
                         const std::string& answer, const CanInferOptions& options) {
  ItemScore score;
  const std::optional<char> found = can_infer(prediction, choices, options);
  const std::string match_log = found ? prediction : std::string(kPrefetchFailedLog);
  score.option = found ? *found : 'Z';
  score.hit = answer == std::string(1, score.option) ? 1 : 0;
  score.log = mcq_match_log(match_log);
  return score;
}

}  // namespace vlm
