// MMMU's open questions under multiple-choice scoring: VLMEvalKit's MMMU_preproc and the answer
// map of mcq_vanilla_eval for 'MMMU' datasets (vlmeval/dataset/utils/multiple_choice.py).
#pragma once

#include <optional>
#include <string>

#include "vlm/eval/can_infer.h"

namespace vlm {

// The option text MMMU_preproc gives B for an open question.
inline constexpr const char* kMmmuOtherAnswers = "Other Answers";

// MMMU_preproc for one row: when option A is NA (an open question), A becomes the row's answer
// text and B "Other Answers"; options C..Z stay as they are. A row with an A option is unchanged.
// With no answer either, A stays NA (B is still set).
Choices mmmu_preproc_choices(const Choices& choices, const std::optional<std::string>& answer);

// The ground truth mcq_vanilla_eval uses for MMMU: the answer when it is one letter A-Z, else "A"
// (an open question's answer text is option A after MMMU_preproc).
std::string mmmu_ground_truth(const std::optional<std::string>& answer);

}  // namespace vlm
