// Two or more runs side by side (the `compare` tool): per-item agreement of predictions, score
// deltas, speed and memory per device. The first run is the baseline every other run is held to.
#pragma once

#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "vlm/report/dataset_outputs.h"
#include "vlm/report/run_folder.h"

namespace vlm {

struct CompareOptions {
  std::vector<std::string> datasets;  // datasets to compare; empty: every dataset all runs share
  std::size_t max_listed = 5;         // differing items listed with both predictions, per pair
};

// One differing item: its index and the two predictions.
struct PredictionDifference {
  std::string index;
  std::string baseline;  // the baseline run's prediction
  std::string other;     // the other run's prediction
};

// A run's predictions held to the baseline's on one dataset.
struct Agreement {
  std::size_t run = 0;                                  // position of the other run (>= 1)
  std::size_t compared = 0;                             // indices both runs have
  std::size_t identical = 0;                            // of those, byte-identical predictions
  std::size_t differing = 0;                            // compared - identical
  std::vector<std::string> differing_indices;           // every differing index, in baseline order
  std::vector<PredictionDifference> first_differences;  // the first max_listed of them
  std::vector<std::string> only_in_baseline;            // indices the other run lacks
  std::vector<std::string> only_in_other;               // indices the baseline lacks
};

// One score cell across runs.
struct ScoreRow {
  std::string split;
  std::string metric;
  std::vector<std::optional<double>> values;  // per run; std::nullopt: the run lacks it (or NaN)
  std::vector<std::optional<double>> deltas;  // per run: value - baseline's (run 0: 0 when set)
};

struct DatasetComparison {
  std::string dataset;
  std::vector<DatasetOutputs> outputs;  // per run
  std::vector<Agreement> agreement;     // runs 1..N-1 against run 0
  std::size_t all_agree = 0;            // items every run has, with one prediction among them all
  std::size_t in_all = 0;               // items every run has
  std::vector<ScoreRow> scores;         // union of the runs' cells, baseline's order first
  std::vector<std::optional<double>> overall;  // overall_score() per run
  std::vector<std::string> stages;             // union of stage names, pipeline order first
};

struct RunComparison {
  std::vector<RunFolder> runs;
  std::vector<DatasetComparison> datasets;
  std::vector<std::string> skipped_datasets;  // datasets only some runs have (not compared)
  std::vector<std::string> devices;           // union of the runs' devices, first-seen order

  // True when every compared item has the same prediction in every run and no run lacks an
  // item another has.
  bool identical() const;
  // One line per dataset and run that is not identical to the baseline, naming the differing
  // (and missing) indices, at most `max_indices` each; "" when identical().
  std::string difference_summary(std::size_t max_indices = 20) const;
  // The whole comparison as JSON (the --json file); documented in README "Comparing runs".
  nlohmann::json to_json() const;
};

// Compares `runs` (at least two; folder labels that coincide are first made unique by
// make_labels_unique). Throws UserError when fewer than two runs are given, labels repeat (one
// folder given twice, or two equal --label), a requested dataset is missing from a run (naming its
// run.json), no dataset is shared by all runs, or a run's dataset files cannot be read.
RunComparison compare_runs(std::vector<RunFolder> runs, const CompareOptions& options = {});

}  // namespace vlm
