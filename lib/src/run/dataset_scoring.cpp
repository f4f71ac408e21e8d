#include "vlm/run/dataset_scoring.h"

#include <cctype>
#include <cmath>

#include "vlm/eval/mcq_scorer.h"
#include "vlm/run/result_table.h"

namespace vlm {
namespace fs = std::filesystem;
using nlohmann::json;

json acc_json(const AccTable& acc) {
  json rows = json::array();
  for (size_t r = 0; r < acc.splits.size(); ++r) {
    json row;
    row["split"] = acc.splits[r];
    for (size_t c = 1; c < acc.columns.size(); ++c) {
      const double v = acc.values[r][c - 1];
      row[acc.columns[c]] = std::isnan(v) ? json(nullptr) : json(v);
    }
    rows.push_back(row);
  }
  return rows;
}

namespace {

// The predictions file's columns (the TSV's minus `image`) and their numeric flags.
std::vector<std::string> prediction_columns(const Dataset& ds) {
  std::vector<std::string> columns;
  for (const std::string& c : ds.columns())
    if (c != "image") columns.push_back(c);
  return columns;
}

bool numeric_column(const Dataset& ds, const std::string& c) {
  return ds.column_kind(c) == ColumnKind::kInt || ds.column_kind(c) == ColumnKind::kFloat;
}

std::optional<std::string> field(const Item& item, const char* name) {
  auto it = item.fields.find(name);
  return it != item.fields.end() ? it->second : std::nullopt;
}

// Multiple choice under exact matching, one prediction per item (no circular groups):
// {model}_{data}_exact_matching_result.xlsx and {model}_{data}_acc.csv.
DatasetScores score_mcq_vanilla(const Dataset& ds, const std::map<std::string, ItemRecord>& records,
                                const CanInferOptions& can_infer, const PairFiles& files) {
  const std::vector<std::string> columns = prediction_columns(ds);
  // The result file: the prediction columns lower-cased (single capital letters kept), + hit, log.
  ResultTable result;
  for (const std::string& c : columns) {
    std::string name = c;
    if (!(name.size() == 1 && name[0] >= 'A' && name[0] <= 'Z'))
      for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    result.add_column(name, numeric_column(ds, c));
  }
  result.add_column("prediction");
  result.add_column("hit", true);
  result.add_column("log");

  std::vector<AccItem> acc_items;
  for (const Item& item : ds.items()) {
    const ItemRecord& r = records.at(item.index);
    ItemScore s;
    if (r.error) {
      s.log = "Match Log: " + r.prediction + ". ";
    } else {
      s = score_mcq_item(r.prediction, item.options, item.answer.value_or(""), can_infer);
    }
    std::vector<ResultTable::Cell> row;
    for (const std::string& c : columns) row.push_back(field(item, c.c_str()));
    row.push_back(r.prediction);
    row.push_back(std::to_string(s.hit));
    row.push_back(s.log);
    result.add_row(row);
    AccItem a;
    a.split = field(item, "split");
    a.category = field(item, "category");
    a.l2_category = field(item, "l2-category");
    a.hit = s.hit;
    acc_items.push_back(a);
  }
  DatasetScores out;
  result.write_xlsx(files.result);
  out.acc = report_acc(acc_items);
  write_acc_csv(*out.acc, files.acc);
  out.scores = acc_json(*out.acc);
  out.files = {files.result, files.acc};
  return out;
}

}  // namespace

DatasetScores score_dataset(const DatasetSpec& spec, const Dataset& ds,
                            const std::map<std::string, ItemRecord>& records,
                            const CanInferOptions& can_infer, const PairFiles& files) {
  if (spec.kind == DatasetKind::kMcq) return score_mcq_vanilla(ds, records, can_infer, files);
  return {};
}

}  // namespace vlm
