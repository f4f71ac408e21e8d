#include "vlm/eval/mmmu_preproc.h"

#include <algorithm>

namespace vlm {

Choices mmmu_preproc_choices(const Choices& choices, const std::optional<std::string>& answer) {
  const bool has_a =
      std::any_of(choices.begin(), choices.end(), [](const auto& c) { return c.first == 'A'; });
  if (has_a) return choices;
  Choices out;
  if (answer) out.emplace_back('A', *answer);
  out.emplace_back('B', kMmmuOtherAnswers);
  for (const auto& c : choices)
    if (c.first != 'A' && c.first != 'B') out.push_back(c);
  return out;
}

std::string mmmu_ground_truth(const std::optional<std::string>& answer) {
  if (answer && answer->size() == 1 && (*answer)[0] >= 'A' && (*answer)[0] <= 'Z') return *answer;
  return "A";
}

}  // namespace vlm
