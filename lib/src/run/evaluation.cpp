#include "vlm/run/evaluation.h"

#include <torch/cuda.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <exception>
#include <fstream>
#include <memory>
#include <numeric>
#include <optional>
#include <set>
#include <system_error>
#include <utility>

#include "vlm/core/error.h"
#include "vlm/core/log.h"
#include "vlm/core/progress.h"
#include "vlm/core/run_ahead.h"
#include "vlm/data/dataset.h"
#include "vlm/data/internvl_prompt.h"
#include "vlm/eval/mcq_scorer.h"
#include "vlm/generate/generation_options.h"
#include "vlm/model/loaded_model.h"
#include "vlm/model/torch_error.h"
#include "vlm/model/verify_files.h"
#include "vlm/results/record_file.h"
#include "vlm/results/result_table.h"
#include "vlm/results/run_journal.h"
#include "vlm/results/run_report.h"
#include "vlm/results/work_dir.h"
#include "vlm/run/dataset_scoring.h"
#include "vlm/run/model_config.h"
#include "vlm/run/model_session.h"
#include "vlm/run/placement_setup.h"
#include "vlm/run/run_environment.h"

namespace vlm {
namespace fs = std::filesystem;

namespace {

// The test hook RunOptions::at_point, at `point`.
void at_point(const RunOptions& o, const std::string& point) {
  if (o.at_point) o.at_point(point);
}

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
  auto ov_it = o.model_overrides.find(name);
  const ModelOverrides* ov = ov_it != o.model_overrides.end() ? &ov_it->second : nullptr;
  const std::string base = ov && !ov->base.empty() ? ov->base : name;
  const fs::path dir_override = ov && !ov->model_dir.empty() ? ov->model_dir : o.model_dir;
  if (!dir_override.empty()) {
    r.dir = dir_override;
    r.manifest = load_manifest(r.dir);
    const std::string run_name = name.empty() ? r.manifest.name : name;
    const auto known = known_model_names(models_dir);
    // A known name takes its config; otherwise VLMEvalKit's InternVL2 defaults apply.
    if (std::find(known.begin(), known.end(), base) != known.end())
      r.config = load_model_config(base, models_dir);
    r.config.name = run_name;
  } else {
    r.config = load_model_config(base, models_dir);
    r.config.name = name;
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
  }
  if (ov && ov->max_new_tokens) r.config.max_new_tokens = *ov->max_new_tokens;
  if (ov && !ov->placement.empty()) r.config.placement = ov->placement;
  if (ov && ov->batch_size) r.config.batch_size = *ov->batch_size;
  return r;
}

// The run name of a model without reading its export (--mode eval loads nothing).
std::string model_run_name(const std::string& name, const RunOptions& o) {
  if (!name.empty()) {
    if (o.model_overrides.count(name) == 0 && o.model_dir.empty())
      load_model_config(name, o.configs_dir / "models");  // unknown names: closest known
    return name;
  }
  return load_manifest(o.model_dir).name;
}

std::string placement_name(const ModelConfig& cfg, const RunOptions& o) {
  return o.placement.empty() ? cfg.placement : o.placement;
}

// The images of the items of the run's datasets (every item, --limit or not), each image count
// with its dataset's tiles, for the one capacity (run_capacity). A dataset whose TSV is not there
// yet (--plan-only before a download) counts as one image per item, with a log line saying so;
// no dataset: one image at the model's default tiles.
std::vector<ItemImages> run_item_images(const ModelConfig& cfg, const RunOptions& o) {
  std::set<std::pair<int, int>> seen;  // (images, tiles per image)
  if (o.datasets.empty()) seen.insert({1, cfg.max_tiles_default});
  for (const std::string& name : o.datasets) {
    const std::string data_name = o.dataset_for(name);
    DatasetSpec spec = resolve_dataset(data_name, o.configs_dir / "datasets", o.data_root);
    if (!fs::is_regular_file(o.data_root / spec.file)) {
      log::info("dataset " + data_name + ": " + (o.data_root / spec.file).string() +
                " is not there; the plan assumes one image per item");
      seen.insert({1, cfg.tiles_for(data_name, 1)});
      continue;
    }
    spec.md5.clear();  // the run checks it when it reads the dataset for its items
    const Dataset ds(spec, o.data_root);
    for (const Item& item : ds.items()) {
      const int n = static_cast<int>(item.num_images());
      if (!item.error && n > 0) seen.insert({n, cfg.tiles_for(data_name, n)});
    }
  }
  std::vector<ItemImages> out;
  for (const auto& [n, tiles] : seen) out.push_back({n, tiles});
  return out;
}

PlanCapacity capacity_for_run(const Manifest& manifest, const ModelConfig& cfg,
                              const RunOptions& o) {
  return run_capacity(manifest, run_item_images(cfg, o),
                      o.max_new_tokens.value_or(cfg.max_new_tokens));
}

// The batch size a run asks for: --batch-size, else the model config's (a --config entry's
// batch_size included, resolve_model).
BatchSize batch_for_run(const ModelConfig& cfg, const RunOptions& o) {
  return o.batch_size.value_or(cfg.batch_size);
}

// The plan at `capacity` for the run's batch size; its capacity().batch is the one the run uses
// (--batch-size auto resolved).
PlacementPlan plan_for_run(const Manifest& manifest, const ModelConfig& cfg, const RunOptions& o,
                           PlanCapacity capacity) {
  const BatchSize batch = batch_for_run(cfg, o);
  capacity.batch = batch.items;
  capacity.overlap = o.overlap;
  capacity.vision_graphs = !o.no_cuda_graphs;
  capacity.prefill_graphs = prefill_graphs_wanted(!o.no_cuda_graphs, o.prefill_bucket);
  return plan_placement(manifest, placement_name(cfg, o), o.device, capacity,
                        o.configs_dir / "placements", o.shard, current_device_inventory(),
                        batch.automatic);
}

// The dataset's spec, once its TSV is known to exist under the data root.
DatasetSpec require_dataset_file(const std::string& data_name, const RunOptions& o) {
  const DatasetSpec spec = resolve_dataset(data_name, o.configs_dir / "datasets", o.data_root);
  const fs::path tsv = o.data_root / spec.file;
  check_user(fs::is_regular_file(tsv),
             "dataset " + data_name + ": " + tsv.string() +
                 " not found (set LMUData to the folder holding it; for the demo set make it with: "
                 "scripts/fixtures/make_demo_data.py --out " +
                 o.data_root.string() + " --name " + data_name + ")");
  return spec;
}

// The model of the outer loop, loaded at the first dataset that has items to answer: the real
// run's AnswererProvider.
class LazyModel final : public AnswererProvider {
 public:
  LazyModel(ResolvedModel rm, PlacementPlan plan, PlanCapacity capacity, LoadOptions load,
            bool cuda_graphs, int64_t prefill_bucket)
      : rm_(std::move(rm)),
        plan_(std::move(plan)),
        capacity_(capacity),
        load_(std::move(load)),
        cuda_graphs_(cuda_graphs),
        prefill_bucket_(prefill_bucket) {}
  const ModelConfig& config() const override { return rm_.config; }
  const ResolvedModel& resolved() const { return rm_; }
  const PlacementPlan& plan() const { return plan_; }
  bool loaded() const override { return session_ != nullptr; }
  double load_ms() const override { return load_ms_; }
  Answerer& answerer() override { return session(); }
  // How the model files were checked as they loaded (run.json "model_files").
  const FileCheckTally& file_checks() const { return file_checks_; }

