#include "vlm/run/evaluation.h"

#include <torch/cuda.h>
#include <torch/version.h>

#include <cstdint>
#include <fstream>

#include "vlm/core/error.h"
#include "vlm/core/log.h"
#include "vlm/data/dataset.h"
#include "vlm/data/internvl_prompt.h"
#include "vlm/eval/atomic_file.h"
#include "vlm/eval/mcq_scorer.h"
#include "vlm/model/loaded_model.h"
#include "vlm/run/model_config.h"
#include "vlm/run/dataset_scoring.h"
#include "vlm/run/model_session.h"
#include "vlm/run/placement_setup.h"
#include "vlm/run/record_file.h"
#include "vlm/run/result_table.h"
#include "vlm/run/work_dir.h"

namespace vlm {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int64_t kTextBudget = 2048;  // positions reserved for the text of a prompt

// The model to run: its config (from configs/models, or defaults for a bare --model-dir), its
// directory and manifest (read once).
struct ResolvedModel {
  ModelConfig config;
  fs::path dir;
  Manifest manifest;
};

ResolvedModel resolve_model(const std::string& name, const RunOptions& o) {
  ResolvedModel r;
  const fs::path models_dir = o.configs_dir / "models";
  if (!o.model_dir.empty()) {
    r.dir = o.model_dir;
    r.manifest = load_manifest(r.dir);
    const std::string run_name = name.empty() ? r.manifest.name : name;
    const auto known = known_model_names(models_dir);
    // A known name takes its config; otherwise VLMEvalKit's InternVL2 defaults apply.
    if (std::find(known.begin(), known.end(), run_name) != known.end())
      r.config = load_model_config(run_name, models_dir);
    r.config.name = run_name;
    return r;
  }
  r.config = load_model_config(name, models_dir);
  check_user(!o.model_root.empty(), "model " + name +
                                        ": no model root; pass --model-root DIR or set "
                                        "VLMEVAL_MODEL_ROOT (or run an export with --model-dir)");
  r.dir = o.model_root / r.config.model_dir;
  check_user(fs::is_directory(r.dir),
             "model " + name + ": exported model directory " + r.dir.string() +
                 " does not exist; make it with: scripts/export_internvl2.py --checkpoint <" +
                 (r.config.checkpoint.empty() ? "checkpoint dir" : r.config.checkpoint) +
                 " download> --out " + r.dir.string());
  r.manifest = load_manifest(r.dir);
  return r;
}

std::string placement_name(const ModelConfig& cfg, const RunOptions& o) {
  return o.placement.empty() ? cfg.placement : o.placement;
}

// The largest tiles-per-image among the run's datasets (one image per item).
int max_tiles_of_run(const ModelConfig& cfg, const RunOptions& o) {
  int tiles = cfg.max_tiles_default;
  for (const std::string& d : o.datasets) tiles = std::max(tiles, cfg.tiles_for(d, 1));
  return tiles;
}

PlacementPlan plan_for_run(const Manifest& manifest, const ModelConfig& cfg, const RunOptions& o) {
  const int64_t max_new = o.max_new_tokens.value_or(cfg.max_new_tokens);
  return plan_placement(manifest, placement_name(cfg, o), o.device,
                        run_capacity(manifest, max_tiles_of_run(cfg, o), 1, kTextBudget, max_new),
                        o.configs_dir / "placements");
}

// The dataset's spec, once its TSV is known to exist under the data root.
DatasetSpec require_dataset_file(const std::string& data_name, const RunOptions& o) {
  const DatasetSpec spec = resolve_dataset(data_name, o.configs_dir / "datasets", o.data_root);
  const fs::path tsv = o.data_root / spec.file;
  check_user(fs::is_regular_file(tsv),
             "dataset " + data_name + ": " + tsv.string() +
                 " not found (set LMUData to the folder holding it; for the demo set make it with: "
                 "scripts/make_demo_data.py --out " +
                 o.data_root.string() + " --name " + data_name + ")");
  return spec;
}

// Runs one dataset on a loaded model and writes its files.
PairResult run_pair(ModelSession& session, const ModelConfig& cfg, const std::string& data_name,
                    const RunOptions& o, const fs::path& folder, json& run_json) {
  PairResult res;
  res.model = cfg.name;
  res.dataset = data_name;
  res.folder = folder;

  const DatasetSpec spec = require_dataset_file(data_name, o);
  const fs::path tsv = o.data_root / spec.file;
  const Dataset ds(spec, o.data_root);
  res.items = ds.size();
  const int64_t max_new = o.max_new_tokens.value_or(cfg.max_new_tokens);

  // KV-cache capacity for the largest item: image tokens at the dataset's max tiles (+ thumbnail),
  // the text budget and max_new_tokens.
  int64_t max_image_tokens = 0;
  for (const Item& item : ds.items()) {
    const int n = static_cast<int>(item.images_b64.size());
    if (n == 0) continue;
    max_image_tokens = std::max(max_image_tokens, image_positions(session.model().manifest(),
                                                                  cfg.tiles_for(data_name, n), n));
  }
  session.reserve(max_image_tokens + kTextBudget + max_new);

  const PairFiles files = pair_files(folder, cfg.name, data_name);
  RecordFile records(files.records);
  std::map<std::string, ItemRecord> done;
  for (const auto& [index, r] : records.records())
    if (!r.error) done.emplace(index, r);  // failed items are tried again, as VLMEvalKit does

  Stopwatch progress;
  size_t count = 0;
  for (const Item& item : ds.items()) {
    ++count;
    if (done.count(item.index)) {
      ++res.resumed;
      continue;
    }
    ItemRecord rec;
    rec.index = item.index;
    rec.row = item.row;
    const std::string what =
        data_name + " item " + item.index + " (row " + std::to_string(item.row + 1) + ")";
    try {
      const Prompt prompt = build_internvl_prompt(item, spec);
      rec.prompt = prompt.text;
      const int tiles = cfg.tiles_for(data_name, static_cast<int>(prompt.images_b64.size()));
      PromptOutput out = session.answer(prompt, tiles, max_new, what);
      rec.tiles_per_image = out.tiles_per_image;
      rec.input_tokens = static_cast<int64_t>(out.input_ids.size());
      rec.output_ids = out.output_ids;
      rec.prediction = out.prediction;
      rec.times = out.times;
    } catch (const Error& e) {
      rec.error = e.what();
      rec.prediction = std::string("Failed to obtain answer: ") + e.what();
      log::warning(e.what());
    }
    // The record's own score (informational; score_dataset decides the dataset's scores, e.g. over
    // circular groups).
    if (spec.kind == DatasetKind::kMcq) {
      const ItemScore sc = rec.error ? ItemScore{'Z', 0, "Match Log: " + rec.prediction + ". "}
                                     : score_mcq_item(rec.prediction, item.options,
                                                      item.answer.value_or(""), o.can_infer);
      rec.extracted = std::string(1, sc.option);
      rec.hit = sc.hit;
      rec.log = sc.log;
    }
    records.append(rec);
    done.emplace(rec.index, rec);
    ++res.answered;
    res.errors += rec.error.has_value();
    for (const auto& [stage, ms] : rec.times) res.times[stage] += ms;
    if (res.answered % 10 == 0 || count == ds.size())
      log::info(cfg.name + " / " + data_name + ": " + std::to_string(count) + "/" +
                std::to_string(ds.size()) + " items, " +
                std::to_string(static_cast<int>(progress.elapsed_ms() / 1000)) + " s");
  }

  // Predictions: the TSV's columns minus `image`, then `prediction`; dataset order.
  ResultTable pred;
  std::vector<std::string> columns;
  for (const std::string& c : ds.columns())
    if (c != "image") columns.push_back(c);
  for (const std::string& c : columns)
    pred.add_column(
        c, ds.column_kind(c) == ColumnKind::kInt || ds.column_kind(c) == ColumnKind::kFloat);
  pred.add_column("prediction");
  json errors = json::array();
  for (const Item& item : ds.items()) {
    const ItemRecord& r = done.at(item.index);
    std::vector<ResultTable::Cell> row;
    for (const std::string& c : columns) {
      auto it = item.fields.find(c);
      row.push_back(it != item.fields.end() ? it->second : std::nullopt);
    }
    row.push_back(r.prediction);
    pred.add_row(row);
    if (r.error) errors.push_back({{"index", r.index}, {"error", *r.error}});
  }
  pred.write_xlsx(files.predictions);
  pred.write_tsv(files.predictions_tsv);
  const DatasetScores scores = score_dataset(spec, ds, done, o.can_infer, files);
  res.acc = scores.acc;

  json& d = run_json["datasets"][data_name];
  d["file"] = fs::absolute(tsv).string();
  d["md5"] = ds.file_md5();
  d["kind"] = to_string(spec.kind);
  d["items"] = res.items;
  d["answered"] = res.answered;
  d["resumed"] = res.resumed;
  d["errors"] = errors;
  d["times_ms"] = res.times;
  d["max_new_tokens"] = max_new;
  d["kv_capacity"] = session.capacity();
  if (!scores.scores.is_null()) d["scores"] = scores.scores;
  return res;
}

}  // namespace

