#include "vlm/run/dataset_scoring.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "vlm/core/error.h"
#include "vlm/eval/circular_eval.h"
#include "vlm/eval/mcq_scorer.h"
#include "vlm/eval/mmmu_preproc.h"
#include "vlm/eval/yorn_extraction.h"
#include "vlm/eval/yorn_rating.h"
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

const ItemRecord& record_of(const std::map<std::string, ItemRecord>& records, const Item& item,
                            const DatasetSpec& spec) {
  auto it = records.find(item.index);
  check_user(it != records.end(), spec.name + ": item " + item.index + " (line " +
                                      std::to_string(item.line) + ") has no record to score");
  return it->second;
}

// ImageMCQDataset.evaluate: data.sort_values(by='index') — numbers when every index is an int,
// else strings (byte order). Stable, so equal keys keep file order.
std::vector<const Item*> items_by_index(const Dataset& ds) {
  std::vector<const Item*> items;
  for (const Item& item : ds.items()) items.push_back(&item);
  const bool ints = ds.index_is_int();
  std::stable_sort(items.begin(), items.end(), [ints](const Item* a, const Item* b) {
    if (ints && a->index_int && b->index_int) return *a->index_int < *b->index_int;
    return a->index < b->index;
  });
  return items;
}

// The result file's columns: the prediction columns lower-cased except single capital letters
// (ImageMCQDataset.evaluate), in the same order.
ResultTable mcq_result_table(const Dataset& ds, const std::vector<std::string>& columns) {
  ResultTable result;
  for (const std::string& c : columns) {
    std::string name = c;
    if (!(name.size() == 1 && name[0] >= 'A' && name[0] <= 'Z'))
      for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    result.add_column(name, numeric_column(ds, c));
  }
  result.add_column("prediction");
  return result;
}

AccItem acc_item(const Item& item, int hit) {
  AccItem a;
  a.split = field(item, "split");
  a.category = field(item, "category");
  a.l2_category = field(item, "l2-category");
  a.hit = hit;
  return a;
}

// report_acc (MMB_abbrs applies to every dataset, as upstream) -> {stem}_acc.csv.
void finish_mcq(const std::vector<AccItem>& acc_items, const ResultTable& result,
                const PairFiles& files, DatasetScores& out) {
  result.write_xlsx(files.result);
  AccReportOptions options;
  options.abbreviations = mmbench_abbreviations();
  out.acc = report_acc(acc_items, options);
  write_acc_csv(*out.acc, files.acc);
  out.scores = acc_json(*out.acc);
  out.files = {files.result, files.acc};
}

// mcq_vanilla_eval under exact matching, one prediction per item; with `mmmu`, MMMU_preproc turns
// open questions into A = answer / B = "Other Answers" (the result file shows the new A and B) and
// a non-letter answer is scored as "A".
DatasetScores score_mcq_vanilla(const DatasetSpec& spec, const Dataset& ds,
                                const std::map<std::string, ItemRecord>& records,
                                const CanInferOptions& can_infer, const PairFiles& files,
                                bool mmmu) {
  const std::vector<std::string> columns = prediction_columns(ds);
  ResultTable result = mcq_result_table(ds, columns);
  result.add_column("hit", true);
  result.add_column("log");

  std::vector<AccItem> acc_items;
  for (const Item* item : items_by_index(ds)) {
    const ItemRecord& r = record_of(records, *item, spec);
    const bool open = mmmu && std::none_of(item->options.begin(), item->options.end(),
                                           [](const auto& o) { return o.first == 'A'; });
    ItemScore s;
    if (r.error) {
      s.log = "Match Log: " + r.prediction + ". ";
    } else if (mmmu) {
      s = score_mcq_item(r.prediction, mmmu_preproc_choices(item->options, item->answer),
                         mmmu_ground_truth(item->answer), can_infer);
    } else {
      s = score_mcq_item(r.prediction, item->options, item->answer.value_or(""), can_infer);
    }
    std::vector<ResultTable::Cell> row;
    for (const std::string& c : columns) {
      if (open && c == "A") {
        row.push_back(item->answer);
      } else if (open && c == "B") {
        row.push_back(std::string(kMmmuOtherAnswers));
      } else {
        row.push_back(field(*item, c.c_str()));
      }
    }
    row.push_back(r.prediction);
    row.push_back(std::to_string(s.hit));
    row.push_back(s.log);
    result.add_row(row);
    acc_items.push_back(acc_item(*item, s.hit));
  }
  DatasetScores out;
  finish_mcq(acc_items, result, files, out);
  return out;
}