  ModelSession& session() {
    if (!session_) {
      Stopwatch watch;
      require_devices_present(plan_);
      // TorchScript archives run code when loaded: the loader checks each one's hash first.
      auto model = LoadedModel::load(rm_.manifest, plan_, load_);
      file_checks_ = model->file_checks();
      session_ = std::make_unique<ModelSession>(model, cuda_graphs_, capacity_.batch);
      session_->set_prefill_bucket(prefill_bucket_);
      // The KV cache the plan counted, for the run's largest item (run_capacity).
      session_->reserve(capacity_.max_sequence);
      load_ms_ = watch.elapsed_ms();
    }
    return *session_;
  }

 private:
  ResolvedModel rm_;
  PlacementPlan plan_;
  PlanCapacity capacity_;
  LoadOptions load_;
  bool cuda_graphs_;
  int64_t prefill_bucket_;
  std::unique_ptr<ModelSession> session_;
  double load_ms_ = 0;
  FileCheckTally file_checks_;
};

// An item as the run-ahead pool leaves it for the device: its prompt and the prompt's host half,
// or the error that stopped the host half (raised as the item's error at its turn).
struct PreparedItem {
  std::string prompt;        // the prompt text (the record's "prompt")
  PreparedPrompt host;       // Answerer::prepare_host's result
  std::exception_ptr error;  // what prepare_host threw
  double error_ms = 0;       // how long it ran until then (the failed item's "total")
};

// Builds the item's prompt (an error here is the item's, with no prompt) and its host half. Runs
// on the pool's threads: reads only what is immutable during the item loop.
PreparedItem prepare_item(const Item& item, const DatasetSpec& spec, const std::string& data_name,
                          const ModelConfig& cfg, const Answerer& answerer,
                          const std::string& what) {
  PreparedItem p;
  const Prompt prompt = build_internvl_prompt(item, spec);
  p.prompt = prompt.text;
  const int tiles = cfg.tiles_for(data_name, static_cast<int>(prompt.images.size()));
  Stopwatch watch;
  try {
    p.host = answerer.prepare_host(prompt, tiles, what);
  } catch (...) {
    p.error = std::current_exception();
    p.error_ms = watch.elapsed_ms();
  }
  return p;
}

// Every record of the pair in the folder, from all shards' files (read-only). For an index in
// several files, a record without an error wins; otherwise the later file's.
std::map<std::string, ItemRecord> read_pair_records(const PairFiles& files) {
  std::map<std::string, ItemRecord> all;
  for (const fs::path& f : pair_record_files(files.folder, files.stem)) {
    for (auto& [index, r] : RecordFile::read(f)) {
      auto it = all.find(index);
      if (it == all.end() || it->second.error || !r.error) all[index] = r;
    }
  }
  return all;
}

// What identifies a merge: the record files it read (name and size) and the item count.
MergeSignature merge_signature(const PairFiles& files, size_t items) {
  MergeSignature sig;
  sig.items = items;
  for (const fs::path& f : pair_record_files(files.folder, files.stem))
    sig.records[f.filename().string()] = fs::file_size(f);
  return sig;
}

// Writes the predictions ({model}_{data}.xlsx and .tsv): the TSV's columns minus `image`, then
// `prediction`; dataset order.
void write_predictions(const Dataset& ds, const std::vector<const Item*>& items,
                       const std::map<std::string, ItemRecord>& records, const PairFiles& files,
                       const RunOptions& o) {
  ResultTable pred;
  std::vector<std::string> columns;
  for (const std::string& c : ds.columns())
    if (c != "image") columns.push_back(c);
  for (const std::string& c : columns)
    pred.add_column(
        c, ds.column_kind(c) == ColumnKind::kInt || ds.column_kind(c) == ColumnKind::kFloat);
  pred.add_column("prediction");
  for (const Item* item : items) {
    const ItemRecord& r = records.at(item->index);
    std::vector<ResultTable::Cell> row;
    for (const std::string& c : columns) {
      auto it = item->fields.find(c);
      row.push_back(it != item->fields.end() ? it->second : std::nullopt);
    }
    row.push_back(r.prediction);
    pred.add_row(row);
  }
  pred.write_xlsx(files.predictions);
  at_point(o, "after_predictions_xlsx");
  pred.write_tsv(files.predictions_tsv);
}

struct PairContext {
  AnswererProvider* model = nullptr;  // null in --mode eval (unless a test gave one)
  std::string model_name;
  const RunOptions* o = nullptr;
  fs::path folder;
  const std::function<void(const std::string&, const std::string&)>* on_response = nullptr;
};

// The pending items of one dataset shard through the model, as a pipeline: prepared ahead on the
// CPU pool (RunAhead, in item order) -> generated in batches (up to the answerer's batch in flight,
// continuous batching) -> each finished item recorded (its record built, scored, appended and
// fsynced) as it finishes. Records may land out of item order; every result file is written later
// in dataset order, so the files do not depend on the batch size.
class ItemLoop {
 public:
  ItemLoop(const PairContext& ctx, const DatasetSpec& spec, const std::string& data_name,
           const ModelConfig& cfg, Answerer& answerer, RecordFile& records, Progress& progress,
           PairResult& res)
      : ctx_(ctx),
        o_(*ctx.o),
        spec_(spec),
        data_name_(data_name),
        cfg_(cfg),
        answerer_(answerer),
        records_(records),
        progress_(progress),
        res_(res),
        max_new_(o_.max_new_tokens.value_or(cfg.max_new_tokens)) {}

