#include "vlm/run/run_options.h"

#include "vlm/core/error.h"

namespace vlm {

std::string to_string(RunMode mode) {
  switch (mode) {
    case RunMode::kAll:
      return "all";
    case RunMode::kInfer:
      return "infer";
    case RunMode::kEval:
      return "eval";
  }
  return "?";
}

RunMode parse_run_mode(const std::string& text) {
  if (text == "all") return RunMode::kAll;
  if (text == "infer") return RunMode::kInfer;
  if (text == "eval") return RunMode::kEval;
  throw UserError("--mode " + text + ": expected all, infer or eval");
}

std::string RunOptions::dataset_for(const std::string& name) const {
  auto it = dataset_of.find(name);
  return it != dataset_of.end() ? it->second : name;
}

void RunOptions::validate() const {
  check_user(!models.empty() || !model_dir.empty(), "--model or --model-dir is required");
  check_user(plan_only || !datasets.empty(), "--data is required");
  check_user(model_dir.empty() || models.size() <= 1,
             "--model-dir runs one model; got " + std::to_string(models.size()) + " --model names");
  check_user(!max_new_tokens || *max_new_tokens > 0,
             "--max-new-tokens must be > 0, got " + std::to_string(max_new_tokens.value_or(0)));
  check_user(!limit || *limit > 0, "--limit must be > 0, got 0");
  check_user(!batch_size || batch_size->automatic ||
                 (batch_size->items >= 1 && batch_size->items <= max_batch_size()),
             "--batch-size must be auto or an integer in 1.." + std::to_string(max_batch_size()) +
                 ", got " + (batch_size ? batch_size->str() : std::string()));
  check_user(prepare_threads >= 0 && prepare_threads <= 64,
             "--prepare-threads must be in 0..64, got " + std::to_string(prepare_threads));
  check_user(!work_dir.empty(), "--work-dir must not be empty");
  check_user(judge == "exact_matching",
             "--judge " + judge + ": only exact_matching is supported (no LLM judge)");
  check_user(shard.world_size >= 1 && shard.rank >= 0 && shard.rank < shard.world_size,
             "shard " + shard.tag() + " (" + shard.source + "): need 0 <= rank < world size");
}

}  // namespace vlm
