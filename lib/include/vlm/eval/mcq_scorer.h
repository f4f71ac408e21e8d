// Per-item multiple-choice scoring under exact matching: VLMEvalKit's extract_answer_from_item
// followed by eval_vanilla (vlmeval/dataset/utils/multiple_choice.py), without a judge model.
#pragma once

#include <string>

#include "vlm/eval/can_infer.h"

namespace vlm {

// The log VLMEvalKit records when can_infer finds nothing and no judge is configured.
inline constexpr const char* kPrefetchFailedLog =
    "Failed in Prefetch, no GPT-based answer matching under `exact_matching` policy.";

// The outcome of scoring one item.
struct ItemScore {
  char option = 'Z';  // the extracted letter; 'Z' when unresolved (or a refusal)
  int hit = 0;        // 1 when `option` equals the ground-truth letter, else 0
  std::string log;    // the result file's `log` cell: "Match Log: {prediction or failure}. "
};

// The `log` cell of a scored MCQ item: "Match Log: {text}. " (text: the prediction when a letter
// was found or the item failed, else kPrefetchFailedLog).
std::string mcq_match_log(const std::string& text);

// Scores `prediction` (as str() of the predictions-file cell: an empty cell is "nan") against the
// item's `choices` and ground-truth letter `answer` (the TSV `answer` cell, compared as a string).
ItemScore score_mcq_item(const std::string& prediction, const Choices& choices,
                         const std::string& answer, const CanInferOptions& options = {});

}  // namespace vlm