  // Answers `pending` (or, after an interrupt, the items already started) and records each one.
  void run(const std::vector<const Item*>& pending);

 private:
  // One pending item on its way: what the pool made of it, and its attempts.
  struct Work {
    const Item* item = nullptr;
    std::string what;  // "DATA item INDEX (row N)", for errors
    std::optional<PreparedItem> prepared;
    std::exception_ptr not_prepared;  // RunAhead::take() threw
    int attempt = 0;
    bool staged = false;  // given to the answerer's prepare_ahead (--overlap)
  };
  std::string what_of(const Item& item) const {
    return data_name_ + " item " + item.index + " (row " + std::to_string(item.row + 1) + ")";
  }
  // Takes work k, the next in order, from the run-ahead pool (waits for it).
  void take(size_t k);
  // --overlap: gives work k, not started yet, to the answerer's prepare_ahead (once), so that its
  // device work queues ahead of the blocking call that follows; only when the pool has it ready
  // (never waits for the CPU) and its host half succeeded. Called before every start() and step().
  void stage_ahead(size_t k);
  // Starts work k on the model, or finishes it at once when its host half failed.
  void admit(size_t k);
  // An item's answer or error: its record, or (out of memory, first attempt) a second attempt.
  void finish(size_t k, const PromptOutput& out, const std::exception_ptr& error);
  // Scores, appends and reports a finished record.
  void record(const Work& w, ItemRecord rec);

