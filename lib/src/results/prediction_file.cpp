#include "vlm/results/prediction_file.h"

#include <algorithm>
#include <cmath>

#include "vlm/core/error.h"
#include "vlm/core/python_float.h"
#include "vlm/data/xlsx_sheet.h"
#include "vlm/results/excel_round_trip.h"

namespace vlm {
namespace {

// openpyxl's number (int when the stored text has no '.', 'e' or 'E', else float), then pandas'
// _convert_cell (a float with an integral value becomes an int), as text.
std::string number_text(const std::string& stored, const std::string& where) {
  const bool is_float = stored.find_first_of(".eE") != std::string::npos;
  const std::optional<double> v = python_float(stored);
  check_user(v.has_value(), where + ": the number cell holds '" + stored + "'");
  if (!is_float) {
    const std::size_t digits = stored.find_first_not_of("+-");
    if (digits != std::string::npos &&
        stored.find_first_not_of("0123456789", digits) == std::string::npos) {
      std::string s = stored.substr(digits);
      s.erase(0, std::min(s.find_first_not_of('0'), s.size() - 1));
      return (stored[0] == '-' && s != "0" ? "-" : "") + s;
    }
  }
  if (std::isfinite(*v) && std::nearbyint(*v) == *v && std::fabs(*v) < 9.2e18) {
    return std::to_string(static_cast<long long>(*v));
  }
  return python_float_repr(*v);
}

}  // namespace

std::size_t PredictionFile::column_index(const std::string& name) const {
  for (std::size_t i = 0; i < columns.size(); ++i)
    if (columns[i] == name) return i;
  std::string have;
  for (const std::string& c : columns) have += (have.empty() ? "" : ", ") + c;
  throw UserError(path.string() + ": no column '" + name + "' (columns: " + have + ")");
}

namespace {

using RawRows = std::vector<std::vector<std::optional<std::string>>>;  // [row][column]

// A .tsv prediction file's cells as text (NA decided later, with the dtype, as pandas does);
// sets `out`'s columns, row unit and line numbers.
RawRows read_tsv_cells(const std::filesystem::path& path, PredictionFile& out) {
  TsvOptions options;
  options.na_filter = false;
  const TsvTable t = TsvTable::read(path, options);
  out.columns = t.columns();
  out.row_unit = "line";
  RawRows raw;
  for (std::size_t r = 0; r < t.num_rows(); ++r) {
    std::vector<std::optional<std::string>> row;
    for (std::size_t c = 0; c < t.num_columns(); ++c) row.push_back(t.cell(r, c));
    raw.push_back(std::move(row));
    out.lines.push_back(t.line(r));
  }
  return raw;
}

// A .xlsx prediction file's first sheet as text cells, numbers as pandas prints them and entirely
// blank rows dropped (as pandas drops them); sets `out`'s columns, row unit and row numbers.
RawRows read_xlsx_cells(const std::filesystem::path& path, PredictionFile& out) {
  const XlsxSheet sheet = read_xlsx_first_sheet(path);
  out.row_unit = "sheet '" + sheet.name + "' row";
  check_user(!sheet.rows.empty(),
             path.string() + ": sheet '" + sheet.name + "' is empty (no header row)");
  const auto& header = sheet.rows[0];
  for (std::size_t c = 0; c < header.size(); ++c) {
    const XlsxCell& h = header[c];
    out.columns.push_back(h.type == XlsxCell::Type::kEmpty ? "Unnamed: " + std::to_string(c)
                          : h.type == XlsxCell::Type::kNumber
                              ? number_text(h.text, path.string() + " header")
                              : h.text);
  }
  RawRows raw;
  for (std::size_t r = 1; r < sheet.rows.size(); ++r) {
    std::vector<std::optional<std::string>> row;
    const std::string where =
        path.string() + " " + out.row_unit + " " + std::to_string(sheet.row_numbers[r]);
    for (std::size_t c = 0; c < sheet.rows[r].size(); ++c) {
      const XlsxCell& cell = sheet.rows[r][c];
      switch (cell.type) {
        case XlsxCell::Type::kEmpty:
        case XlsxCell::Type::kError:
          row.emplace_back();
          break;
        case XlsxCell::Type::kNumber:
          row.emplace_back(number_text(
              cell.text, where + " column '" +
                             (c < out.columns.size() ? out.columns[c] : std::to_string(c)) + "'"));
          break;
        default:
          row.emplace_back(cell.text);
      }
    }
    if (std::none_of(row.begin(), row.end(), [](const auto& v) { return v.has_value(); })) continue;
    raw.push_back(std::move(row));
    out.lines.push_back(sheet.row_numbers[r]);
  }
  for (std::size_t r = 0; r < raw.size(); ++r)
    check_user(raw[r].size() <= out.columns.size(),
               path.string() + " " + out.row_unit + " " + std::to_string(out.lines[r]) +
                   ": a cell beyond the header's " + std::to_string(out.columns.size()) +
                   " columns");
  return raw;
}

}  // namespace

PredictionFile read_prediction_file(const std::filesystem::path& path) {
  PredictionFile out;
  out.path = path;
  const std::string ext = path.extension().string();
  check_user(std::filesystem::is_regular_file(path),
             "prediction file " + path.string() + " not found");
  RawRows raw;
  if (ext == ".tsv") {
    raw = read_tsv_cells(path, out);
  } else if (ext == ".xlsx") {
    raw = read_xlsx_cells(path, out);
  } else {
    throw UserError("prediction file " + path.string() +
                    ": expected a .xlsx or .tsv file (as VLMEvalKit writes them)");
  }
  // pandas' NA strings and dtype, column by column.
  const std::size_t n = out.columns.size();
  out.rows.assign(raw.size(), std::vector<std::optional<std::string>>(n));
  for (std::size_t c = 0; c < n; ++c) {
    std::vector<std::optional<std::string>> column;
    for (const auto& row : raw) column.push_back(c < row.size() ? row[c] : std::nullopt);
    PandasColumn typed = pandas_column(column);
    out.kinds.push_back(typed.kind);
    for (std::size_t r = 0; r < raw.size(); ++r) out.rows[r][c] = std::move(typed.cells[r]);
  }
  return out;
}

}  // namespace vlm
