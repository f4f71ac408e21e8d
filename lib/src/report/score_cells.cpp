#include "vlm/report/score_cells.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>

#include "vlm/core/error.h"

namespace vlm {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// CSV records (',' separated; quoted fields with "" escapes and line breaks; '\n' or "\r\n").
std::vector<std::vector<std::string>> parse_csv(const std::string& text,
                                                const std::filesystem::path& path) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string field;
  size_t line = 1, record_line = 1;
  size_t i = 0;
  bool field_started = false;
  auto end_field = [&] {
    record.push_back(std::move(field));
    field.clear();
    field_started = false;
  };
  while (i < text.size()) {
    const char c = text[i];
    if (c == '"' && !field_started) {
      field_started = true;
      ++i;
      for (;;) {
        check_user(i < text.size(), path.string() + ":" + std::to_string(record_line) +
                                        ": unterminated quoted field");
        if (text[i] == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        if (text[i] == '\n') ++line;
        field += text[i++];
      }
      check_user(i >= text.size() || text[i] == ',' || text[i] == '\n' || text[i] == '\r',
                 path.string() + ":" + std::to_string(line) + ": text after a closing quote");
      continue;
    }
    if (c == ',') {
      end_field();
      ++i;
    } else if (c == '\n' || c == '\r') {
      end_field();
      records.push_back(std::move(record));
      record.clear();
      i += (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ? 2 : 1;
      record_line = ++line;
    } else {
      field_started = true;
      field += c;
      ++i;
    }
  }
  if (field_started || !record.empty()) {
    end_field();
    records.push_back(std::move(record));
  }
  return records;
}

double parse_number(const std::string& s, const std::string& where) {
  if (s.empty()) return kNaN;
  if (s == "nan" || s == "NaN") return kNaN;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  check_user(end == s.c_str() + s.size(), where + ": `" + s + "` is not a number");
  return v;
}

void flatten(const nlohmann::json& j, const std::string& prefix, std::vector<ScoreCell>& out) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string key = prefix.empty() ? it.key() : prefix + "/" + it.key();
    if (it->is_number())
      out.push_back({"none", key, it->get<double>()});
    else if (it->is_null())
      out.push_back({"none", key, kNaN});
    else if (it->is_object())
      flatten(*it, key, out);
  }
}

}  // namespace

std::vector<ScoreCell> read_acc_csv(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  check_user(static_cast<bool>(in), "cannot read score file " + path.string());
  std::stringstream ss;
  ss << in.rdbuf();
  const auto records = parse_csv(ss.str(), path);
  check_user(!records.empty(), path.string() + ": empty score file (no header line)");
  const std::vector<std::string>& header = records[0];
  size_t split_col = header.size();
  for (size_t c = 0; c < header.size(); ++c)
    if (header[c] == "split") split_col = c;
  // VLMEvalKit's VQA tables have no `split` column ("Overall" alone, or "val","Overall"): their
  // one row is split "none".
  const bool has_split = split_col < header.size();
  std::vector<ScoreCell> cells;
  for (size_t r = 1; r < records.size(); ++r) {
    const std::string where = path.string() + ": record " + std::to_string(r + 1);
    if (records[r].size() == 1 && records[r][0].empty()) continue;  // blank line
    check_user(records[r].size() == header.size(),
               where + " has " + std::to_string(records[r].size()) + " fields, the header has " +
                   std::to_string(header.size()));
    for (size_t c = 0; c < header.size(); ++c) {
      if (c == split_col) continue;
      cells.push_back({has_split ? records[r][split_col] : std::string("none"), header[c],
                       parse_number(records[r][c], where + ", column " + header[c])});
    }
  }
  return cells;
}

std::vector<ScoreCell> score_cells_from_json(const nlohmann::json& scores,
                                             const std::string& where) {
  std::vector<ScoreCell> cells;
  if (scores.is_null()) return cells;
  if (scores.is_array()) {
    for (size_t r = 0; r < scores.size(); ++r) {
      const nlohmann::json& row = scores[r];
      check_user(row.is_object(),
                 where + ": scores row " + std::to_string(r) + " is not an object");
      // The row's name: its `split`, else its first text cell (a score table's row label).
      std::string label_key = row.contains("split") ? "split" : "";
      if (label_key.empty())
        for (auto it = row.begin(); it != row.end(); ++it)
          if (it->is_string()) {
            label_key = it.key();
            break;
          }
      const std::string split = !label_key.empty() && row[label_key].is_string()
                                    ? row[label_key].get<std::string>()
                                    : "none";
      for (auto it = row.begin(); it != row.end(); ++it) {
        if (it.key() == label_key) continue;
        if (it->is_number())
          cells.push_back({split, it.key(), it->get<double>()});
        else if (it->is_null())
          cells.push_back({split, it.key(), kNaN});
      }
    }
    return cells;
  }
  check_user(scores.is_object(), where + ": scores is neither a list of rows nor an object");
  flatten(scores, "", cells);
  return cells;
}

std::optional<double> overall_score(const std::vector<ScoreCell>& cells) {
  const ScoreCell* pick = nullptr;
  for (const ScoreCell& c : cells)
    if (c.metric == "Overall" && c.split == "none") {
      pick = &c;
      break;
    }
  if (!pick)
    for (const ScoreCell& c : cells)
      if (c.metric == "Overall") {
        pick = &c;
        break;
      }
  if (!pick && !cells.empty()) pick = &cells.front();
  if (!pick || std::isnan(pick->value)) return std::nullopt;
  return pick->value;
}

}  // namespace vlm
