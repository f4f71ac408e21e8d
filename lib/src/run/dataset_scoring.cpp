#include "vlm/run/dataset_scoring.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

#include "vlm/core/error.h"
#include "vlm/core/log.h"
#include "vlm/core/python_float.h"
#include "vlm/core/python_str.h"
#include "vlm/eval/circular_eval.h"
#include "vlm/eval/mcq_scorer.h"
#include "vlm/eval/mmmu_preproc.h"
#include "vlm/eval/numpy_mean.h"
#include "vlm/eval/ocrbench_score.h"
#include "vlm/eval/vqa_scorers.h"
#include "vlm/eval/yorn_extraction.h"
#include "vlm/eval/yorn_rating.h"
#include "vlm/results/excel_round_trip.h"
#include "vlm/results/result_table.h"
#include "vlm/run/scorer_table.h"

namespace vlm {
namespace fs = std::filesystem;
using nlohmann::json;

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
  write_score_csv(*out.acc, files.acc);
  out.scores = score_table_json(*out.acc);
  out.files = {files.result, files.acc};
}

}  // namespace

// mcq_vanilla_eval under exact matching, one prediction per item; with `mmmu`, open questions show
// MMMU_preproc's A = answer / B = "Other Answers" in the result file.
DatasetScores score_mcq_vanilla(const ScorerRow& row, const DatasetScoringInput& in, bool mmmu) {
  const Dataset& ds = in.ds;
  const std::vector<std::string> columns = prediction_columns(ds);
  ResultTable result = mcq_result_table(ds, columns);
  result.add_column("hit", true);
  result.add_column("log");

  std::vector<AccItem> acc_items;
  for (const Item* item : items_by_index(ds)) {
    const ItemRecord& r = record_of(in.records, *item, in.spec);
    const bool open = mmmu && std::none_of(item->options.begin(), item->options.end(),
                                           [](const auto& o) { return o.first == 'A'; });
    // The same per-item score the record got.
    const RecordScore s =
        r.error ? row.failed(r.prediction) : row.item(*item, r.prediction, in.can_infer);
    const int hit = s.hit.value_or(0);
    std::vector<ResultTable::Cell> cells;
    for (const std::string& c : columns) {
      if (open && c == "A") {
        cells.push_back(item->answer);
      } else if (open && c == "B") {
        cells.push_back(std::string(kMmmuOtherAnswers));
      } else {
        cells.push_back(field(*item, c.c_str()));
      }
    }
    cells.push_back(r.prediction);
    cells.push_back(std::to_string(hit));
    cells.push_back(s.log);
    result.add_row(cells);
    acc_items.push_back(acc_item(*item, hit));
  }
  DatasetScores out;
  finish_mcq(acc_items, result, in.files, out);
  return out;
}

// mcq_circular_eval under exact matching: items sharing index % 1e6 are one question's rotations;
// the main row (index == group) carries the group's hit and log, other rows only feed it.
DatasetScores score_mcq_circular(const ScorerRow&, const DatasetScoringInput& in) {
  const DatasetSpec& spec = in.spec;
  const Dataset& ds = in.ds;
  const std::map<std::string, ItemRecord>& records = in.records;
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
    const CircularScore s = score_circular_group(variants, in.can_infer);
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
  finish_mcq(acc_items, result, in.files, out);
  return out;
}

namespace {

// A Y/N score table in report_acc's shape, for printing: a "split" column first ("none" when the
// table has none), then every other cell as a float.
ScoreTable acc_from_score_table(const ScoreTable& t) {
  ScoreTable acc;
  const bool has_split = !t.columns.empty() && t.columns[0] == "split";
  acc.columns = {"split"};
  for (size_t c = has_split ? 1 : 0; c < t.columns.size(); ++c) acc.columns.push_back(t.columns[c]);
  for (const auto& row : t.rows) {
    const std::string* split = has_split ? std::get_if<std::string>(&row[0]) : nullptr;
    std::vector<ScoreValue> values{split ? *split : "none"};
    for (size_t c = has_split ? 1 : 0; c < row.size(); ++c)
      values.emplace_back(std::in_place_type<double>, score_number(row[c]));
    acc.rows.push_back(std::move(values));
  }
  return acc;
}

}  // namespace

