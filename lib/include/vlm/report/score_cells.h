// A run's scores for one dataset as flat cells (split, metric, value), read from the dataset's
// `_acc.csv` (report_acc's table) or from run.json's `scores`.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace vlm {

struct ScoreCell {
  std::string split;   // the row's `split` ("none" for a table without splits)
  std::string metric;  // the column: "Overall", a category, an l2-category, or a run.json key
  double value = 0;    // as written (MCQ: mean hit in [0, 1]); NaN for an empty cell
};

// Reads an `_acc.csv` as pandas to_csv writes it (QUOTE_ALL or bare fields, "" escapes): header
// "split","Overall",..., one row per split (without a `split` column, as VLMEvalKit's VQA
// tables "val","Overall" are: split "none"); an empty cell is NaN. Throws UserError naming the
// file and line for a missing file, a malformed record or a non-numeric cell.
std::vector<ScoreCell> read_acc_csv(const std::filesystem::path& path);

// run.json's `datasets.<name>.scores`: either rows ([{"split": s, "<metric>": v or null}, ...];
// a row without `split` is named by its first text cell, else "none") or an object of metrics
// ({"<metric>": v, "<group>": {"<metric>": v}}; nested keys joined by '/', split "none").
// Non-numeric leaves are skipped; null is NaN. Throws UserError naming `where` for any other shape.
std::vector<ScoreCell> score_cells_from_json(const nlohmann::json& scores,
                                             const std::string& where);

// The dataset's headline score: "Overall" of split "none", else of the first split that has it;
// else the first cell's value. std::nullopt when `cells` is empty or that value is NaN.
std::optional<double> overall_score(const std::vector<ScoreCell>& cells);

}  // namespace vlm
