// Scoring a finished dataset: VLMEvalKit's `dataset.evaluate(judge='exact_matching')`, run once
// every item of the dataset has a record. It reads predictions, never the model.
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
#include "vlm/run/item_record.h"
#include "vlm/run/work_dir.h"

namespace vlm {

struct DatasetScores {
  std::optional<AccTable> acc;               // the score table (written as {model}_{data}_acc.csv)
  nlohmann::json scores = nullptr;           // the scores for run.json (null: dataset not scored)
  std::vector<std::filesystem::path> files;  // evaluation files written
};

// Scores `records` (one per item of `ds`, by index) with the dataset's scorer and writes the
// evaluation files under `files`. The predictions file itself is written by the caller.
DatasetScores score_dataset(const DatasetSpec& spec, const Dataset& ds,
                            const std::map<std::string, ItemRecord>& records,
                            const CanInferOptions& can_infer, const PairFiles& files);

// The score table as run.json rows: [{"split": ..., "<column>": value or null}, ...].
nlohmann::json acc_json(const AccTable& acc);

}  // namespace vlm