// mcq_circular_eval under exact matching: items sharing index % 1e6 are one question's rotations;
// the main row (index == group) carries the group's hit and log, other rows only feed it.
DatasetScores score_mcq_circular(const DatasetSpec& spec, const Dataset& ds,
                                 const std::map<std::string, ItemRecord>& records,
                                 const CanInferOptions& can_infer, const PairFiles& files) {
  check_user(ds.index_is_int(), spec.name + ": circular evaluation needs integer indices (" +
                                    ds.path().string() + " has other values)");
  const std::vector<const Item*> sorted = items_by_index(ds);
  std::map<int64_t, std::vector<const Item*>> groups;  // g_index -> rows, ascending index
  for (const Item* item : sorted) groups[circular_group_index(*item->index_int)].push_back(item);

  const std::vector<std::string> columns = prediction_columns(ds);
  const bool has_g_index = std::find(columns.begin(), columns.end(), "g_index") != columns.end();
  ResultTable result = mcq_result_table(ds, columns);
  if (!has_g_index) result.add_column("g_index", true);
  result.add_column("hit", true);
  result.add_column("log");

  std::vector<AccItem> acc_items;
  for (const Item* item : sorted) {
    const int64_t g = circular_group_index(*item->index_int);
    if (*item->index_int != g) continue;  // not a main row
    std::vector<CircularVariant> variants;
    for (const Item* v : groups.at(g)) {
      CircularVariant cv;
      cv.index = *v->index_int;
      cv.prediction = record_of(records, *v, spec).prediction;
      cv.choices = v->options;
      cv.answer = v->answer.value_or("");
      variants.push_back(std::move(cv));
    }
    const CircularScore s = score_circular_group(variants, can_infer);
    std::vector<ResultTable::Cell> row;
    for (const std::string& c : columns) row.push_back(field(*item, c.c_str()));
    row.push_back(record_of(records, *item, spec).prediction);
    if (!has_g_index) row.push_back(std::to_string(g));
    row.push_back(std::to_string(s.hit));
    row.push_back(s.log);
    result.add_row(row);
    acc_items.push_back(acc_item(*item, s.hit));
  }
  DatasetScores out;
  finish_mcq(acc_items, result, files, out);
  return out;
}

// A Y/N score table in report_acc's shape, for printing.
AccTable acc_from_score_table(const ScoreTable& t) {
  AccTable acc;
  const bool has_split = !t.columns.empty() && t.columns[0] == "split";
  acc.columns = {"split"};
  for (size_t c = has_split ? 1 : 0; c < t.columns.size(); ++c) acc.columns.push_back(t.columns[c]);
  for (const auto& row : t.rows) {
    std::vector<double> values;
    for (size_t c = has_split ? 1 : 0; c < row.size(); ++c) values.push_back(score_number(row[c]));
    const std::string* split = has_split ? std::get_if<std::string>(&row[0]) : nullptr;
    acc.splits.push_back(split ? *split : "none");
    acc.values.push_back(std::move(values));
  }
  return acc;
}

