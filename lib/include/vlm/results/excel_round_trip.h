// What VLMEvalKit's scorer sees of a column it wrote to {model}_{data}.xlsx (pandas to_excel with
// xlsxwriter) and read back (pandas read_excel with openpyxl), each cell as str() prints it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "vlm/data/tsv_table.h"

namespace vlm {

// One column of text cells as pandas' readers type it: pandas' NA strings become NA, the dtype is
// inferred over the column (ColumnKind), and each cell is what str() prints (NA: std::nullopt).
struct PandasColumn {
  std::vector<std::optional<std::string>> cells;
  ColumnKind kind = ColumnKind::kString;
};
PandasColumn pandas_column(const std::vector<std::optional<std::string>>& cells);

// One column's round trip, cell by cell (pandas infers the dtype over the whole column):
// - a missing cell, an empty string and pandas' NA strings ('NA', 'N/A', 'nan', 'null', 'None',
//   ... as pandas >= 2 reads them) become 'nan';
// - control characters other than \t \n \r become _xHHHH_ (xlsxwriter escapes them; openpyxl
//   3.0 does not undo it);
// - text longer than 32767 code points is cut to 32767;
// - when every remaining cell is a decimal number the column is numeric: ints stay canonical
//   ('007' -> '7') unless a cell is NA or a float, then every cell is a float ('3' -> '3.0',
//   '1.50' -> '1.5'); in a column with any text every cell stays as written.
// Predictions are written as strings, never formulas (xlsxwriter strings_to_formulas=False, as
// VLMEvalKit from 2026-07-22 and this project's writer).
std::vector<std::string> excel_round_trip(const std::vector<std::optional<std::string>>& cells);

}  // namespace vlm
