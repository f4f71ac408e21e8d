#include "vlm/run/prediction_scoring.h"

#include <unistd.h>

#include <ctime>
#include <fstream>
#include <map>
#include <set>

#include "vlm/core/error.h"
#include "vlm/core/log.h"
#include "vlm/data/dataset.h"
#include "vlm/data/dataset_spec.h"
#include "vlm/results/pandas_csv.h"
#include "vlm/results/prediction_file.h"
#include "vlm/results/result_table.h"
#include "vlm/results/run_journal.h"
#include "vlm/results/work_dir.h"
#include "vlm/run/dataset_scoring.h"
#include "vlm/run/scorer_table.h"

namespace vlm {
namespace fs = std::filesystem;

namespace {

bool numeric_kind(ColumnKind k) {
  return k == ColumnKind::kInt || k == ColumnKind::kFloat;
}

// The columns the file needs (index, and those the dataset's scorer reads) and one row per index;
// UserError naming the file, the row and the column otherwise.
void check_prediction_rows(const PredictionFile& pf, const DatasetSpec& spec,
                           const fs::path& file) {
  const size_t index_col = pf.column_index("index");
  for (const std::string& c : scorer_row(spec.scorer).columns) pf.column_index(c);
  std::map<std::string, size_t> seen;
  for (size_t r = 0; r < pf.rows.size(); ++r) {
    const std::string index = pf.rows[r][index_col].value_or("nan");
    auto [it, fresh] = seen.emplace(index, pf.lines[r]);
    check_user(fresh, file.string() + " " + pf.row_unit + " " + std::to_string(pf.lines[r]) +
                          ": column 'index': " + index + " repeats " + pf.row_unit + " " +
                          std::to_string(it->second));
  }
}

// The file's `data_cols` as a dataset, written as a TSV under a temporary folder in `folder` and
// read back through the dataset reader (no md5 check), so that items carry what the scorers expect.
std::unique_ptr<Dataset> read_back_dataset(const PredictionFile& pf,
                                           const std::vector<size_t>& data_cols,
                                           const DatasetSpec& spec, const std::string& data_name,
                                           const fs::path& folder) {
  std::vector<std::optional<std::string>> header;
  for (size_t c : data_cols) header.emplace_back(pf.columns[c]);
  std::string tsv = csv_quote_all_record(header, '\t');
  for (const auto& row : pf.rows) {
    std::vector<std::optional<std::string>> fields;
    for (size_t c : data_cols) fields.push_back(row[c]);
    tsv += csv_quote_all_record(fields, '\t');
  }
  std::error_code ec;
  const fs::path tmp = folder / (".predictions." + std::to_string(::getpid()));
  fs::create_directories(tmp, ec);
  check_user(!ec, "cannot create " + tmp.string() + ": " + ec.message());
  DatasetSpec cut = spec;
  cut.md5.clear();
  cut.file = data_name + ".tsv";
  std::unique_ptr<Dataset> ds;
  try {
    std::ofstream(tmp / cut.file, std::ios::binary) << tsv;
    ds = std::make_unique<Dataset>(cut, tmp);
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  fs::remove_all(tmp, ec);
  return ds;
}

}  // namespace

PairResult score_prediction_file(const RunOptions& o, const std::string& model,
                                 const std::string& data_name, const fs::path& file) {
  check_user(!model.empty(), "--predictions needs --model NAME (the run folder is named by it)");
  const DatasetSpec spec = resolve_dataset(data_name, o.configs_dir / "datasets", o.data_root);
  const PredictionFile pf = read_prediction_file(file);
  const size_t pred_col = pf.column_index("prediction");
  check_prediction_rows(pf, spec, file);

  // The file's rows as the dataset (every column but `prediction` and `image`), read back
  // through the dataset reader so that items carry what the scorers expect.
  std::vector<size_t> data_cols;
  for (size_t c = 0; c < pf.columns.size(); ++c)
    if (c != pred_col && pf.columns[c] != "image") data_cols.push_back(c);
  const fs::path folder = o.work_dir / model / eval_id(o.commit, std::time(nullptr));
  std::error_code ec;
  fs::create_directories(folder, ec);
  check_user(!ec, "cannot create the run folder " + folder.string() + ": " + ec.message());
  const std::unique_ptr<Dataset> ds = read_back_dataset(pf, data_cols, spec, data_name, folder);
  check_internal(ds->size() == pf.rows.size(),
                 "score_prediction_file: " + std::to_string(ds->size()) + " items from " +
                     std::to_string(pf.rows.size()) + " rows");
  std::map<std::string, ItemRecord> records;
  for (size_t r = 0; r < pf.rows.size(); ++r) {
    ItemRecord rec;
    rec.index = (*ds)[r].index;
    rec.row = r;
    rec.prediction = pf.rows[r][pred_col].value_or("nan");  // evaluate(): str(x)
    records.emplace(rec.index, std::move(rec));
  }

  const PairFiles files = pair_files(folder, model, data_name);
  std::error_code same_ec;
  if (!fs::equivalent(file, files.predictions, same_ec) &&
      !fs::equivalent(file, files.predictions_tsv, same_ec)) {
    ResultTable pred;
    for (size_t c : data_cols) pred.add_column(pf.columns[c], numeric_kind(pf.kinds[c]));
    pred.add_column("prediction");
    for (const auto& row : pf.rows) {
      std::vector<ResultTable::Cell> cells;
      for (size_t c : data_cols) cells.push_back(row[c]);
      cells.push_back(row[pred_col]);
      pred.add_row(cells);
    }
    pred.write_xlsx(files.predictions);
    pred.write_tsv(files.predictions_tsv);
  }

  log::info(model + "/" + data_name + ": scoring " + std::to_string(pf.rows.size()) +
            " predictions of " + file.string() + " (" + to_string(spec.scorer) + ")");
  const DatasetScores scores = score_dataset(spec, *ds, records, o.can_infer, files);
  link_pair_files(folder, files.stem);

  update_run_report(folder, [&](RunReport& r) {
    r.eval_id = folder.filename().string();
    r.commit = o.commit;
    if (!r.config) r.config.emplace();
    r.config->mode = "eval";
    r.config->models = std::vector<std::string>{model};
    DatasetReport& d = r.datasets[data_name];
    d.dataset = data_name;
    d.predictions_file = fs::absolute(file).string();
    d.kind = to_string(spec.kind);
    d.scorer = to_string(spec.scorer);
    d.items = pf.rows.size();
    if (!scores.scores.is_null()) d.scores = scores.scores;
  });

  PairResult res;
  res.model = model;
  res.dataset = data_name;
  res.folder = folder;
  res.items = pf.rows.size();
  res.merged = true;
  res.acc = scores.acc;
  return res;
}

}  // namespace vlm