// ImageYORNDataset.evaluate under exact matching: YOrN_Extraction per item -> {stem}_auxmatch.xlsx
// (prediction columns + extracted + score), then the dataset's rater -> {stem}_score.csv.
DatasetScores score_yorn(const ScorerRow& row, const DatasetScoringInput& in, YornRatingFn rating) {
  const Dataset& ds = in.ds;
  const std::vector<std::string> columns = prediction_columns(ds);
  ResultTable aux;
  for (const std::string& c : columns) aux.add_column(c, numeric_column(ds, c));
  aux.add_column("prediction");
  aux.add_column("extracted");
  aux.add_column("score");  // pandas writes a bool column; here the text True/False

  std::vector<YornItem> items;
  for (const Item& item : ds.items()) {
    const ItemRecord& r = record_of(in.records, item, in.spec);
    // The same per-item score the record got (an item with an error included: upstream extracts
    // from its "Failed to obtain answer" text).
    const RecordScore s = row.item(item, r.prediction, in.can_infer);
    YornItem y;
    y.index = item.index;
    y.answer = item.answer;
    y.extracted = yorn_extraction(r.prediction);
    y.category = field(item, "category");
    y.l2_category = field(item, "l2-category");
    y.image_path = field(item, "image_path");
    std::vector<ResultTable::Cell> cells;
    for (const std::string& c : columns) cells.push_back(field(item, c.c_str()));
    cells.push_back(r.prediction);
    cells.push_back(s.extracted);
    cells.push_back(std::string(s.hit.value_or(0) ? "True" : "False"));
    aux.add_row(cells);
    items.push_back(std::move(y));
  }

  ScoreTable table = rating(items);
  const std::string stem = in.files.predictions.stem().string();
  const fs::path aux_path = in.files.folder / (stem + "_auxmatch.xlsx");
  const fs::path score_path = in.files.folder / (stem + "_score.csv");
  aux.write_xlsx(aux_path);
  write_score_csv(table, score_path);
  DatasetScores out;
  out.acc = acc_from_score_table(table);
  out.scores = score_table_json(table);
  out.table = std::move(table);
  out.files = {aux_path, score_path};
  return out;
}

namespace {

// ---- VQA (ImageVQADataset.evaluate_heuristic, OCRBench.evaluate) ------------------------------

// Python's repr() of a str (the quote it picks, backslash escapes for \\, the quote, \n, \r, \t
// and other C0/C1 controls; other text verbatim), as str(list) prints list items.
std::string python_str_repr(const std::string& s) {
  const bool has_single = s.find('\'') != std::string::npos;
  const bool has_double = s.find('"') != std::string::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (char32_t cp : python_code_points(s)) {
    if (cp == '\\' || cp == static_cast<char32_t>(quote)) {
      out += '\\';
      out += static_cast<char>(cp);
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0)) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned>(cp));
      out += buf;
    } else {
      out += python_from_code_points(std::u32string(1, cp));
    }
  }
  return out + quote;
}

std::string python_list_str(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
  return out + "]";
}

// The split keys of the _acc.csv: Python's set order is hash-seed dependent; ChartQA's two splits
// come out as test_human, test_augmented in every published log, so those go first, then the
// others in order of first appearance.
std::vector<std::string> split_order(const std::vector<std::optional<std::string>>& splits) {
  std::vector<std::string> order;
  for (const char* known : {"test_human", "test_augmented"})
    for (const auto& sp : splits)
      if (sp && *sp == known) {
        order.push_back(known);
        break;
      }
  for (const auto& sp : splits) {
    const std::string name = sp.value_or("nan");
    if (std::find(order.begin(), order.end(), name) == order.end()) order.push_back(name);
  }
  return order;
}

