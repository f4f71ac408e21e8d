// A VLMEvalKit TSV read as `pd.read_csv(path, sep='\t')` reads it: named columns of optional cells.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace vlm {

// How a TsvTable is read.
struct TsvOptions {
  bool na_filter = true;  // pandas' default NA strings ('', 'NA', 'nan', 'None', ...) -> missing
  bool pad_short_rows =
      false;  // rows with too few fields get missing cells (pandas) instead of an error
  // Longest field kept, in bytes (pandas has no bound). A longer data field is not stored: the
  // cell reads as missing and row_error() names the row, line, column and size; a longer header
  // field is a UserError. 64 MiB of base64 is a 48 MiB image file, far above any image in
  // VLMEvalKit's TSVs.
  size_t max_field_bytes = size_t{64} << 20;
};

// The dtype pandas would infer for a column (read in one chunk).
enum class ColumnKind {
  kString,  // object: cells are kept as written
  kInt,     // int64: every cell an integer, none missing
  kFloat,   // float64: every present cell a number, or integers with some missing
  kBool,    // bool: every present cell True/TRUE/true/False/FALSE/false
  kEmpty,   // every cell missing (float64 of NaN in pandas)
};

// True for the strings pandas' read_csv turns into NaN by default ('', '#N/A', 'NA', 'nan', ...).
bool is_pandas_na(std::string_view cell);

// A whole TSV in memory, as pandas reads it with sep='\t' and the C parser's defaults:
// - the first record is the header (a UTF-8 BOM is skipped; an empty name becomes 'Unnamed: i',
//   a repeated name 'x' becomes 'x.1', 'x.2', ...);
// - fields may be quoted with '"'; inside quotes tabs and newlines are data and '""' is a quote;
//   a quote inside an unquoted field is data;
// - records end at LF, CRLF or CR outside quotes; blank lines are skipped;
// - a record with more fields than the header is a UserError naming the file and line (fewer:
//   the same unless TsvOptions::pad_short_rows);
// - with na_filter, pandas' default NA strings become missing cells (std::nullopt).
// Cells are the raw text; python_str() gives what `str(df[col][row])` prints after pandas'
// dtype inference.
class TsvTable {
 public:
  // Reads a file, streaming it in blocks. UserError if it cannot be read or is malformed.
  static TsvTable read(const std::filesystem::path& path, const TsvOptions& options = {});
  // Parses text already in memory; `source` names it in error messages.
  static TsvTable parse(std::string_view text, const std::string& source,
                        const TsvOptions& options = {});
  // Only the header record of a file (column names, after de-duplication).
  static std::vector<std::string> read_header(const std::filesystem::path& path);

  // The file or source name given at reading.
  const std::string& source() const { return source_; }
  // Column names in file order.
  const std::vector<std::string>& columns() const { return columns_; }
  size_t num_columns() const { return columns_.size(); }
  // Data records (header excluded, blank lines skipped).
  size_t num_rows() const { return rows_.size(); }

  bool has_column(const std::string& name) const { return find_column(name).has_value(); }
  // Position of a column, or nullopt.
  std::optional<size_t> find_column(const std::string& name) const;
  // Position of a column; UserError naming the file and the columns it has.
  size_t column_index(const std::string& name) const;

  // The raw cell; nullopt when missing (NA). row < num_rows(), col < num_columns().
  const std::optional<std::string>& cell(size_t row, size_t col) const { return rows_[row][col]; }
  const std::optional<std::string>& cell(size_t row, const std::string& column) const {
    return rows_[row][column_index(column)];
  }
  // Moves a cell out of the table (it reads as missing afterwards); for handing over large fields.
  std::optional<std::string> take_cell(size_t row, size_t col) {
    return std::move(rows_[row][col]);
  }

  // 1-based line number of the file where a record starts (the header is line 1).
  size_t line(size_t row) const { return lines_[row]; }
  // Why a row could not be read in full (a field over TsvOptions::max_field_bytes), or nullopt.
  // The message names the source, line and column.
  std::optional<std::string> row_error(size_t row) const;

  // The pandas dtype of a column, inferred over all its cells.
  ColumnKind column_kind(size_t col) const { return kinds_[col]; }
  // `str(value)` of a cell after pandas' dtype inference: ints canonical ('007' -> '7'), floats as
  // Python repr ('3' -> '3.0' in a column with missing cells), bools 'True'/'False', strings as
  // written; nullopt when missing.
  std::optional<std::string> python_str(size_t row, size_t col) const;

 private:
  friend class TsvBuilder;
  void finish();

  std::string source_;
  std::vector<std::string> columns_;
  std::unordered_map<std::string, size_t> column_pos_;
  std::vector<std::vector<std::optional<std::string>>> rows_;
  std::vector<size_t> lines_;
  std::unordered_map<size_t, std::string> row_errors_;  // row -> why it was not read in full
  std::vector<ColumnKind> kinds_;
};

}  // namespace vlm
