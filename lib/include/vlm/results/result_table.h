// A table of result cells (predictions, per-item scores) and its files, as VLMEvalKit's dump()
// writes a DataFrame: .xlsx through pandas.to_excel and .tsv through pandas.to_csv.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace vlm {

// Ordered named columns and rows of cells. A cell is UTF-8 text or NA (std::nullopt, pandas NaN).
// A column flagged numeric holds decimal numbers as text ("3", "0.5"): the xlsx file stores them
// as numbers, as pandas does for int64/float64 columns.
class ResultTable {
 public:
  using Cell = std::optional<std::string>;

  ResultTable() = default;
  // Columns with these names, none numeric, no rows. Names must be unique.
  explicit ResultTable(const std::vector<std::string>& columns);

  // Appends a column; existing rows get NA in it. Throws InternalError on a duplicate name.
  void add_column(const std::string& name, bool numeric = false);
  // Appends a row; it must have one cell per column.
  void add_row(std::vector<Cell> cells);

  std::size_t num_columns() const { return columns_.size(); }
  std::size_t num_rows() const { return rows_.size(); }
  const std::vector<std::string>& columns() const { return columns_; }
  // The column's position, or std::nullopt when there is none with this name.
  std::optional<std::size_t> find_column(const std::string& name) const;
  // The column's position; throws UserError when there is none with this name.
  std::size_t column_index(const std::string& name) const;
  bool is_numeric(std::size_t column) const { return numeric_.at(column); }
  void set_numeric(std::size_t column, bool numeric) { numeric_.at(column) = numeric; }

  const std::vector<Cell>& row(std::size_t r) const { return rows_.at(r); }
  const Cell& at(std::size_t r, std::size_t column) const { return rows_.at(r).at(column); }
  Cell& at(std::size_t r, std::size_t column) { return rows_.at(r).at(column); }
  const Cell& at(std::size_t r, const std::string& column) const {
    return at(r, column_index(column));
  }

  // The TSV text: pandas to_csv(sep='\t', index=False, quoting=QUOTE_ALL), header first, every
  // field quoted, '"' doubled, NA as "", records ended by '\n'.
  std::string to_tsv() const;
  // Writes to_tsv() to `path` through `path`.tmp.
  void write_tsv(const std::filesystem::path& path) const;
  // Writes an .xlsx as pandas to_excel(index=False, engine='xlsxwriter') does: sheet "Sheet1",
  // a bold, centred, top-aligned, thin-bordered header row, NA cells left empty, numeric columns
  // as numbers, every other cell as a string (never a formula or a link; longer than 32767 code
  // points is cut to 32767, as xlsxwriter does; invalid UTF-8 bytes become U+FFFD). Written to
  // `path`.tmp, then renamed.
  void write_xlsx(const std::filesystem::path& path) const;

  // Reads a TSV twin written by write_tsv (any csv-style TSV: quoted or bare fields, "" escapes,
  // line breaks inside quotes, '\n' or "\r\n" records). An empty field is NA. A column whose
  // non-NA cells all parse as decimal numbers is flagged numeric. Throws UserError naming the
  // file and line for a malformed file (unterminated quote, wrong field count).
  static ResultTable read_tsv(const std::filesystem::path& path);

 private:
  std::vector<std::string> columns_;
  std::vector<bool> numeric_;
  std::vector<std::vector<Cell>> rows_;
};

// Whether `text` is a decimal number pandas would have read as int64 or float64 ("3", "-0.5",
// "1e-05"); "nan" and "inf" are not.
bool looks_numeric(const std::string& text);

}  // namespace vlm