// The _acc.csv row of a VQA dataset: each split's mean hit x 100 (when the TSV has a split
// column), then "Overall"; without a split column, "Overall" then each category's, sorted.
// `acc` gets the same means in [0, 1] for printing.
ScoreTable vqa_acc_table(const std::vector<std::string>& columns,
                         const std::vector<const Item*>& items, const std::vector<double>& hits,
                         ScoreTable& acc) {
  std::vector<std::optional<std::string>> splits;
  for (const Item* item : items) splits.push_back(field(*item, "split"));
  ScoreTable table;
  acc.columns = {"split"};
  acc.rows = {{std::string("none")}};
  std::vector<ScoreValue> row;
  auto add = [&](const std::string& name, const std::vector<double>& h) {
    const double mean = numpy_mean(h);
    table.columns.push_back(name);
    row.push_back(mean * 100);
    acc.columns.push_back(name);
    acc.rows[0].emplace_back(std::in_place_type<double>, mean);
  };
  const bool has_split = std::find(columns.begin(), columns.end(), "split") != columns.end();
  if (has_split) {
    for (const std::string& sp : split_order(splits)) {
      std::vector<double> h;
      for (size_t i = 0; i < hits.size(); ++i)
        if (splits[i].value_or("nan") == sp) h.push_back(hits[i]);
      add(sp, h);
    }
  }
  add("Overall", hits);
  const bool has_category = std::find(columns.begin(), columns.end(), "category") != columns.end();
  if (!has_split && has_category) {
    std::map<std::string, std::vector<double>> by_category;
    for (size_t i = 0; i < hits.size(); ++i)
      by_category[field(*items[i], "category").value_or("nan")].push_back(hits[i]);
    for (const auto& [category, h] : by_category) add(category, h);
  }
  table.rows.push_back(row);
  return table;
}

// The predictions file's columns plus eval_gt, eval_pred, eval_match, eval_score, as VLMEvalKit
// writes {stem}_results.xlsx since 2025-07-23.
ResultTable vqa_result_table(const Dataset& ds, const std::vector<std::string>& columns) {
  ResultTable result;
  for (const std::string& c : columns) result.add_column(c, numeric_column(ds, c));
  result.add_column("prediction");
  result.add_column("eval_gt");
  result.add_column("eval_pred");
  result.add_column("eval_match");
  result.add_column("eval_score", true);
  return result;
}

VqaItemScore chartqa_era_item_score(const std::string& pred, const std::vector<std::string>& gt,
                                    ChartQaEra era) {
  VqaItemScore v;
  for (const std::string& g : gt) v.gt_repr.push_back(python_str_repr(g));
  v.eval_pred = python_strip(pred);
  for (const std::string& g : gt) {
    const bool ok = chartqa_score(pred, {g}, era);
    v.match.push_back(ok ? 1.0 : 0.0);
    v.match_repr.push_back(ok ? "True" : "False");
  }
  v.hit = chartqa_score(pred, gt, era) ? 1.0 : 0.0;
  return v;
}

// OCRBench's score for printing: each group over its maximum, "Overall" = Final Score / 1000.
ScoreTable ocrbench_acc(const OcrBenchScore& score) {
  static const double kMax[] = {300, 200, 200, 200, 100};
  ScoreTable acc;
  acc.columns = {"split"};
  acc.rows = {{std::string("none")}};
  for (size_t g = 0; g < 5; ++g) {
    acc.columns.push_back(score.groups[g].first);
    acc.rows[0].emplace_back(std::in_place_type<double>,
                             static_cast<double>(score.groups[g].second) / kMax[g]);
  }
  acc.columns.push_back("Overall");
  acc.rows[0].emplace_back(std::in_place_type<double>,
                           static_cast<double>(score.final_score) / 1000.0);
  return acc;
}

}  // namespace

VqaItemScore textvqa_item_score(const std::string& pred, const std::vector<std::string>& gt) {
  VqaItemScore v;
  for (const std::string& g : gt) v.gt_repr.push_back(python_str_repr(textvqa_process_answer(g)));
  v.eval_pred = textvqa_process_answer(pred);
  v.match = textvqa_match(pred, gt);
  // min(1, n / 3) keeps the int 1 when it wins.
  for (double m : v.match) v.match_repr.push_back(m == 1.0 ? "1" : python_float_repr(m));
  v.hit = numpy_mean(v.match);
  return v;
}

