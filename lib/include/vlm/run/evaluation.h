// A run over models x datasets, as VLMEvalKit's run.py: a model is loaded once (outer loop), at the
// first dataset that has items left to answer; each dataset's items of this process's shard are
// answered in order with records appended as they finish (a restarted run skips finished items);
// when every shard's records are complete, one process merges them into the predictions, scores
// them and updates run.json.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vlm/core/error.h"
#include "vlm/core/timer.h"
#include "vlm/model/placement_plan.h"
#include "vlm/results/score_table.h"
#include "vlm/run/answerer.h"
#include "vlm/run/run_options.h"

namespace vlm {

// The outcome of one model x dataset pair in this process.
struct PairResult {
  std::string model;
  std::string dataset;            // the --data / config name
  std::filesystem::path folder;   // the run folder
  size_t items = 0;               // items of the dataset in this run (--limit applied)
  size_t shard_items = 0;         // of them, this shard's
  size_t answered = 0;            // items answered by this invocation
  size_t resumed = 0;             // this shard's items taken from earlier records
  size_t errors = 0;              // items answered now with an error
  bool interrupted = false;       // SIGINT/SIGTERM stopped the pair before its last item
  bool merged = false;            // the predictions were merged (by this or another process)
  bool waiting = false;           // other shards still have items to answer
  std::optional<ScoreTable> acc;  // the score table in report_acc's shape, for printing
  StageTimes times;               // ms per item stage (summed over the items answered now)
  StageTimes stages;              // ms per run stage: load, infer, merge, evaluate
  double items_per_s = 0;         // answered / infer seconds
};

// A pair that failed as a whole (missing file, disk full, ...); the run went on with the next.
struct PairFailure {
  std::string model;
  std::string dataset;
  std::string message;
  ErrorKind kind = ErrorKind::kUser;  // user (config, data) or device; internal errors stop the run
};

struct EvaluationSummary {
  std::vector<PairResult> pairs;
  std::vector<PairFailure> failures;
  int interrupted_by = 0;  // the signal that stopped the run, 0 when none
};

// The placement plan of one model, made without loading anything (run --plan-only).
struct ModelPlan {
  std::string model;
  std::string placement;  // the config's name or file
  PlacementPlan plan;
};

// Plans every model of `options` for the run it describes (datasets decide the tiles per image;
// none given: the model's default). The model directory may hold a config-only manifest.
std::vector<ModelPlan> plan_models(const RunOptions& options);

// The models of a run given instead of found (the loop's unit tests, with a fake Answerer): for
// each model name of the run (options.models, or "" for --model-dir alone), the provider whose
// answerer() answers its items. With it, run_evaluation resolves, plans and loads no model: the
// model's run name (folder and file names) is the provider's config().name, and run.json has no
// "model" or "placement" entry; everything else (records, resume, shards, merge, scoring, --mode,
// interrupts, RunOptions' hooks) is the real run's. Empty: the models of `options`.
using AnswererProviders =
    std::function<std::unique_ptr<AnswererProvider>(const std::string& model)>;

// Runs everything `options` asks for. User errors found before any item runs (missing model
// directory or TSV, bad config, a placement that does not fit) are thrown as UserError; an item's
// own error (bad input, out of memory, a unit's runtime error) is recorded with the item; a pair's
// failure is in the summary. An internal error, or any exception not of the project, stops the
// run and is rethrown. Whatever happens, this rank's status in run.json ends final: "done",
// "failed" (with the message), or "interrupted". `on_response` gets every prediction (--verbose)
// when set. `providers`: see AnswererProviders (tests).
EvaluationSummary run_evaluation(
    const RunOptions& options,
    const std::function<void(const std::string& what, const std::string& prediction)>& on_response =
        {},
    const AnswererProviders& providers = {});

}  // namespace vlm
