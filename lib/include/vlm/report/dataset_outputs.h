// What one run produced for one dataset, as `compare` needs it: predictions by item, time per
// stage, speed and scores.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "vlm/report/run_folder.h"
#include "vlm/report/score_cells.h"

namespace vlm {

struct DatasetOutputs {
  std::string dataset;
  // (index, prediction) in file order; an NA prediction cell is "".
  std::vector<std::pair<std::string, std::string>> predictions;
  std::filesystem::path predictions_file;      // the .tsv twin, or the (first) record file
  std::map<std::string, double> ms_per_stage;  // mean ms per timed item (records with times)
  std::size_t timed_items = 0;                 // records that carry stage times
  std::optional<double> items_per_s;           // run.json items_per_s, else from the records
  std::string items_per_s_source;              // "run.json", "records" or "" (unknown)
  std::vector<ScoreCell> scores;               // from the _acc.csv, else run.json scores
  std::filesystem::path scores_file;           // where the scores came from ("" when none)
};

// Reads `dataset` of `run`: predictions from `{model}_{data}.tsv` (columns `index`, `prediction`),
// or from the record files (`_records.jsonl` and `_records.shard*.jsonl`) when there is no .tsv;
// times from the record files (read-only; per item `total` when recorded, else the sum of its
// stages); items/s from run.json `datasets.<d>.items_per_s`, else the sum of
// `datasets.<d>.shards.*.items_per_s`, else timed items / their total seconds; scores from
// `_acc.csv`, else run.json `datasets.<d>.scores`. Throws UserError naming the file for a dataset
// the run does not have, no predictions file, a file without the needed columns, or a repeated
// index.
DatasetOutputs read_dataset_outputs(const RunFolder& run, const std::string& dataset);

}  // namespace vlm
