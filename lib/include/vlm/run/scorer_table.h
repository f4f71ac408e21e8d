// The scorer table: one row per scorer (ScorerId, vlm/data/scorer_id.h) saying what it does with
// one item, with a whole dataset and with an item that failed. score_dataset, record_score and
// failed_record_score (dataset_scoring.h) look the dataset's scorer up here and nowhere else; a new
// scorer is a ScorerId, its name in scorer_id.cpp and its row here (docs/adding-a-dataset.md).
#pragma once

#include <string>
#include <vector>

#include "vlm/data/scorer_id.h"
#include "vlm/run/dataset_scoring.h"

namespace vlm {

struct ScorerRow {
  ScorerId id = ScorerId::kNone;
  // The score of one item alone: its record's extracted/hit/log and, for the scorers whose dataset
  // score goes item by item (MCQ vanilla, Y/N), the cells of its result-file row, from the same
  // call. nullptr: records carry no score (VQA and OCRBench score the predictions as read back
  // from the predictions xlsx, which a record does not see; kNone scores nothing).
  ItemScoreFn item = nullptr;
  // The dataset's score: reads every record, writes the evaluation files (dataset_scoring.h).
  DatasetScoreFn dataset = nullptr;
  // What an item that failed (a recorded error) gets; nullptr: nothing.
  FailedScoreFn failed = nullptr;
  // The predictions-file columns the dataset score reads besides index and prediction, checked
  // before scoring an outside predictions file (run --predictions).
  std::vector<std::string> columns;
};

// Every row, in ScorerId order (all_scorer_ids()).
const std::vector<ScorerRow>& scorer_table();

// The row of `id`. InternalError when the table has none (a ScorerId added without its row).
const ScorerRow& scorer_row(ScorerId id);

}  // namespace vlm
