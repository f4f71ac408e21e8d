#include "vlm/results/excel_round_trip.h"

#include <cstdio>

#include "vlm/core/error.h"
#include "vlm/core/python_str.h"
#include "vlm/data/tsv_table.h"

namespace vlm {
namespace {

constexpr std::size_t kMaxCellChars = 32767;  // Excel's limit, as xlsxwriter applies it

// xlsxwriter's _escape_control_characters and string truncation.
std::string written_text(const std::string& s) {
  std::u32string cps = python_code_points(s);
  if (cps.size() > kMaxCellChars) cps.resize(kMaxCellChars);
  std::u32string out;
  for (char32_t cp : cps) {
    if (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') {
      char buf[16];
      std::snprintf(buf, sizeof(buf), "_x%04X_", static_cast<unsigned>(cp));
      for (const char* p = buf; *p; ++p) out.push_back(static_cast<char32_t>(*p));
    } else {
      out.push_back(cp);
    }
  }
  return python_from_code_points(out);
}

}  // namespace

PandasColumn pandas_column(const std::vector<std::optional<std::string>>& cells) {
  // pandas' dtype inference and NA strings are those of read_csv: run the column through the
  // project's TSV reader as one quoted field per record (a second column keeps a record of an NA
  // cell from being a blank line, which the reader skips).
  std::string tsv = "c\tk\n";
  for (const auto& cell : cells) {
    if (cell) {
      tsv += '"';
      for (char c : *cell) {
        if (c == '"') tsv += '"';
        tsv += c;
      }
      tsv += '"';
    }
    tsv += "\tk\n";
  }
  TsvOptions options;
  options.max_field_bytes = std::string::npos;
  const TsvTable table = TsvTable::parse(tsv, "pandas column", options);
  check_internal(table.num_rows() == cells.size(), "pandas_column: row count changed");
  PandasColumn out;
  out.kind = table.column_kind(0);
  out.cells.reserve(cells.size());
  for (std::size_t r = 0; r < table.num_rows(); ++r) out.cells.push_back(table.python_str(r, 0));
  return out;
}

std::vector<std::string> excel_round_trip(const std::vector<std::optional<std::string>>& cells) {
  std::vector<std::optional<std::string>> written;
  written.reserve(cells.size());
  for (const auto& cell : cells)
    written.push_back(cell ? std::optional<std::string>(written_text(*cell)) : std::nullopt);
  std::vector<std::string> out;
  out.reserve(cells.size());
  for (auto& cell : pandas_column(written).cells) out.push_back(cell.value_or("nan"));
  return out;
}

}  // namespace vlm