VqaItemScore anls_item_score(const std::string& pred, const std::vector<std::string>& gt) {
  VqaItemScore v;
  for (const std::string& g : gt) v.gt_repr.push_back(python_str_repr(g));
  v.eval_pred = pred;
  for (const std::string& g : gt) v.match.push_back(anls_distance(g, pred));
  for (double m : v.match) v.match_repr.push_back(python_float_repr(m));
  v.hit = anls_score(pred, gt);
  return v;
}

VqaItemScore chartqa_item_score(const std::string& pred, const std::vector<std::string>& gt) {
  return chartqa_era_item_score(pred, gt, ChartQaEra::kCurrent);
}

VqaItemScore chartqa_classic_item_score(const std::string& pred,
                                        const std::vector<std::string>& gt) {
  return chartqa_era_item_score(pred, gt, ChartQaEra::kClassic);
}

VqaItemScore ocrvqa_item_score(const std::string& pred, const std::vector<std::string>& gt) {
  VqaItemScore v;
  for (const std::string& g : gt) v.gt_repr.push_back(python_str_repr(g));
  v.eval_pred = python_strip(pred);
  for (const std::string& g : gt) {
    v.match.push_back(ocrvqa_score(pred, {g}));
    v.match_repr.push_back(python_float_repr(v.match.back()));
  }
  v.hit = ocrvqa_score(pred, gt);
  return v;
}

// The score files of an ImageVQADataset scorer: {stem}_results.xlsx and {stem}_acc.csv (values
// not rounded); predictions and answers are scored as evaluate() reads them back from the xlsx.
DatasetScores score_vqa(const ScorerRow&, const DatasetScoringInput& in, VqaItemFn item_score,
                        std::optional<ChartQaEra> era) {
  const Dataset& ds = in.ds;
  std::vector<const Item*> items;
  std::vector<std::optional<std::string>> raw_predictions, raw_answers;
  for (const Item& item : ds.items()) {
    items.push_back(&item);
    raw_predictions.push_back(record_of(in.records, item, in.spec).prediction);
    raw_answers.push_back(item.answer);
  }
  // What evaluate() reads back from the predictions xlsx, then str().
  const std::vector<std::string> predictions = excel_round_trip(raw_predictions);
  const std::vector<std::string> answers = excel_round_trip(raw_answers);

  const std::vector<std::string> columns = prediction_columns(ds);
  ResultTable result = vqa_result_table(ds, columns);
  std::vector<double> hits;
  for (size_t i = 0; i < items.size(); ++i) {
    const VqaItemScore v = item_score(predictions[i], vqa_answers(answers[i]));
    std::vector<ResultTable::Cell> row;
    for (const std::string& c : columns) row.push_back(field(*items[i], c.c_str()));
    row.push_back(raw_predictions[i]);
    row.push_back(python_list_str(v.gt_repr));
    row.push_back(v.eval_pred);
    row.push_back(python_list_str(v.match_repr));
    const double score = numpy_mean(v.match);
    row.push_back(std::isnan(score) ? ResultTable::Cell() : python_float_repr(score));
    result.add_row(row);
    hits.push_back(v.hit);
  }

  ScoreTable acc;
  ScoreTable table = vqa_acc_table(columns, items, hits, acc);
  const fs::path result_path = in.files.folder / (in.files.stem + "_results.xlsx");
  result.write_xlsx(result_path);
  write_score_csv(table, in.files.acc);
  DatasetScores out;
  out.scores = json::object();
  for (size_t c = 0; c < table.columns.size(); ++c)
    out.scores[table.columns[c]] = std::get<double>(table.rows[0][c]);
  out.scores["scorer"] = to_string(in.spec.scorer);
  if (era) out.scores["chartqa_era"] = chartqa_era_name(*era);
  out.acc = std::move(acc);
  out.table = std::move(table);
  out.files = {result_path, in.files.acc};
  return out;
}

