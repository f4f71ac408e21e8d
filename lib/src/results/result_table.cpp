#include "vlm/results/result_table.h"

#include <xlsxwriter.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "vlm/core/error.h"
#include "vlm/results/atomic_file.h"
#include "vlm/results/pandas_csv.h"

namespace vlm {
namespace {

constexpr std::size_t kXlsxMaxStringChars = 32767;  // xlsxwriter's xls_strmax

// Valid UTF-8 with invalid bytes replaced by U+FFFD, cut after `max_chars` code points.
std::string sanitize_utf8(const std::string& s, std::size_t max_chars) {
  std::string out;
  out.reserve(s.size());
  std::size_t chars = 0;
  std::size_t i = 0;
  while (i < s.size() && chars < max_chars) {
    const auto b = static_cast<unsigned char>(s[i]);
    int len = b < 0x80                   ? 1
              : (b >= 0xC2 && b <= 0xDF) ? 2
              : (b >= 0xE0 && b <= 0xEF) ? 3
              : (b >= 0xF0 && b <= 0xF4) ? 4
                                         : 0;
    bool ok = len > 0 && i + len <= s.size();
    unsigned long cp = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
    for (int k = 1; ok && k < len; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      ok = (c & 0xC0) == 0x80;
      cp = (cp << 6) | (c & 0x3F);
    }
    if (ok && len > 1) {
      const unsigned long min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
      ok = cp >= min && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
    }
    if (ok) {
      out.append(s, i, static_cast<std::size_t>(len));
      i += static_cast<std::size_t>(len);
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
    ++chars;
  }
  return out;
}

void check_xlsx(lxw_error err, const std::filesystem::path& path, const std::string& what) {
  if (err != LXW_NO_ERROR) {
    throw UserError("cannot write " + path.string() + " (" + what + "): " + lxw_strerror(err));
  }
}

// Splits TSV `text` into records of fields (NA for empty fields). `path` names errors.
std::vector<std::vector<ResultTable::Cell>> parse_tsv(const std::string& text,
                                                      const std::filesystem::path& path) {
  std::vector<std::vector<ResultTable::Cell>> records;
  std::vector<ResultTable::Cell> record;
  std::size_t i = 0;
  std::size_t line = 1;
  const std::size_t n = text.size();
  bool line_start = true;  // no byte of the current line read yet
  while (i < n) {
    // One field.
    const bool raw_empty_line = line_start && (text[i] == '\n' || text[i] == '\r');
    line_start = false;
    std::string field;
    if (text[i] == '"') {
      const std::size_t start_line = line;
      ++i;
      while (true) {
        check_user(i < n, path.string() + ":" + std::to_string(start_line) +
                              ": quoted field is never closed");
        if (text[i] == '"') {
          if (i + 1 < n && text[i + 1] == '"') {
            field.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        if (text[i] == '\n') ++line;
        field.push_back(text[i++]);
      }
      check_user(i == n || text[i] == '\t' || text[i] == '\n' || text[i] == '\r',
                 path.string() + ":" + std::to_string(line) +
                     ": unexpected character after a closing quote");
    } else {
      while (i < n && text[i] != '\t' && text[i] != '\n' && text[i] != '\r')
        field.push_back(text[i++]);
    }
    record.push_back(field.empty() ? std::nullopt : ResultTable::Cell(std::move(field)));
    // The separator or the end of the record.
    if (i < n && text[i] == '\t') {
      ++i;
      if (i == n) record.push_back(std::nullopt);
      continue;
    }
    if (i < n && text[i] == '\r') ++i;
    if (i < n && text[i] == '\n') ++i;
    ++line;
    line_start = true;
    if (!raw_empty_line) records.push_back(std::move(record));  // pandas skips blank lines
    record.clear();
  }
  if (!record.empty()) records.push_back(std::move(record));
  return records;
}

}  // namespace

bool looks_numeric(const std::string& text) {
  std::size_t i = 0;
  const std::size_t n = text.size();
  if (i < n && (text[i] == '+' || text[i] == '-')) ++i;
  std::size_t digits = 0;
  while (i < n && text[i] >= '0' && text[i] <= '9') ++i, ++digits;
  if (i < n && text[i] == '.') {
    ++i;
    while (i < n && text[i] >= '0' && text[i] <= '9') ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < n && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < n && (text[i] == '+' || text[i] == '-')) ++i;
    std::size_t exp_digits = 0;
    while (i < n && text[i] >= '0' && text[i] <= '9') ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  return i == n;
}

ResultTable::ResultTable(const std::vector<std::string>& columns) {
  for (const std::string& name : columns) add_column(name);
}

void ResultTable::add_column(const std::string& name, bool numeric) {
  check_internal(!find_column(name), "ResultTable: duplicate column `" + name + "`");
  columns_.push_back(name);
  numeric_.push_back(numeric);
  for (auto& r : rows_) r.emplace_back(std::nullopt);
}

void ResultTable::add_row(std::vector<Cell> cells) {
  check_internal(cells.size() == columns_.size(),
                 "ResultTable: row has " + std::to_string(cells.size()) + " cells, table has " +
                     std::to_string(columns_.size()) + " columns");
  rows_.push_back(std::move(cells));
}

std::optional<std::size_t> ResultTable::find_column(const std::string& name) const {
  const auto it = std::find(columns_.begin(), columns_.end(), name);
  if (it == columns_.end()) return std::nullopt;
  return static_cast<std::size_t>(it - columns_.begin());
}

std::size_t ResultTable::column_index(const std::string& name) const {
  const std::optional<std::size_t> col = find_column(name);
  check_user(col.has_value(), "result table has no column `" + name + "`");
  return *col;
}

std::string ResultTable::to_tsv() const {
  std::string out = csv_quote_all_record({columns_.begin(), columns_.end()}, '\t');
  for (const auto& r : rows_) out += csv_quote_all_record(r, '\t');
  return out;
}

void ResultTable::write_tsv(const std::filesystem::path& path) const {
  write_file_atomically(path, to_tsv());
}

void ResultTable::write_xlsx(const std::filesystem::path& path) const {
  const std::filesystem::path tmp = create_temporary_for(path);
  lxw_workbook* workbook = workbook_new(tmp.c_str());
  check_user(workbook != nullptr, "cannot create " + tmp.string());
  try {
    // A fixed creation time (2000-01-01T00:00:00Z) instead of "now": the same results give a
    // byte-identical file, so a resumed run's files equal an uninterrupted run's.
    lxw_doc_properties properties{};
    properties.created = 946684800;
    workbook_set_properties(workbook, &properties);
    lxw_worksheet* sheet = workbook_add_worksheet(workbook, "Sheet1");
    check_internal(sheet != nullptr, "libxlsxwriter: cannot add worksheet Sheet1");
    // pandas' ExcelFormatter.header_style through its xlsxwriter engine.
    lxw_format* header = workbook_add_format(workbook);
    format_set_bold(header);
    format_set_border(header, LXW_BORDER_THIN);
    format_set_align(header, LXW_ALIGN_CENTER);
    format_set_align(header, LXW_ALIGN_VERTICAL_TOP);

    auto write_string = [&](lxw_row_t r, lxw_col_t c, const std::string& s, lxw_format* f) {
      const std::string text = sanitize_utf8(s, kXlsxMaxStringChars);
      // An empty string is a blank cell: written only when it carries a format.
      if (text.empty() && f == nullptr) return;
      const lxw_error err = text.empty() ? worksheet_write_blank(sheet, r, c, f)
                                         : worksheet_write_string(sheet, r, c, text.c_str(), f);
      check_xlsx(err, path, "row " + std::to_string(r) + ", column " + std::to_string(c));
    };

    for (std::size_t c = 0; c < columns_.size(); ++c) {
      write_string(0, static_cast<lxw_col_t>(c), columns_[c], header);
    }
    for (std::size_t r = 0; r < rows_.size(); ++r) {
      const auto row = static_cast<lxw_row_t>(r + 1);
      for (std::size_t c = 0; c < columns_.size(); ++c) {
        const Cell& cell = rows_[r][c];
        if (!cell) continue;
        const auto col = static_cast<lxw_col_t>(c);
        if (numeric_[c]) {
          check_internal(looks_numeric(*cell), "ResultTable: numeric column `" + columns_[c] +
                                                   "` holds \"" + *cell + "\" in row " +
                                                   std::to_string(r));
          check_xlsx(
              worksheet_write_number(sheet, row, col, std::strtod(cell->c_str(), nullptr), nullptr),
              path, "row " + std::to_string(row) + ", column " + std::to_string(c));
        } else {
          write_string(row, col, *cell, nullptr);
        }
      }
    }
  } catch (...) {
    workbook_close(workbook);
    std::filesystem::remove(tmp);
    throw;
  }
  check_xlsx(workbook_close(workbook), path, "closing the workbook");
  commit_temporary_file(tmp, path);
}

ResultTable ResultTable::read_tsv(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  check_user(static_cast<bool>(in), "cannot open " + path.string());
  std::ostringstream buffer;
  buffer << in.rdbuf();
  std::vector<std::vector<Cell>> records = parse_tsv(buffer.str(), path);
  check_user(!records.empty(), path.string() + ": no header line");

  ResultTable table;
  for (const Cell& name : records[0]) {
    check_user(!table.find_column(name.value_or("")),
               path.string() + ": duplicate column name `" + name.value_or("") + "`");
    table.add_column(name.value_or(""));
  }
  for (std::size_t r = 1; r < records.size(); ++r) {
    check_user(records[r].size() == table.num_columns(),
               path.string() + ": record " + std::to_string(r + 1) + " has " +
                   std::to_string(records[r].size()) + " fields, the header has " +
                   std::to_string(table.num_columns()));
    table.add_row(std::move(records[r]));
  }
  for (std::size_t c = 0; c < table.num_columns(); ++c) {
    bool numeric = table.num_rows() > 0;
    bool any = false;
    for (const auto& r : table.rows_) {
      if (!r[c]) continue;
      any = true;
      if (!looks_numeric(*r[c])) numeric = false;
    }
    table.numeric_[c] = numeric && any;
  }
  return table;
}

}  // namespace vlm