  const PairContext& ctx_;
  const RunOptions& o_;
  const DatasetSpec& spec_;
  const std::string& data_name_;
  const ModelConfig& cfg_;
  Answerer& answerer_;
  RecordFile& records_;
  Progress& progress_;
  PairResult& res_;
  const int64_t max_new_;
  std::vector<Work> work_;
  std::deque<size_t> retry_;  // works to start again (out of memory once), before new ones
  RunAhead<PreparedItem>* pool_ = nullptr;  // run()'s
  size_t taken_ = 0;                        // works taken from the pool so far
};

void ItemLoop::run(const std::vector<const Item*>& pending) {
  answerer_.set_min_new_tokens(spec_.min_new_tokens);  // per dataset: the answerer is shared
  for (const Item* item : pending) work_.push_back({item, what_of(*item), {}, {}, 0});
  // The pending items' CPU stages run ahead of the device on a small pool, handed out in order;
  // enough of them to fill a batch.
  const int ahead = std::max(1, 2 * o_.prepare_threads) + static_cast<int>(answerer_.batch()) - 1;
  RunAhead<PreparedItem> pool(pending.size(), {o_.prepare_threads, ahead}, [&](size_t i) {
    return prepare_item(*pending[i], spec_, data_name_, cfg_, answerer_, work_[i].what);
  });
  pool_ = &pool;
  size_t next = 0;  // the next new work to start
  for (;;) {
    const bool stopping = o_.interrupt && o_.interrupt->load() != 0;
    if (stopping && (next < work_.size() || !retry_.empty())) res_.interrupted = true;
    while (!stopping && answerer_.has_free_slot()) {
      if (!retry_.empty()) {
        const size_t k = retry_.front();
        retry_.pop_front();
        stage_ahead(next);
        admit(k);
      } else if (next < work_.size()) {
        if (next == taken_) take(next);
        stage_ahead(next + 1);
        admit(next++);
      } else {
        break;
      }
    }
    if (answerer_.in_flight() == 0) {
      if (stopping || (next == work_.size() && retry_.empty())) break;
      continue;
    }
    if (!stopping) stage_ahead(next);
    // Wall time of the batched decode steps (shared by the items in flight), for run.json.
    Stopwatch step_watch;
    std::vector<Answerer::Answer> answers = answerer_.step();
    res_.stages[run_stage::kDecode] += step_watch.elapsed_ms();
    for (Answerer::Answer& a : answers) finish(static_cast<size_t>(a.tag), a.output, a.error);
  }
}

void ItemLoop::take(size_t k) {
  check_internal(k == taken_, "ItemLoop: works are taken from the pool in order");
  Work& w = work_[k];
  try {
    w.prepared = pool_->take();
  } catch (...) {
    w.not_prepared = std::current_exception();
  }
  ++taken_;
}

void ItemLoop::stage_ahead(size_t k) {
  if (!o_.overlap || k >= work_.size()) return;
  if (k == taken_) {
    if (!pool_->next_ready()) return;  // its CPU half is still being made: not worth a wait
    take(k);
  }
  Work& w = work_[k];
  if (w.staged || !w.prepared || w.prepared->error) return;
  w.staged = true;
  // Wall time spent queueing the next items' device work, for run.json.
  Stopwatch ahead_watch;
  answerer_.prepare_ahead(w.prepared->host);
  res_.stages[run_stage::kAhead] += ahead_watch.elapsed_ms();
}

void ItemLoop::admit(size_t k) {
  Work& w = work_[k];
  if (w.not_prepared) return finish(k, PromptOutput{}, w.not_prepared);
  if (w.prepared->error) {
    PromptOutput partial;
    partial.times[kItemTotalStage] = w.prepared->error_ms;
    return finish(k, partial, w.prepared->error);
  }
  // Wall time of the items' starts (device preprocessing, vision, prefill), for run.json.
  Stopwatch start_watch;
  std::vector<Answerer::Answer> answers = answerer_.start(k, w.prepared->host, max_new_);
  res_.stages[run_stage::kStart] += start_watch.elapsed_ms();
  // What prepare_ahead() queued is used (its device memory goes now); a second attempt (out of
  // memory) starts from the host half again.
  w.prepared->host.ahead.reset();
  for (Answerer::Answer& a : answers) finish(static_cast<size_t>(a.tag), a.output, a.error);
}

void ItemLoop::finish(size_t k, const PromptOutput& out, const std::exception_ptr& error) {
  Work& w = work_[k];
  ItemRecord rec;
  rec.index = w.item->index;
  rec.row = w.item->row;
  if (w.prepared) rec.prompt = w.prepared->prompt;
  rec.tiles_per_image = out.tiles_per_image;
  rec.input_tokens = static_cast<int64_t>(out.input_ids.size());
  rec.times = out.times;
  if (!error) {
    rec.output_ids = out.output_ids;
    rec.prediction = out.prediction;
    return record(w, std::move(rec));
  }
  // The error boundary of an item: bad input and device errors (out of memory, a unit's runtime
  // error) become its recorded error and the run goes on; an out-of-memory item is tried once
  // more after the allocator's cache is released. Internal errors (ours) are not caught here:
  // they stop the run.
  try {
    std::rethrow_exception(error);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::kInternal) throw;
    const auto* device = dynamic_cast<const DeviceError*>(&e);
    std::string msg = e.what();
    if (device && device->out_of_memory() && rec.input_tokens > 0)
      msg += " (the item: " + std::to_string(rec.input_tokens) + " prompt tokens, " +
             std::to_string(
                 std::accumulate(rec.tiles_per_image.begin(), rec.tiles_per_image.end(), 0)) +
             " tiles, up to " + std::to_string(max_new_) + " new tokens)";
    rec.error = msg.rfind(w.what, 0) == 0 ? msg : w.what + ": " + msg;
    rec.prediction = "Failed to obtain answer: " + msg;
    if (device && device->out_of_memory() && w.attempt == 0) {
      log::warning(*rec.error + "; releasing cached device memory and trying it again");
      release_cached_device_memory();
      ++w.attempt;
      if (w.prepared) w.prepared->host.ahead.reset();  // the second attempt queues its own work
      retry_.push_back(k);
      return;
    }
    log::warning(*rec.error);
  }
  record(w, std::move(rec));
}

void ItemLoop::record(const Work& w, ItemRecord rec) {
  // The record's own score (informational; score_dataset decides the dataset's scores, e.g. over
  // circular groups).
  if (rec.error) {
    RecordScore failed = failed_record_score(spec_, rec.prediction);
    rec.extracted = std::move(failed.extracted);
    rec.hit = failed.hit;
    rec.log = std::move(failed.log);
  } else {
    try {
      RecordScore sc = record_score(spec_, *w.item, rec.prediction, o_.can_infer);
      rec.extracted = std::move(sc.extracted);
      rec.hit = sc.hit;
      rec.log = std::move(sc.log);
    } catch (const UserError& e) {  // an item the scorer cannot read (its answer cell)
      rec.error = w.what + ": scoring: " + e.what();
      log::warning(*rec.error);
    }
  }
  records_.append(rec);
  if (ctx_.on_response && *ctx_.on_response) (*ctx_.on_response)(w.what, rec.prediction);
  ++res_.answered;
  res_.errors += rec.error.has_value();
  for (const auto& [stage, ms] : rec.times) res_.times[stage] += ms;
  progress_.advance();
  at_point(o_, "after_record_" + std::to_string(res_.answered));
}