std::vector<ModelPlan> plan_models(const RunOptions& o) {
  std::vector<ModelPlan> plans;
  std::vector<std::string> models = o.models;
  if (models.empty()) models.push_back("");
  for (const std::string& model_name : models) {
    const ResolvedModel rm = resolve_model(model_name, o);
    plans.push_back(
        {rm.config.name, placement_name(rm.config, o), plan_for_run(rm.manifest, rm.config, o)});
  }
  return plans;
}

EvaluationSummary run_evaluation(const RunOptions& o) {
  o.validate();
  // Every dataset is resolved and its TSV found before any model loads, so that a typo costs no
  // load time and the error is the only thing printed.
  for (const std::string& data_name : o.datasets) require_dataset_file(data_name, o);
  EvaluationSummary summary;
  std::vector<std::string> models = o.models;
  if (models.empty()) models.push_back("");  // --model-dir alone: the manifest's name
  for (const std::string& model_name : models) {
    ResolvedModel rm = resolve_model(model_name, o);
    Manifest manifest = std::move(rm.manifest);
    const std::string tmpl =
        manifest.chat_template.is_object() ? manifest.chat_template.value("name", "") : "";
    if (!rm.config.chat_template.empty() && rm.config.chat_template != tmpl)
      log::warning("model " + rm.config.name + ": config says template " + rm.config.chat_template +
                   " but the export has " + tmpl);
    PlacementPlan plan = plan_for_run(manifest, rm.config, o);
    log::info("model " + rm.config.name + ": " + rm.dir.string() + ", placement " +
              placement_name(rm.config, o) + " (" + plan.strategy() + "):\n" + plan.table());
    check_user(plan.fits(), "model " + rm.config.name + ": placement " +
                                placement_name(rm.config, o) + " does not fit:\n" + plan.table());
    require_devices_present(plan);
    auto model = LoadedModel::load(std::move(manifest), std::move(plan));
    ModelSession session(model);

    const fs::path folder = o.work_dir / rm.config.name / eval_id(o.commit, std::time(nullptr));
    fs::create_directories(folder);
    const fs::path run_json_path = folder / "run.json";
    json run_json;
    if (fs::exists(run_json_path)) {
      std::ifstream in(run_json_path);
      run_json = json::parse(in, nullptr, /*allow_exceptions=*/false);
      if (run_json.is_discarded()) run_json = json::object();
    }
    run_json["argv"] = o.argv;
    run_json["commit"] = o.commit;
    run_json["model"] = {{"name", rm.config.name},
                         {"dir", fs::absolute(rm.dir).string()},
                         {"config", rm.config.file.string()},
                         {"manifest_name", model->manifest().name},
                         {"family", model->manifest().family},
                         {"dtype", c10::toString(model->manifest().dtype)},
                         {"exported_with_torch", model->manifest().torch_version},
                         {"load_ms", model->load_ms()}};
    run_json["placement"] = model->plan().to_json();
    run_json["placement"]["config"] = placement_name(rm.config, o);
    run_json["versions"] = {{"torch", TORCH_VERSION}, {"harness_commit", o.commit}};

    for (const std::string& data_name : o.datasets) {
      PairResult r = run_pair(session, rm.config, data_name, o, folder, run_json);
      write_file_atomically(run_json_path, run_json.dump(2) + "\n");
      summary.pairs.push_back(std::move(r));
    }
  }
  return summary;
}

}  // namespace vlm
