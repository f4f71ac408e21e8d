// A run over models x datasets, as VLMEvalKit's run.py: a model is loaded once (outer loop), each
// dataset's items are answered in order with records appended as they finish (a restarted run
// skips finished items), then predictions, scores and run.json are written.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "vlm/core/timer.h"
#include "vlm/eval/acc_report.h"
#include "vlm/model/placement_plan.h"
#include "vlm/run/run_options.h"

namespace vlm {

// The outcome of one model x dataset pair.
struct PairResult {
  std::string model;
  std::string dataset;
  std::filesystem::path folder;  // the run folder
  size_t items = 0;              // items in the dataset
  size_t answered = 0;           // items answered by this invocation
  size_t resumed = 0;            // items taken from an earlier invocation's records
  size_t errors = 0;             // items recorded with an error
  std::optional<AccTable> acc;   // scores (MCQ datasets)
  StageTimes times;              // ms per stage, summed over the items answered now
};

struct EvaluationSummary {
  std::vector<PairResult> pairs;
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

// Runs everything `options` asks for. User errors (missing model directory or TSV, bad config)
// are thrown as UserError before any item runs; an item's own error is recorded with the item.
EvaluationSummary run_evaluation(const RunOptions& options);

}  // namespace vlm