// OCRBench.evaluate: counts per category -> {model}_OCRBench_score.json (no per-item file, no
// _acc.csv).
DatasetScores score_ocrbench(const ScorerRow&, const DatasetScoringInput& in) {
  const DatasetSpec& spec = in.spec;
  const Dataset& ds = in.ds;
  std::vector<std::optional<std::string>> raw_predictions;
  for (const Item& item : ds.items())
    raw_predictions.push_back(record_of(in.records, item, spec).prediction);
  const std::vector<std::string> predictions = excel_round_trip(raw_predictions);
  std::vector<std::pair<std::string, int64_t>> counts;
  for (size_t i = 0; i < ds.size(); ++i) {
    const Item& item = ds[i];
    const std::string at = spec.name + ": " + ds.path().string() + " line " +
                           std::to_string(item.line) + " (index " + item.index + ")";
    const std::optional<std::string> category = field(item, "category");
    check_user(category.has_value(), at + ": no 'category'");
    // eval(answer) must give a list.
    const std::string answer = item.answer.value_or("nan");
    check_user(answer.size() >= 2 && answer.front() == '[' && answer.back() == ']',
               at + ": column 'answer' must be a Python list literal, got '" + answer + "'");
    std::vector<std::string> answers;
    try {
      answers = parse_list_str(answer);
    } catch (const UserError& e) {
      throw UserError(at + ": column 'answer': " + e.what());
    }
    try {
      counts.emplace_back(*category, ocrbench_hit(*category, answers, predictions[i]) ? 1 : 0);
    } catch (const UserError& e) {
      throw UserError(at + ": column 'category': " + e.what());
    }
  }
  const OcrBenchScore score = ocrbench_score(counts);
  const fs::path path = in.files.folder / (in.files.stem + "_score.json");
  write_ocrbench_score(score, path);
  DatasetScores out;
  out.scores = json::object();
  for (const auto& [key, value] : score.groups) out.scores[key] = value;
  out.scores["Final Score Norm"] = score.final_score_norm();
  out.acc = ocrbench_acc(score);
  out.files = {path};
  return out;
}

DatasetScores score_nothing(const ScorerRow&, const DatasetScoringInput& in) {
  if (in.spec.name == "DocVQA_TEST" || in.spec.name == "InfoVQA_TEST")
    log::info(in.spec.name +
              " is a test split without ground-truth. Thus only the inference part "
              "is supported for those datasets. ");
  return {};
}

DatasetScores score_dataset(const DatasetSpec& spec, const Dataset& ds,
                            const std::map<std::string, ItemRecord>& records,
                            const CanInferOptions& can_infer, const PairFiles& files) {
  const ScorerRow& row = scorer_row(spec.scorer);
  return row.dataset(row, DatasetScoringInput{spec, ds, records, can_infer, files});
}

RecordScore mcq_failed_score(const std::string& prediction) {
  RecordScore out;
  out.extracted = "Z";
  out.hit = 0;
  out.log = mcq_match_log(prediction);
  return out;
}

RecordScore yorn_failed_score(const std::string&) {
  RecordScore out;
  out.extracted = "Unknown";
  out.hit = 0;
  return out;
}

RecordScore failed_record_score(const DatasetSpec& spec, const std::string& prediction) {
  const ScorerRow& row = scorer_row(spec.scorer);
  return row.failed ? row.failed(prediction) : RecordScore{};
}

RecordScore mcq_item_score(const Item& item, const std::string& prediction,
                           const CanInferOptions& can_infer) {
  const ItemScore s = score_mcq_item(prediction, item.options, item.answer.value_or(""), can_infer);
  return {std::string(1, s.option), s.hit, s.log};
}

RecordScore mmmu_item_score(const Item& item, const std::string& prediction,
                            const CanInferOptions& can_infer) {
  const ItemScore s = score_mcq_item(prediction, mmmu_preproc_choices(item.options, item.answer),
                                     mmmu_ground_truth(item.answer), can_infer);
  return {std::string(1, s.option), s.hit, s.log};
}

RecordScore yorn_item_score(const Item& item, const std::string& prediction,
                            const CanInferOptions&) {
  YornItem y;
  y.answer = item.answer;
  y.extracted = yorn_extraction(prediction);
  return {to_string(y.extracted), yorn_score(y) ? 1 : 0, ""};
}

RecordScore record_score(const DatasetSpec& spec, const Item& item, const std::string& prediction,
                         const CanInferOptions& can_infer) {
  const ScorerRow& row = scorer_row(spec.scorer);
  return row.item ? row.item(item, prediction, can_infer) : RecordScore{};
}

}  // namespace vlm
