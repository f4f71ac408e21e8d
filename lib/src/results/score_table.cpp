#include "vlm/results/score_table.h"

#include <cmath>
#include <limits>

#include "vlm/core/error.h"
#include "vlm/core/python_float.h"
#include "vlm/results/atomic_file.h"
#include "vlm/results/pandas_csv.h"

namespace vlm {

const ScoreValue& ScoreTable::at(size_t row, const std::string& column) const {
  for (size_t c = 0; c < columns.size(); ++c)
    if (columns[c] == column) return rows.at(row).at(c);
  throw InternalError("score table has no column '" + column + "'");
}

double ScoreTable::number(size_t row, size_t column) const {
  return score_number(rows.at(row).at(column));
}

std::vector<std::string> split_names(const ScoreTable& table) {
  std::vector<std::string> out;
  for (const auto& row : table.rows) {
    const std::string* s = row.empty() ? nullptr : std::get_if<std::string>(&row[0]);
    out.push_back(s ? *s : "");
  }
  return out;
}

double score_number(const ScoreValue& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  if (const auto* d = std::get_if<double>(&v)) return *d;
  return std::numeric_limits<double>::quiet_NaN();
}

std::string score_table_csv(const ScoreTable& table) {
  std::vector<bool> float_column(table.columns.size(), false);
  for (const auto& row : table.rows)
    for (size_t c = 0; c < row.size() && c < float_column.size(); ++c)
      if (std::holds_alternative<double>(row[c])) float_column[c] = true;

  std::vector<std::optional<std::string>> header(table.columns.begin(), table.columns.end());
  std::string out = csv_quote_all_record(header);
  for (const auto& row : table.rows) {
    std::vector<std::optional<std::string>> record;
    for (size_t c = 0; c < row.size(); ++c) {
      const ScoreValue& v = row[c];
      if (const auto* s = std::get_if<std::string>(&v)) {
        record.push_back(*s);
      } else if (const auto* i = std::get_if<int64_t>(&v)) {
        record.push_back(float_column[c] ? python_float_repr(static_cast<double>(*i))
                                         : std::to_string(*i));
      } else {
        const double d = std::get<double>(v);
        record.push_back(std::isnan(d) ? std::nullopt
                                       : std::optional<std::string>(python_float_repr(d)));
      }
    }
    out += csv_quote_all_record(record);
  }
  return out;
}

void write_score_csv(const ScoreTable& table, const std::filesystem::path& path) {
  write_file_atomically(path, score_table_csv(table));
}

nlohmann::json score_table_json(const ScoreTable& table) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& row : table.rows) {
    nlohmann::json obj = nlohmann::json::object();
    for (size_t c = 0; c < row.size() && c < table.columns.size(); ++c) {
      const ScoreValue& v = row[c];
      if (const auto* s = std::get_if<std::string>(&v)) {
        obj[table.columns[c]] = *s;
      } else {
        const double d = score_number(v);
        obj[table.columns[c]] = std::isnan(d) ? nlohmann::json(nullptr) : nlohmann::json(d);
      }
    }
    rows.push_back(obj);
  }
  return rows;
}

}  // namespace vlm
