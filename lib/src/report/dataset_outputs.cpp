#include "vlm/report/dataset_outputs.h"

#include <algorithm>
#include <set>

#include "vlm/core/error.h"
#include "vlm/results/json_file.h"
#include "vlm/results/prediction_file.h"
#include "vlm/results/record_file.h"
#include "vlm/results/result_table.h"
#include "vlm/results/work_dir.h"

namespace vlm {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Records of every shard, read without changing them (a run may still be writing). As the merge
// does, a record without an error wins over one with an error.
std::map<std::string, ItemRecord> read_all_records(const std::vector<fs::path>& record_files) {
  std::map<std::string, ItemRecord> records;
  for (const fs::path& f : record_files)
    for (auto& [index, r] : RecordFile::read(f)) {
      auto it = records.find(index);
      if (it == records.end() || it->second.error || !r.error) records[index] = std::move(r);
    }
  return records;
}

// (index, prediction) of a prediction file VLMEvalKit wrote (.xlsx, or .tsv under
// PRED_FORMAT=tsv), read as pandas does.
void read_vlmevalkit_predictions(const fs::path& file, DatasetOutputs& out) {
  out.predictions_file = file;
  const PredictionFile pf = read_prediction_file(file);
  const size_t index_col = pf.column_index("index");
  const size_t pred_col = pf.column_index("prediction");
  std::set<std::string> seen;
  for (size_t r = 0; r < pf.rows.size(); ++r) {
    const std::string index = pf.rows[r][index_col].value_or("nan");
    check_user(seen.insert(index).second, file.string() + " " + pf.row_unit + " " +
                                              std::to_string(pf.lines[r]) + " repeats index " +
                                              index);
    out.predictions.emplace_back(index, pf.rows[r][pred_col].value_or(""));
  }
}

// (index, prediction) of the run's .tsv twin of the predictions.
void read_tsv_predictions(const fs::path& tsv, DatasetOutputs& out) {
  out.predictions_file = tsv;
  const ResultTable table = ResultTable::read_tsv(tsv);
  const auto index_col = table.find_column("index");
  const auto pred_col = table.find_column("prediction");
  check_user(index_col.has_value(), tsv.string() + ": no `index` column");
  check_user(pred_col.has_value(), tsv.string() + ": no `prediction` column");
  std::set<std::string> seen;
  for (size_t r = 0; r < table.num_rows(); ++r) {
    const std::string index = table.at(r, *index_col).value_or("");
    check_user(seen.insert(index).second,
               tsv.string() + ": record " + std::to_string(r + 2) + " repeats index " + index);
    out.predictions.emplace_back(index, table.at(r, *pred_col).value_or(""));
  }
}

// (index, prediction) of the records, in dataset row order.
void record_predictions(const std::map<std::string, ItemRecord>& records, DatasetOutputs& out) {
  std::vector<const ItemRecord*> by_row;
  for (const auto& [index, r] : records) by_row.push_back(&r);
  std::stable_sort(by_row.begin(), by_row.end(),
                   [](const ItemRecord* a, const ItemRecord* b) { return a->row < b->row; });
  for (const ItemRecord* r : by_row) out.predictions.emplace_back(r->index, r->prediction);
}

// Mean ms per stage over the timed records into `out`; returns their total ms (per item `total`
// when recorded, else the sum of its stages).
double record_times(const std::map<std::string, ItemRecord>& records, DatasetOutputs& out) {
  double total_ms = 0;
  for (const auto& [index, r] : records) {
    if (r.times.empty()) continue;
    ++out.timed_items;
    double sum = 0;
    for (const auto& [stage, ms] : r.times) {
      out.ms_per_stage[stage] += ms;
      if (stage != kItemTotalStage) sum += ms;
    }
    auto total = r.times.find(kItemTotalStage);
    total_ms += total != r.times.end() ? total->second : sum;
  }
  for (auto& [stage, ms] : out.ms_per_stage) ms /= static_cast<double>(out.timed_items);
  return total_ms;
}

// items/s of the run: the dataset's own figure, else the sum over its shards (they run side by
// side), else from the records' total time.
void items_per_s(const DatasetReport& entry, double records_total_ms, DatasetOutputs& out) {
  double shard_sum = 0;
  for (const auto& [tag, s] : entry.shards)
    if (s.items_per_s > 0) shard_sum += s.items_per_s;
  if (entry.items_per_s) {
    out.items_per_s = *entry.items_per_s;
    out.items_per_s_source = "run.json";
  } else if (shard_sum > 0) {
    out.items_per_s = shard_sum;
    out.items_per_s_source = "run.json";
  } else if (out.timed_items > 0 && records_total_ms > 0) {
    out.items_per_s = static_cast<double>(out.timed_items) / (records_total_ms / 1000.0);
    out.items_per_s_source = "records";
  }
}

// The scores: the _acc.csv, else an _acc.json (EVAL_FORMAT=json) or _score.json (OCRBench), else
// run.json's.
void read_scores(const RunFolder& run, const DatasetReport& entry, const PairFiles& files,
                 const std::string& dataset, DatasetOutputs& out) {
  const fs::path acc_json = run.folder / (files.stem + "_acc.json");
  const fs::path score_json = run.folder / (files.stem + "_score.json");
  if (fs::exists(files.acc)) {
    out.scores = read_acc_csv(files.acc);
    out.scores_file = files.acc;
  } else if (fs::exists(acc_json) || fs::exists(score_json)) {
    const fs::path p = fs::exists(acc_json) ? acc_json : score_json;
    out.scores = score_cells_from_json(read_json_file(p), p.string());
    out.scores_file = p;
  } else if (!entry.scores.is_null()) {
    const fs::path run_json = run.folder / "run.json";
    out.scores = score_cells_from_json(entry.scores,
                                       run_json.string() + ": datasets." + dataset + ".scores");
    out.scores_file = run_json;
  }
}

}  // namespace

DatasetOutputs read_dataset_outputs(const RunFolder& run, const std::string& dataset) {
  const fs::path run_json = run.folder / "run.json";
  const auto found = run.report.datasets.find(dataset);
  if (found == run.report.datasets.end()) {
    std::string has;
    for (const std::string& d : run.datasets) has += (has.empty() ? "" : ", ") + d;
    throw UserError(run_json.string() + ": no dataset " + dataset +
                    " (it has: " + (has.empty() ? std::string("none") : has) + ")");
  }
  const DatasetReport& entry = found->second;
  DatasetOutputs out;
  out.dataset = dataset;
  const PairFiles files = pair_files(run.folder, run.model, dataset);

  // Per-item times, and the predictions when there is no .tsv.
  const std::vector<fs::path> record_files = pair_record_files(run.folder, files.stem);
  const std::map<std::string, ItemRecord> records = read_all_records(record_files);
  if (run.layout == "vlmevalkit") {
    check_user(entry.predictions_file.has_value(),
               run_json.string() + ": dataset " + dataset + " has no predictions file");
    read_vlmevalkit_predictions(*entry.predictions_file, out);
  } else if (fs::exists(files.predictions_tsv)) {
    read_tsv_predictions(files.predictions_tsv, out);
  } else {
    check_user(!record_files.empty(), "no predictions for " + dataset + " in " +
                                          run.folder.string() + ": neither " +
                                          files.predictions_tsv.filename().string() + " nor " +
                                          files.records.filename().string() + " exists");
    out.predictions_file = record_files.front();
    record_predictions(records, out);
  }
  items_per_s(entry, record_times(records, out), out);
  read_scores(run, entry, files, dataset, out);
  return out;
}

}  // namespace vlm
