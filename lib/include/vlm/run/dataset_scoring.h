// Scoring a finished dataset: VLMEvalKit's `dataset.evaluate(judge='exact_matching')`, run once
// every item of the dataset has a record. It reads predictions, never the model.
//
// Which function scores a dataset is its scorer's row in the scorer table (scorer_table.h). Files
// written, by per-dataset function (stem = "{model}_{dataset}", next to the predictions file):
//   score_mcq_vanilla, score_mcq_circular (MCQ): {stem}_exact_matching_result.xlsx, {stem}_acc.csv
//   score_yorn (Y/N): {stem}_auxmatch.xlsx, {stem}_score.csv
//   score_vqa (VQA): {stem}_results.xlsx (per item: eval_gt, eval_pred, eval_match, eval_score),
//     {stem}_acc.csv (split columns, Overall; mean x 100); predictions and answers are scored as
//     read back from the xlsx (excel_round_trip)
//   score_ocrbench: {stem}_score.json (OCRBench.evaluate's dict)
//   score_nothing: nothing (DocVQA_TEST / InfoVQA_TEST log that they have no ground truth)
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
#include "vlm/eval/vqa_scorers.h"
#include "vlm/eval/yorn_rating.h"
#include "vlm/results/item_record.h"
#include "vlm/results/score_table.h"
#include "vlm/results/work_dir.h"

