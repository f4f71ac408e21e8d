// How many items a run keeps in flight: `--batch-size N|auto`, or `batch_size` in a model config
// (configs/models/*.yaml) or in a --config model entry. The result files do not depend on it.
#pragma once

#include <cstdint>
#include <string>

namespace vlm {

// A requested batch size: N items, or auto. What a run uses is the placement plan's batch
// (PlacementPlan::capacity().batch): N itself, or for auto the largest N the budgets allow
// (PlacementPlan::make_largest_batch).
struct BatchSize {
  bool automatic = false;  // auto
  int64_t items = 1;       // N when not automatic: 1 .. ModelForward::kDecodeRows

  // "auto" or N, as run.json and messages write it.
  std::string str() const;
};

// The largest N: the rows of a CUDA decode step (ModelForward::kDecodeRows).
int64_t max_batch_size();

// "auto", or an integer in 1..max_batch_size(). Anything else is a UserError
//   "<where> must be auto or an integer in 1..32, got '<text>'"
// where `where` names the option or the file and key ("--batch-size",
// "configs/models/X.yaml: batch_size").
BatchSize parse_batch_size(const std::string& text, const std::string& where);

}  // namespace vlm