// One dataset of the run as a pair sees it: its spec and file, the --limit view and its items.
struct PairData {
  PairData(const PairContext& ctx, const std::string& name)
      : run_name(name),
        data_name(ctx.o->dataset_for(name)),
        spec(require_dataset_file(data_name, *ctx.o)),
        full(spec, ctx.o->data_root),
        files(pair_files(ctx.folder, ctx.model_name, name)),
        label(ctx.model_name + "/" + name) {
    // --limit N: a view of the first N items, so that everything downstream (predictions,
    // scoring) sees exactly them; nothing is written anywhere for it.
    if (ctx.o->limit && *ctx.o->limit < full.size()) limited = full.head(*ctx.o->limit);
    for (const Item& item : ds().items()) items.push_back(&item);
  }
  PairData(const PairData&) = delete;
  PairData& operator=(const PairData&) = delete;
  const Dataset& ds() const { return limited ? *limited : full; }

  std::string run_name;   // the --data / config name
  std::string data_name;  // the dataset it runs
  DatasetSpec spec;
  Dataset full;
  std::optional<Dataset> limited;
  std::vector<const Item*> items;  // of ds(), in dataset order
  PairFiles files;
  std::string label;  // "MODEL/NAME", for messages
};

// --reuse: the records of the newest earlier folder with the same commit, copied into this one
// when it has none for the pair.
void take_reused_records(const PairContext& ctx, const PairFiles& files, const std::string& label) {
  if (!pair_record_files(files.folder, files.stem).empty()) return;
  const fs::path from =
      find_reuse_folder(ctx.folder.parent_path(), ctx.folder, ctx.o->commit, files.stem);
  if (from.empty()) return;
  FolderLock lock(ctx.folder);
  if (!pair_record_files(files.folder, files.stem).empty()) return;
  for (const fs::path& f : pair_record_files(from, files.stem)) {
    std::error_code ec;
    fs::copy_file(f, files.folder / f.filename(), fs::copy_options::skip_existing, ec);
    check_user(!ec, "--reuse: cannot copy " + f.string() + " into " + files.folder.string() + ": " +
                        ec.message());
  }
  log::info(label + ": --reuse: took the records of " + from.string());
}

// This shard's items that have no record yet, or a failed one (tried again, as VLMEvalKit does);
// counts the shard's items and those resumed into `res`.
std::vector<const Item*> pending_items(const std::vector<const Item*>& items,
                                       const PairFiles& files, const Shard& shard,
                                       PairResult& res) {
  const std::map<std::string, ItemRecord> done = read_pair_records(files);
  const std::vector<size_t> positions = shard_positions(items.size(), shard);
  res.shard_items = positions.size();
  std::vector<const Item*> pending;
  for (size_t p : positions) {
    auto it = done.find(items[p]->index);
    if (it == done.end() || it->second.error)
      pending.push_back(items[p]);
    else
      ++res.resumed;
  }
  return pending;
}

// Answers this shard's pending items (loading the model at the first that needs it) and returns
// the shard's run.json entry.
ShardReport infer_shard(const PairContext& ctx, const PairData& pd, PairResult& res) {
  const RunOptions& o = *ctx.o;
  const PairFiles& files = pd.files;
  RecordFile own(shard_record_path(files, o.shard.rank, o.shard.world_size));
  const std::vector<const Item*> pending = pending_items(pd.items, files, o.shard, res);
  if (!pending.empty()) {
    const bool had_model = ctx.model->loaded();
    Answerer& answerer = ctx.model->answerer();
    if (!had_model) res.stages[run_stage::kLoad] = ctx.model->load_ms();
    Progress progress(pd.label + (o.shard.world_size > 1 ? " shard " + o.shard.tag() : ""),
                      res.shard_items, res.resumed, progress_style_for_stderr(o.quiet));
    progress.set_stage("infer");
    Stopwatch infer_watch;
    ItemLoop loop{ctx, pd.spec, pd.data_name, ctx.model->config(), answerer, own, progress, res};
    loop.run(pending);
    progress.finish();
    const double infer_ms = infer_watch.elapsed_ms();
    res.stages[run_stage::kInfer] = infer_ms;
    if (res.answered > 0 && infer_ms > 0)
      res.items_per_s = static_cast<double>(res.answered) / (infer_ms / 1000.0);
  }
  ShardReport shard;
  shard.items = res.shard_items;
  shard.answered = res.answered;
  shard.resumed = res.resumed;
  shard.errors_now = res.errors;
  shard.items_per_s = res.items_per_s;
  shard.stage_ms = res.stages;
  shard.item_stage_ms = res.times;
  shard.status = res.interrupted ? "interrupted" : "done";
  return shard;
}