namespace vlm {

struct DatasetScores {
  // The score table in report_acc's shape (a "split" column first), for printing: the _acc.csv
  // table for MCQ; for Y/N the _score.csv table, given a "split" column ("none") when it has none;
  // for VQA the _acc.csv row as means in [0, 1] (split "none"); for OCRBench each group over its
  // maximum and "Overall" = Final Score / 1000.
  std::optional<ScoreTable> acc;
  std::optional<ScoreTable> table;  // the table exactly as written to the score file
  // The scores for run.json (null: dataset not scored). VQA: {"<column>": value x 100, ...,
  // "scorer": name, "chartqa_era": "2025-09-01" | "2024-03-27" for ChartQA}; OCRBench: its dict.
  nlohmann::json scores = nullptr;
  std::vector<std::filesystem::path> files;  // evaluation files written
};

// Scores `records` (one per item of `ds`, by index) with the dataset's scorer (spec.scorer's row
// in the scorer table) and
// writes the evaluation files under `files`. The predictions file itself is written by the
// caller. UserError for an item without a record, or data the scorer cannot use (a circular
// dataset whose indices are not integers, a Hallusion index without set/figure/question ids, MME
// items without image_path).
DatasetScores score_dataset(const DatasetSpec& spec, const Dataset& ds,
                            const std::map<std::string, ItemRecord>& records,
                            const CanInferOptions& can_infer, const PairFiles& files);

// The informational per-item score a record carries (ItemRecord::extracted/hit/log), as the
// dataset's scorer sees the item alone (its row's `item`): MCQ -> the can_infer letter ('Z' when
// unresolved; MMMU's open questions after MMMU_preproc), hit against the answer (for circular
// datasets the variant alone; the group decides the score); Y/N -> "Yes"/"No"/"Unknown" and
// hit = (answer == extracted); other scorers -> nothing.
struct RecordScore {
  std::string extracted;  // "" when the dataset is not scored
  std::optional<int> hit;
  std::string log;
};
RecordScore record_score(const DatasetSpec& spec, const Item& item, const std::string& prediction,
                         const CanInferOptions& can_infer);
// What an item that failed (a recorded error) gets (its row's `failed`): MCQ -> "Z", hit 0 and
// the match log of its (partial) prediction; Y/N -> "Unknown", hit 0; other scorers -> nothing.
// The record's score and the MCQ result table both take it from here.
RecordScore failed_record_score(const DatasetSpec& spec, const std::string& prediction);

// ---- The functions the scorer table's rows point to ---------------------------------------------

struct ScorerRow;  // scorer_table.h

// What a dataset score reads: the dataset, one record per item and where its files go.
struct DatasetScoringInput {
  const DatasetSpec& spec;
  const Dataset& ds;
  const std::map<std::string, ItemRecord>& records;
  const CanInferOptions& can_infer;
  const PairFiles& files;
};

// A scorer's per-item, per-dataset and failed-item functions (the columns of ScorerRow).
using ItemScoreFn = RecordScore (*)(const Item& item, const std::string& prediction,
                                    const CanInferOptions& can_infer);
using DatasetScoreFn = DatasetScores (*)(const ScorerRow& row, const DatasetScoringInput& in);
using FailedScoreFn = RecordScore (*)(const std::string& prediction);

// Per item: score_mcq_item against the item's options and answer cell.
RecordScore mcq_item_score(const Item& item, const std::string& prediction,
                           const CanInferOptions& can_infer);
// Per item: score_mcq_item after MMMU_preproc (open questions: A = answer, B = "Other Answers";
// a non-letter answer is scored as "A").
RecordScore mmmu_item_score(const Item& item, const std::string& prediction,
                            const CanInferOptions& can_infer);
// Per item: YOrN_Extraction -> "Yes"/"No"/"Unknown", hit = (answer == extracted).
RecordScore yorn_item_score(const Item& item, const std::string& prediction,
                            const CanInferOptions& can_infer);
// A failed MCQ item: "Z", hit 0, mcq_match_log(prediction).
RecordScore mcq_failed_score(const std::string& prediction);
// A failed Y/N item: "Unknown", hit 0.
RecordScore yorn_failed_score(const std::string& prediction);

// One VQA item's cells in {stem}_results.xlsx and its hit, from the prediction and the answers
// (vqa_answers of the answer cell) as read back from the predictions xlsx.
struct VqaItemScore {
  std::vector<std::string> gt_repr;     // eval_gt's items, each as Python's repr()
  std::string eval_pred;                // eval_pred: the prediction as the metric compares it
  std::vector<double> match;            // eval_match's values (eval_score is their mean)
  std::vector<std::string> match_repr;  // eval_match's items as Python prints them
  double hit = 0;                       // the item's share of the _acc.csv means
};
using VqaItemFn = VqaItemScore (*)(const std::string& prediction,
                                   const std::vector<std::string>& answers);
VqaItemScore textvqa_item_score(const std::string& prediction,
                                const std::vector<std::string>& answers);  // vqa_score
VqaItemScore anls_item_score(const std::string& prediction,
                             const std::vector<std::string>& answers);  // anls
// relaxed_accuracy in kCurrent's (chartqa_item_score) or kClassic's argument order.
VqaItemScore chartqa_item_score(const std::string& prediction,
                                const std::vector<std::string>& answers);
VqaItemScore chartqa_classic_item_score(const std::string& prediction,
                                        const std::vector<std::string>& answers);
VqaItemScore ocrvqa_item_score(const std::string& prediction,
                               const std::vector<std::string>& answers);  // accuracy

// Per dataset: mcq_vanilla_eval, each item's hit and log from row.item (row.failed for an item
// with an error) -> {stem}_exact_matching_result.xlsx, report_acc -> {stem}_acc.csv. `mmmu`: the
// result file shows MMMU_preproc's options for open questions (row.item is mmmu_item_score).
DatasetScores score_mcq_vanilla(const ScorerRow& row, const DatasetScoringInput& in, bool mmmu);
// Per dataset: mcq_circular_eval; a group's rotations decide its main row's hit together
// (score_circular_group), so a variant's own score (row.item) is its record's only.
DatasetScores score_mcq_circular(const ScorerRow& row, const DatasetScoringInput& in);
// Per dataset: each item through row.item -> {stem}_auxmatch.xlsx, `rating` -> {stem}_score.csv.
using YornRatingFn = ScoreTable (*)(const std::vector<YornItem>& items);
DatasetScores score_yorn(const ScorerRow& row, const DatasetScoringInput& in, YornRatingFn rating);
// Per dataset: each item through `item` -> {stem}_results.xlsx and {stem}_acc.csv; `era`, when
// given, is recorded as scores["chartqa_era"].
DatasetScores score_vqa(const ScorerRow& row, const DatasetScoringInput& in, VqaItemFn item,
                        std::optional<ChartQaEra> era = std::nullopt);
// Per dataset: OCRBench.evaluate -> {stem}_score.json.
DatasetScores score_ocrbench(const ScorerRow& row, const DatasetScoringInput& in);
// Per dataset: nothing (kNone); DocVQA_TEST and InfoVQA_TEST log that they have no ground truth.
DatasetScores score_nothing(const ScorerRow& row, const DatasetScoringInput& in);

}  // namespace vlm
