// A VLMEvalKit prediction file ({model}_{data}.xlsx, or .tsv under PRED_FORMAT=tsv) as its
// evaluate() loads it: pandas.read_excel (openpyxl) or pandas.read_csv(sep='\t').
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "vlm/data/tsv_table.h"

namespace vlm {

struct PredictionFile {
  std::filesystem::path path;
  std::vector<std::string> columns;  // header names ('Unnamed: i' for an empty one)
  std::vector<ColumnKind> kinds;     // pandas' dtype of each column
  // Each cell as str() prints it after pandas' dtype inference; NA (blank, '', 'NA', 'nan',
  // 'None', an error cell, ...) is std::nullopt and prints 'nan'.
  std::vector<std::vector<std::optional<std::string>>> rows;
  std::vector<std::size_t> lines;  // the sheet row / file line of each row (header: 1)
  std::string row_unit;            // "sheet 'Sheet1' row" or "line", for messages

  // The column's position; UserError naming the file and the columns it has.
  std::size_t column_index(const std::string& name) const;
};

// Reads `path` by its extension (.xlsx or .tsv; anything else is a UserError). Number cells read
// as pandas does (integral values as ints: 3.0 -> '3' unless the column is float), xlsxwriter's
// _xHHHH_ escapes kept (openpyxl 3.0). UserError naming the file and the sheet or line for a
// malformed file, an empty sheet or a row wider than the header.
PredictionFile read_prediction_file(const std::filesystem::path& path);

}  // namespace vlm
