// VLMEvalKit's --config JSON: {"model": {NAME: {"class": ..., kwargs}}, "data": {NAME: {"class":
// ..., "dataset": ...}}}, mapped onto RunOptions.
#pragma once

#include <filesystem>

#include "vlm/run/run_options.h"

namespace vlm {

// Reads `file` and sets options.models, options.datasets, options.model_overrides and
// options.dataset_of. Model entries: {} (the configs/models entry of that name) or any of
//   "class": "InternVLChat" (the only class this harness runs),
//   "model_path": an exported model directory, or a checkpoint id such as
//                 "OpenGVLab/InternVL2-8B" (the configs/models entry with that checkpoint, or
//                 named after its last component),
//   "model_dir": an exported model directory, "base": a configs/models name to start from,
//   "max_new_tokens": int > 0, "placement": NAME|FILE, "version": "V2.0",
//   "do_sample": false (greedy only).
// Data entries: {} or {"class": "...Dataset", "dataset": NAME}. An unknown key, a wrong type or a
// missing section is a UserError naming the file and the key path (e.g. model.M.foo).
void apply_run_config_file(const std::filesystem::path& file, RunOptions& options);

}  // namespace vlm
