// The score table of a dataset, one type for every scorer: a small DataFrame as VLMEvalKit builds
// it (report_acc's accuracy table, a Y/N rater's pd.DataFrame(res) or d2df(res), a VQA _acc row),
// its csv file (`{model}_{dataset}_acc.csv` / `_score.csv`, written by dump() with
// quoting=QUOTE_ALL) and its JSON rows (run.json's "scores").
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>
#include <vector>

namespace vlm {

// One cell: text, a Python int (e.g. POPE's `0` when precision is undefined) or a float64.
using ScoreValue = std::variant<std::string, int64_t, double>;

// Named columns, rows of cells. A column that holds any float is float64 in pandas, so its ints
// are written as floats ("0.0"); a column of ints only is written as ints ("0").
struct ScoreTable {
  std::vector<std::string> columns;
  std::vector<std::vector<ScoreValue>> rows;  // [row][column]

  // The value at `row` of the column named `column`; throws InternalError when there is none.
  const ScoreValue& at(size_t row, const std::string& column) const;
  // The cell at [row][column] as a number (score_number).
  double number(size_t row, size_t column) const;
};

// The first column's text of each row: the split names of a table in report_acc's shape.
std::vector<std::string> split_names(const ScoreTable& table);

// The cell as a double (ints converted); NaN for text.
double score_number(const ScoreValue& v);

// The csv text: header, then one record per row, every field quoted; floats as Python's repr
// (NaN as the empty field "").
std::string score_table_csv(const ScoreTable& table);

// Writes score_table_csv(table) to `path` through `path`.tmp.
void write_score_csv(const ScoreTable& table, const std::filesystem::path& path);

// The rows as JSON objects ({column: value}); numbers as floats, NaN as null. The one JSON
// encoding of a score table (run.json "scores").
nlohmann::json score_table_json(const ScoreTable& table);

}  // namespace vlm
