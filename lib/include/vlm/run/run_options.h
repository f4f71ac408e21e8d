// Everything a `run` invocation asks for, resolved from argv and the environment by main().
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "vlm/eval/can_infer.h"

namespace vlm {

struct RunOptions {
  std::vector<std::string> models;             // --model: names under configs/models (outer loop)
  std::vector<std::string> datasets;           // --data: names (inner loop)
  std::filesystem::path work_dir = "outputs";  // --work-dir
  std::filesystem::path model_root;            // --model-root, else $VLMEVAL_MODEL_ROOT
  std::filesystem::path model_dir;        // --model-dir: run this export under its manifest's name
  std::filesystem::path data_root;        // $LMUData, else ~/LMUData
  std::filesystem::path configs_dir;      // configs/ (models/, datasets/, placements/)
  std::optional<int64_t> max_new_tokens;  // --max-new-tokens: overrides the model config
  std::string device = "auto";            // --device: what a placement's [auto] devices become
  std::string placement;                  // --placement NAME|FILE; empty: the model config's
  bool plan_only = false;                 // --plan-only: print the placement plan, load nothing
  std::string commit;                     // the harness's git commit (the G part of run folders)
  std::vector<std::string> argv;          // the command line, for run.json
  CanInferOptions can_infer;              // answer extraction (VERBOSE env)

  // Throws UserError naming the option when something is missing or contradictory.
  void validate() const;
};

}  // namespace vlm