// Writes the predictions of `records` (every item has one) and, with `score`, the score files;
// their errors, stage times and scores go into the dataset's run.json entry `d`.
void write_merged(const PairContext& ctx, const PairData& pd,
                  const std::map<std::string, ItemRecord>& records, bool score, DatasetReport& d,
                  PairResult& res) {
  const std::vector<const Item*>& items = pd.items;
  const PairFiles& files = pd.files;
  Stopwatch merge_watch;
  write_predictions(pd.ds(), items, records, files, *ctx.o);
  d.errors.emplace();
  for (const Item* item : items) {
    const ItemRecord& r = records.at(item->index);
    if (r.error) d.errors->push_back({r.index, *r.error});
  }
  if (!d.stage_ms) d.stage_ms.emplace();
  (*d.stage_ms)[run_stage::kMerge] = merge_watch.elapsed_ms();
  res.stages[run_stage::kMerge] = merge_watch.elapsed_ms();
  if (score) {
    Stopwatch eval_watch;
    // score_dataset sees the items of this run (--limit) in dataset order.
    const DatasetScores scores = score_dataset(pd.spec, pd.ds(), records, ctx.o->can_infer, files);
    at_point(*ctx.o, "after_scoring");
    res.acc = scores.acc;
    if (!scores.scores.is_null()) d.scores = scores.scores;
    if (scores.acc) d.acc_table = scores.acc;
    link_pair_files(ctx.folder, files.stem);
    (*d.stage_ms)[run_stage::kEvaluate] = eval_watch.elapsed_ms();
    res.stages[run_stage::kEvaluate] = eval_watch.elapsed_ms();
  }
}

// Merges every shard's records into the predictions and scores them (unless --mode infer), once
// every item has its record; records this shard's `shard` in run.json either way.
void merge_and_score(const PairContext& ctx, const PairData& pd,
                     const std::optional<ShardReport>& shard, PairResult& res) {
  const RunOptions& o = *ctx.o;
  const std::string& run_name = pd.run_name;
  const std::string& data_name = pd.data_name;
  const std::string& label = pd.label;
  const DatasetSpec& spec = pd.spec;
  const std::vector<const Item*>& items = pd.items;
  const PairFiles& files = pd.files;
  // Merge and score, once every item of every shard has its record. The lock makes the shards
  // that finish at the same time take turns; the first to find the records complete does it.
  FolderLock lock(ctx.folder);
  RunReport report = read_run_report(ctx.folder);
  DatasetReport& d = report.datasets[run_name];
  if (shard) d.shards[o.shard.tag()] = *shard;
  d.dataset = data_name;
  d.file = fs::absolute(o.data_root / spec.file).string();
  d.md5 = pd.full.file_md5();
  d.kind = to_string(spec.kind);
  d.items = res.items;
  d.limit.emplace(o.limit);

  const std::map<std::string, ItemRecord> records = read_pair_records(files);
  size_t missing = 0;
  std::string first_missing;
  for (const Item* item : items)
    if (records.count(item->index) == 0 && missing++ == 0) first_missing = item->index;
  if (missing > 0) {
    check_user(o.mode != RunMode::kEval,
               label + ": --mode eval needs every item's record, but " + std::to_string(missing) +
                   " of " + std::to_string(items.size()) + " items (first: index " + first_missing +
                   ") have none in " + ctx.folder.string() + "; run --mode infer (or all) first");
    res.waiting = true;
    log::info(label + ": shard " + o.shard.tag() + " done; " + std::to_string(missing) +
              " items wait for other shards (the last shard to finish merges and scores)");
    write_run_report(ctx.folder, report);
    return;
  }

  const bool score = o.mode != RunMode::kInfer;
  const MergeSignature signature = merge_signature(files, items.size());
  const bool same_merge = d.merged && d.merged->signature == signature &&
                          fs::exists(files.predictions) && fs::exists(files.predictions_tsv) &&
                          (!score || d.merged->scored);
  res.merged = true;
  if (same_merge) {
    // Another shard of this run (or an earlier identical invocation) merged these records.
    log::info(label + ": predictions already merged from these records");
    res.acc = d.acc_table;
    write_run_report(ctx.folder, report);
    return;
  }

  write_merged(ctx, pd, records, score, d, res);
  d.merged = MergeReport{signature, score, o.shard.tag()};
  write_run_report(ctx.folder, report);
}

// Runs this shard's part of one dataset (items read -> prepared ahead -> generated in batches ->
// recorded), then merges and scores when every shard is complete.
PairResult run_pair(PairContext& ctx, const std::string& run_name) {
  const RunOptions& o = *ctx.o;
  PairResult res;
  res.model = ctx.model_name;
  res.dataset = run_name;
  res.folder = ctx.folder;
  const PairData pd(ctx, run_name);
  res.items = pd.items.size();
  if (o.reuse) take_reused_records(ctx, pd.files, pd.label);
  std::optional<ShardReport> shard;
  if (o.mode != RunMode::kEval) shard = infer_shard(ctx, pd, res);
  if (res.interrupted) {
    update_run_report(ctx.folder, [&](RunReport& r) {
      r.datasets[run_name].shards[o.shard.tag()] = shard.value_or(ShardReport{});
    });
    return res;
  }
  merge_and_score(ctx, pd, shard, res);
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
        {rm.config.name, placement_name(rm.config, o),
         plan_for_run(rm.manifest, rm.config, o, capacity_for_run(rm.manifest, rm.config, o))});
  }
  return plans;
}

