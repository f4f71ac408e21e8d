// Everything a `run` invocation asks for, resolved from argv, --config and the environment by
// main().
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "vlm/eval/can_infer.h"
#include "vlm/model/manifest.h"
#include "vlm/run/batch_size.h"
#include "vlm/run/shard.h"

namespace vlm {

// --mode: VLMEvalKit's all | infer | eval.
enum class RunMode {
  kAll,    // answer the items, merge the predictions, score
  kInfer,  // answer the items and merge the predictions; no scoring, no links
  kEval,   // load no model: merge the records an earlier run wrote and score them
};
std::string to_string(RunMode mode);
// "all" | "infer" | "eval"; UserError otherwise.
RunMode parse_run_mode(const std::string& text);

// A model entry of a --config file, on top of the configs/models entry it is based on.
struct ModelOverrides {
  std::string base;                       // configs/models name the entry starts from
  std::filesystem::path model_dir;        // exported model directory (model_dir / model_path)
  std::optional<int64_t> max_new_tokens;  // max_new_tokens
  std::string placement;                  // placement
  std::optional<BatchSize> batch_size;    // batch_size
};

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
  RunMode mode = RunMode::kAll;           // --mode
  bool no_verify = false;  // --no-verify: skip the SHA-256 check of the model files before loading
  // --no-cuda-graphs: decode steps and vision run eagerly (generate/decode_step.h, vision_graphs.h)
  bool no_cuda_graphs = false;
  bool jit_optimize = false;     // --jit-optimize: the profiling graph executor (LoadOptions)
  bool cudnn_attention = false;  // --cudnn-attention: LibTorch may pick cuDNN's (LoadOptions)
  int64_t prefill_bucket = 0;    // --prefill-bucket N (GenerationOptions::prefill_bucket)
  bool reuse = false;            // --reuse: take records of an earlier same-commit folder
  std::optional<size_t> limit;   // --limit N: only the first N items of each dataset
  Shard shard;                   // --shard i/N, torchrun or Slurm environment
  bool verbose = false;          // --verbose: print every response on stdout
  bool quiet = false;            // --quiet: errors only (no progress, no table)
  std::string judge = "exact_matching";                   // --judge
  std::filesystem::path config_file;                      // --config (for run.json)
  std::map<std::string, ModelOverrides> model_overrides;  // --config model entries by name
  std::map<std::string, std::string> dataset_of;          // --config data entries: name -> dataset
  std::string commit;             // the harness's git commit (G part of folders)
  std::vector<std::string> argv;  // the command line, for run.json
  CanInferOptions can_infer;      // answer extraction (VERBOSE env)
  // A test hook set by main (fault injection): passed to LoadOptions::before_unit_call.
  std::function<void(const UnitSpec&)> before_unit_call;
  // A test hook set by main (fault injection) or a test: called at each point of the run that a
  // crash test may stop at, with its name: "after_record_N" (the pair's Nth record appended by
  // this invocation), "after_predictions_xlsx" (before the .tsv), "after_scoring" (score files
  // written, before run.json). main's SIGKILLs the process at $VLM_RUN_CRASH_AT. Null: nothing.
  std::function<void(const std::string& point)> at_point;
  // Set (to the signal number) by main's SIGINT/SIGTERM handler: finish the items in flight, write,
  // stop. Null: never interrupted.
  const std::atomic<int>* interrupt = nullptr;
  // --prepare-threads: CPU threads that prepare the next items (decode, tiles, prompt, ids), up to
  // 2 per thread ahead of the device; 0: each item is prepared in turn on the main thread.
  int prepare_threads = 2;
  // --batch-size N|auto: items in flight; overrides the model config's batch_size (default 1).
  // What the run uses is its plan's capacity().batch (auto resolved there).
  std::optional<BatchSize> batch_size;
  // --overlap: the next item's device work (image preprocessing, vision, projector) is queued on
  // side streams ahead of the item in flight (Answerer::prepare_ahead); the plan reserves room for
  // it. Results are identical either way.
  bool overlap = false;

  // The dataset a --data / config name runs (the config's "dataset", else the name itself).
  std::string dataset_for(const std::string& name) const;

  // Throws UserError naming the option when something is missing or contradictory.
  void validate() const;
};

}  // namespace vlm
