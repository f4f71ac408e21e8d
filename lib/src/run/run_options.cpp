#include "vlm/run/run_options.h"

#include "vlm/core/error.h"

namespace vlm {

void RunOptions::validate() const {
  check_user(!models.empty() || !model_dir.empty(), "--model or --model-dir is required");
  check_user(plan_only || !datasets.empty(), "--data is required");
  check_user(model_dir.empty() || models.size() <= 1,
             "--model-dir runs one model; got " + std::to_string(models.size()) + " --model names");
  check_user(!max_new_tokens || *max_new_tokens > 0,
             "--max-new-tokens must be > 0, got " + std::to_string(max_new_tokens.value_or(0)));
  check_user(!work_dir.empty(), "--work-dir must not be empty");
}

}  // namespace vlm