namespace {

// The resolved configuration, for run.json.
RunConfigReport config_report(const RunOptions& o) {
  RunConfigReport c;
  c.models = o.models;
  c.datasets = o.datasets;
  c.dataset_of = o.dataset_of;
  c.work_dir = fs::absolute(o.work_dir).string();
  c.model_root = o.model_root.string();
  c.model_dir = o.model_dir.string();
  c.data_root = fs::absolute(o.data_root).string();
  c.configs_dir = fs::absolute(o.configs_dir).string();
  c.config_file = o.config_file.string();
  c.mode = to_string(o.mode);
  c.reuse = o.reuse;
  c.limit.emplace(o.limit);
  c.judge = o.judge;
  c.device = o.device;
  c.placement = o.placement;
  c.max_new_tokens.emplace(o.max_new_tokens);
  c.overlap = o.overlap;
  c.shard = ShardConfigReport{o.shard.rank, o.shard.world_size, o.shard.local_rank, o.shard.source};
  return c;
}

fs::path make_run_folder(const RunOptions& o, const std::string& model) {
  const fs::path folder = o.work_dir / model / eval_id(o.commit, std::time(nullptr));
  std::error_code ec;
  fs::create_directories(folder, ec);
  check_user(!ec, "cannot create the run folder " + folder.string() + ": " + ec.message() +
                      " (pass a writable --work-dir, or set MMEVAL_ROOT)");
  // Writable? (create_directories succeeds on an existing read-only folder.)
  const fs::path probe = folder / ("run.json.lock");
  std::ofstream touch(probe, std::ios::app);
  check_user(touch.good(), "cannot write in the run folder " + folder.string() +
                               " (pass a writable --work-dir, or set MMEVAL_ROOT)");
  return folder;
}

// One model of the run as its pairs see it: its run name, what answers its items (null in --mode
// eval) and what run.json says of it.
struct RunModel {
  std::string name;
  std::unique_ptr<LazyModel> lazy;           // the real model, planned, loaded at its first item
  std::unique_ptr<AnswererProvider> given;   // a test's (AnswererProviders)
  std::optional<ModelReport> model;          // run.json "model"; none unless lazy
  std::optional<PlacementReport> placement;  // run.json "placement"; none unless lazy
  AnswererProvider* provider() const { return lazy ? lazy.get() : given.get(); }
};

// What run.json says of the model ("model").
ModelReport model_report(const ResolvedModel& rm, const RunOptions& o,
                         const PlanCapacity& capacity) {
  ModelReport m;
  m.name = rm.config.name;
  m.dir = fs::absolute(rm.dir).string();
  m.config = rm.config.file.string();
  m.manifest_name = rm.manifest.name;
  m.family = rm.manifest.family;
  m.dtype = c10::toString(rm.manifest.dtype);
  m.exported_with_torch = rm.manifest.torch_version;
  m.max_new_tokens = o.max_new_tokens.value_or(rm.config.max_new_tokens);
  m.cuda_graphs = !o.no_cuda_graphs;
  m.jit_optimize = o.jit_optimize;
  m.cudnn_attention = o.cudnn_attention;
  m.prefill_bucket = o.prefill_bucket;
  m.batch_size_requested = batch_for_run(rm.config, o).str();
  m.batch_size_resolved = capacity.batch;
  return m;
}

// Resolves and plans the model and checks everything that needs no load; the model itself loads
// lazily, at its first item.
RunModel plan_run_model(const std::string& model_name, const RunOptions& o) {
  ResolvedModel rm = resolve_model(model_name, o);
  const std::string tmpl =
      rm.manifest.chat_template.is_object() ? rm.manifest.chat_template.value("name", "") : "";
  if (!rm.config.chat_template.empty() && rm.config.chat_template != tmpl)
    log::warning("model " + rm.config.name + ": config says template " + rm.config.chat_template +
                 " but the export has " + tmpl);
  PlacementPlan plan =
      plan_for_run(rm.manifest, rm.config, o, capacity_for_run(rm.manifest, rm.config, o));
  const PlanCapacity capacity = plan.capacity();  // .batch: the run's batch size
  log::info("model " + rm.config.name + ": " + rm.dir.string() + ", placement " +
            placement_name(rm.config, o) + " (" + plan.strategy() + "):\n" + plan.table());
  check_user(plan.fits(), "model " + rm.config.name + ": placement " +
                              placement_name(rm.config, o) + " does not fit" +
                              batch_size_advice(plan) + ":\n" + plan.table());
  require_devices_present(plan);
  // Found before any dataset runs, although the model itself loads lazily.
  check_user(!rm.manifest.config_only,
             (rm.dir / "manifest.json").string() +
                 " was written with --config-only: it has no weights (plan it with --plan-only)");
  RunModel m;
  m.name = rm.config.name;
  m.model = model_report(rm, o, capacity);
  m.placement = PlacementReport{placement_name(rm.config, o), plan.to_json()};
  LoadOptions load;
  load.verify = !o.no_verify;
  load.jit_optimize = o.jit_optimize;
  load.cudnn_attention = o.cudnn_attention;
  load.before_unit_call = o.before_unit_call;
  m.lazy = std::make_unique<LazyModel>(std::move(rm), std::move(plan), capacity, std::move(load),
                                       !o.no_cuda_graphs, o.prefill_bucket);
  return m;
}

RunModel set_up_model(const std::string& model_name, const RunOptions& o,
                      const AnswererProviders& providers) {
  RunModel m;
  if (providers) {
    m.given = providers(model_name);
    check_internal(m.given != nullptr, "no answerer provider for model '" + model_name + "'");
    m.name = m.given->config().name;
  } else if (o.mode == RunMode::kEval) {
    m.name = model_run_name(model_name, o);
  } else {
    m = plan_run_model(model_name, o);
  }
  return m;
}

// The model's run folder, with this rank's entry in run.json "running"; `writer` takes the
// shard's writer lock (one process answers a shard in a folder: a second run stops here, before
// it writes anything).
fs::path open_run_folder(const RunOptions& o, const RunModel& m,
                         std::optional<ShardWriterLock>& writer) {
  const fs::path folder = make_run_folder(o, m.name);
  const std::string tag = o.shard.tag();
  if (o.mode != RunMode::kEval) {
    std::string command_line;
    for (const std::string& a : o.argv) command_line += (command_line.empty() ? "" : " ") + a;
    writer.emplace(folder, tag, command_line);
  }
  update_run_report(folder, [&](RunReport& r) {
    r.eval_id = folder.filename().string();
    r.commit = o.commit;
    r.world_size = o.shard.world_size;
    r.versions = library_versions(o.commit);
    r.config = config_report(o);
    if (m.model) r.model = m.model;
    RankReport& rank = r.ranks[tag];
    if (m.placement) {
      if (o.shard.rank == 0 || !r.placement) r.placement = m.placement;
      rank.placement = m.placement;
    }
    rank.argv = o.argv;
    rank.host = host_info();
    rank.status = "running";
    rank.message.reset();
  });
  return folder;
}

// How the model files were checked as they loaded, for run.json.
ModelFilesReport model_files_report(const FileCheckTally& t) {
  ModelFilesReport f;
  f.verified = t.verified;
  f.hashed_bytes = t.hashed_bytes;
  f.hashed_files = t.hashed_files;
  f.stamped_files = t.stamped_files;
  f.unrecorded_files = t.unrecorded_files;
  f.verify_s = t.verify_s;
  return f;
}

// This rank's final entry in run.json: its status and what it measured.
void finish_rank(const fs::path& folder, const std::string& tag, LazyModel* lazy,
                 const std::string& status, const std::string& message) {
  std::vector<c10::Device> plan_devices;
  if (lazy) plan_devices = lazy->plan().devices();
  update_run_report(folder, [&](RunReport& report) {
    RankReport& r = report.ranks[tag];
    r.status = status;
    if (!message.empty()) r.message = message;
    r.peak_memory_bytes = peak_memory(plan_devices);
    if (lazy && lazy->loaded()) {
      r.load_ms = lazy->load_ms();
      r.model_files = model_files_report(lazy->file_checks());
      // What the session allocated, beside the plan's kv_cache_bytes per device.
      r.kv_cache_allocated_bytes = lazy->session().kv_cache_bytes();
    }
  });
}

// The model's pairs in dataset order into `summary`; a pair's failure (not an internal error) is
// recorded and the run goes on; an interrupt stops after its pair.
void run_pairs(PairContext& ctx, EvaluationSummary& summary) {
  const RunOptions& o = *ctx.o;
  for (const std::string& run_name : o.datasets) {
    try {
      PairResult r = run_pair(ctx, run_name);
      const bool stop = r.interrupted;
      summary.pairs.push_back(std::move(r));
      if (stop) {
        summary.interrupted_by = o.interrupt ? o.interrupt->load() : SIGINT;
        break;
      }
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::kInternal) throw;  // a bug of ours: the run stops
      summary.failures.push_back({ctx.model_name, run_name, e.what(), e.kind()});
      try {
        update_run_report(ctx.folder, [&](RunReport& r) {
          r.errors.push_back({run_name, o.shard.tag(), e.what()});
        });
      } catch (const Error&) {
        // run.json itself cannot be written (e.g. disk full): the message goes to stderr.
      }
    }
  }
}

