#include "vlm/eval/acc_report.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "vlm/core/error.h"

namespace vlm {
namespace {

using Field = std::optional<std::string> AccItem::*;

// Whether any item has the column; then every item must have it.
bool column_present(const std::vector<AccItem>& items, Field field, const char* name) {
  const bool present = std::any_of(items.begin(), items.end(),
                                   [&](const AccItem& item) { return (item.*field).has_value(); });
  if (!present) return false;
  for (std::size_t i = 0; i < items.size(); ++i) {
    check_user((items[i].*field).has_value(), std::string("report_acc: item ") + std::to_string(i) +
                                                  " has no `" + name +
                                                  "` value, but other items have one");
  }
  return true;
}

// np.mean of the hits of items in `split` (and, when `field` is set, with that group value).
double mean_hit(const std::vector<AccItem>& items, const std::string& split, bool has_split,
                Field field, const std::string& group) {
  long sum = 0;
  long count = 0;
  for (const AccItem& item : items) {
    if (has_split && *item.split != split) continue;
    if (field != nullptr && *(item.*field) != group) continue;
    sum += item.hit;
    ++count;
  }
  if (count == 0) return std::numeric_limits<double>::quiet_NaN();
  return static_cast<double>(sum) / static_cast<double>(count);
}

}  // namespace

std::map<std::string, std::string> mmbench_abbreviations() {
  return {
      {"coarse_perception", "CP"},
      {"finegrained_perception (instance-level)", "FP-S"},
      {"finegrained_perception (cross-instance)", "FP-C"},
      {"logic_reasoning", "LR"},
      {"relation_reasoning", "RR"},
      {"attribute_reasoning", "AR"},
  };
}

ScoreTable report_acc(const std::vector<AccItem>& items, const AccReportOptions& options) {
  // report_acc's columns, split names and [split][column - 1] means, assembled at the end.
  struct {
    std::vector<std::string> columns, splits;
    std::vector<std::vector<double>> values;
  } table;
  const bool has_split = column_present(items, &AccItem::split, "split");
  if (has_split) {
    std::set<std::string> splits;
    for (const AccItem& item : items) splits.insert(*item.split);
    table.splits.assign(splits.begin(), splits.end());
  } else {
    table.splits = {"none"};
  }
  table.columns = {"split"};
  table.values.assign(table.splits.size(), {});

  auto set_column = [&](const std::string& name, Field field, const std::string& group) {
    check_user(name != "split", "report_acc: a category named \"split\" is not supported");
    auto it = std::find(table.columns.begin(), table.columns.end(), name);
    const std::size_t col = static_cast<std::size_t>(it - table.columns.begin()) - 1;
    if (it == table.columns.end()) table.columns.push_back(name);
    for (std::size_t r = 0; r < table.splits.size(); ++r) {
      const double v = mean_hit(items, table.splits[r], has_split, field, group);
      if (col < table.values[r].size()) {
        table.values[r][col] = v;
      } else {
        table.values[r].push_back(v);
      }
    }
  };

  set_column("Overall", nullptr, "");
  const std::pair<Field, const char*> groups[] = {{&AccItem::l2_category, "l2-category"},
                                                  {&AccItem::category, "category"}};
  for (const auto& [field, name] : groups) {
    if (!column_present(items, field, name)) continue;
    std::set<std::string> values;  // std::string order is byte order = code point order in UTF-8
    for (const AccItem& item : items) values.insert(*(item.*field));
    for (const std::string& value : values) {
      const auto abbr = options.abbreviations.find(value);
      set_column(abbr == options.abbreviations.end() ? value : abbr->second, field, value);
    }
  }
  ScoreTable out;
  out.columns = table.columns;
  for (std::size_t r = 0; r < table.splits.size(); ++r) {
    std::vector<ScoreValue> row{table.splits[r]};
    row.insert(row.end(), table.values[r].begin(), table.values[r].end());
    out.rows.push_back(std::move(row));
  }
  return out;
}

}  // namespace vlm
