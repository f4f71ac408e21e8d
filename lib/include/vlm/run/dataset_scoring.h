// Scoring a finished dataset: VLMEvalKit's `dataset.evaluate(judge='exact_matching')`, run once
// every item of the dataset has a record. It reads predictions, never the model.
//
// Files written, by spec.scorer (stem = "{model}_{dataset}", next to the predictions file):
//   mcq_exact, mcq_mmmu, mcq_circular: {stem}_exact_matching_result.xlsx, {stem}_acc.csv
//   yn_exact, yn_mme, yn_hallusion, yn_pope: {stem}_auxmatch.xlsx, {stem}_score.csv
//   vqa_textvqa, vqa_anls, vqa_relaxed, vqa_relaxed_classic, vqa_exact: {stem}_results.xlsx (per
//     item: eval_gt, eval_pred, eval_match, eval_score), {stem}_acc.csv (split columns, Overall;
//     mean x 100); predictions and answers are scored as read back from the xlsx
//     (excel_round_trip)
//   ocrbench: {stem}_score.json (OCRBench.evaluate's dict)
//   none: nothing (DocVQA_TEST / InfoVQA_TEST log that they have no ground truth)
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "vlm/data/dataset.h"
#include "vlm/data/dataset_spec.h"
#include "vlm/eval/acc_report.h"
#include "vlm/eval/can_infer.h"
#include "vlm/eval/score_table.h"
#include "vlm/run/item_record.h"
#include "vlm/run/work_dir.h"

namespace vlm {

struct DatasetScores {
  // The score table in report_acc's shape (a "split" column first), for printing: the _acc.csv
  // table for MCQ; for Y/N the _score.csv table, given a "split" column ("none") when it has none;
  // for VQA the _acc.csv row as means in [0, 1] (split "none"); for OCRBench each group over its
  // maximum and "Overall" = Final Score / 1000.
  std::optional<AccTable> acc;
  std::optional<ScoreTable> table;  // the table exactly as written to the score file
  // The scores for run.json (null: dataset not scored). VQA: {"<column>": value x 100, ...,
  // "scorer": name, "chartqa_era": "2025-09-01" | "2024-03-27" for ChartQA}; OCRBench: its dict.
  nlohmann::json scores = nullptr;
  std::vector<std::filesystem::path> files;  // evaluation files written
};

// Scores `records` (one per item of `ds`, by index) with the dataset's scorer (spec.scorer) and
// writes the evaluation files under `files`. The predictions file itself is written by the
// caller. UserError for an item without a record, or data the scorer cannot use (a circular
// dataset whose indices are not integers, a Hallusion index without set/figure/question ids, MME
// items without image_path).
DatasetScores score_dataset(const DatasetSpec& spec, const Dataset& ds,
                            const std::map<std::string, ItemRecord>& records,
                            const CanInferOptions& can_infer, const PairFiles& files);

// The informational per-item score a record carries (ItemRecord::extracted/hit/log), as the
// dataset's scorer sees the item alone: MCQ -> the can_infer letter ('Z' when unresolved; MMMU's
// open questions after MMMU_preproc), hit against the answer (for circular datasets the variant
// alone; the group decides the score); Y/N -> "Yes"/"No"/"Unknown" and hit = (answer ==
// extracted); other kinds -> nothing.
struct RecordScore {
  std::string extracted;  // "" when the dataset is not scored
  std::optional<int> hit;
  std::string log;
};
RecordScore record_score(const DatasetSpec& spec, const Item& item, const std::string& prediction,
                         const CanInferOptions& can_infer);
// What an item that failed (a recorded error) gets: MCQ -> "Z", hit 0 and the match log of its
// (partial) prediction; Y/N -> "Unknown", hit 0; other kinds -> nothing. The record's score and
// the dataset's result table both take it from here.
RecordScore failed_record_score(const DatasetSpec& spec, const std::string& prediction);

// The score table as run.json rows: [{"split": ..., "<column>": value or null}, ...].
nlohmann::json acc_json(const AccTable& acc);

}  // namespace vlm