// The message of the exception being handled (within a catch block).
std::string current_message() {
  try {
    throw;
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown error";
  }
}

}  // namespace

EvaluationSummary run_evaluation(
    const RunOptions& o,
    const std::function<void(const std::string&, const std::string&)>& on_response,
    const AnswererProviders& providers) {
  o.validate();
  // Every dataset is resolved and its TSV found before any model loads, so that a typo costs no
  // load time and the error is the only thing printed.
  for (const std::string& name : o.datasets) require_dataset_file(o.dataset_for(name), o);
  EvaluationSummary summary;
  std::vector<std::string> models = o.models;
  if (models.empty()) models.push_back("");  // --model-dir alone: the manifest's name
  for (const std::string& model_name : models) {
    RunModel m = set_up_model(model_name, o, providers);
    std::optional<ShardWriterLock> writer;
    const fs::path folder = open_run_folder(o, m, writer);
    const std::string tag = o.shard.tag();
    PairContext ctx;
    ctx.model = m.provider();
    ctx.model_name = m.name;
    ctx.o = &o;
    ctx.folder = folder;
    ctx.on_response = &on_response;
    try {
      run_pairs(ctx, summary);
    } catch (...) {
      const std::string message = current_message();
      try {
        finish_rank(folder, tag, m.lazy.get(), "failed", message);
      } catch (const std::exception&) {
        // run.json cannot be written: the error itself is what main reports.
      }
      throw;
    }
    try {
      finish_rank(folder, tag, m.lazy.get(),
                  summary.interrupted_by     ? "interrupted"
                  : summary.failures.empty() ? "done"
                                             : "failed",
                  summary.failures.empty() ? "" : summary.failures.front().message);
    } catch (const Error&) {
      if (summary.failures.empty()) throw;
    }
    if (summary.interrupted_by) break;
  }
  return summary;
}

}  // namespace vlm