// ImageYORNDataset.evaluate under exact matching: YOrN_Extraction per item -> {stem}_auxmatch.xlsx
// (prediction columns + extracted + score), then the dataset's rater -> {stem}_score.csv.
DatasetScores score_yorn(const DatasetSpec& spec, const Dataset& ds,
                         const std::map<std::string, ItemRecord>& records, const PairFiles& files) {
  const std::vector<std::string> columns = prediction_columns(ds);
  ResultTable aux;
  for (const std::string& c : columns) aux.add_column(c, numeric_column(ds, c));
  aux.add_column("prediction");
  aux.add_column("extracted");
  aux.add_column("score");  // pandas writes a bool column; here the text True/False

  std::vector<YornItem> items;
  for (const Item& item : ds.items()) {
    const ItemRecord& r = record_of(records, item, spec);
    YornItem y;
    y.index = item.index;
    y.answer = item.answer;
    y.extracted = yorn_extraction(r.prediction);
    y.category = field(item, "category");
    y.l2_category = field(item, "l2-category");
    y.image_path = field(item, "image_path");
    std::vector<ResultTable::Cell> row;
    for (const std::string& c : columns) row.push_back(field(item, c.c_str()));
    row.push_back(r.prediction);
    row.push_back(std::string(to_string(y.extracted)));
    row.push_back(std::string(yorn_score(y) ? "True" : "False"));
    aux.add_row(row);
    items.push_back(std::move(y));
  }

  ScoreTable table;
  if (spec.scorer == "yn_mme") {
    table = mme_rating(items);
  } else if (spec.scorer == "yn_hallusion") {
    table = hallusion_rating(items);
  } else if (spec.scorer == "yn_pope") {
    table = pope_rating(items);
  } else {
    table = default_rating(items);
  }
  const std::string stem = files.predictions.stem().string();
  const fs::path aux_path = files.folder / (stem + "_auxmatch.xlsx");
  const fs::path score_path = files.folder / (stem + "_score.csv");
  aux.write_xlsx(aux_path);
  write_score_csv(table, score_path);
  DatasetScores out;
  out.acc = acc_from_score_table(table);
  out.scores = score_table_json(table);
  out.table = std::move(table);
  out.files = {aux_path, score_path};
  return out;
}

}  // namespace

DatasetScores score_dataset(const DatasetSpec& spec, const Dataset& ds,
                            const std::map<std::string, ItemRecord>& records,
                            const CanInferOptions& can_infer, const PairFiles& files) {
  const std::string& s = spec.scorer;
  if (s == "mcq_exact") return score_mcq_vanilla(spec, ds, records, can_infer, files, false);
  if (s == "mcq_mmmu") return score_mcq_vanilla(spec, ds, records, can_infer, files, true);
  if (s == "mcq_circular") return score_mcq_circular(spec, ds, records, can_infer, files);
  if (s == "yn_exact" || s == "yn_mme" || s == "yn_hallusion" || s == "yn_pope")
    return score_yorn(spec, ds, records, files);
  check_user(s == "none" || s.empty(), spec.name + ": unknown scorer '" + s + "'");
  return {};
}

RecordScore record_score(const DatasetSpec& spec, const Item& item, const std::string& prediction,
                         const CanInferOptions& can_infer) {
  RecordScore out;
  if (spec.kind == DatasetKind::kMcq) {
    const bool mmmu = spec.scorer == "mcq_mmmu";
    const ItemScore s =
        mmmu ? score_mcq_item(prediction, mmmu_preproc_choices(item.options, item.answer),
                              mmmu_ground_truth(item.answer), can_infer)
             : score_mcq_item(prediction, item.options, item.answer.value_or(""), can_infer);
    out.extracted = std::string(1, s.option);
    out.hit = s.hit;
    out.log = s.log;
  } else if (spec.kind == DatasetKind::kYn) {
    YornItem y;
    y.answer = item.answer;
    y.extracted = yorn_extraction(prediction);
    out.extracted = to_string(y.extracted);
    out.hit = yorn_score(y) ? 1 : 0;
  }
  return out;
}

}  // namespace vlm
