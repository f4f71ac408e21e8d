// A model name's settings: configs/models/{name}.yaml (with its `base:` file merged underneath).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "vlm/run/batch_size.h"

namespace vlm {

struct ModelConfig {
  std::string name;                      // VLMEvalKit's model name, e.g. "InternVL2-8B"
  std::string model_dir;                 // exported model directory, relative to the model root
  std::string checkpoint;                // the source checkpoint (for run.json and messages)
  std::string chat_template;             // expected template name; checked against the manifest
  std::string placement = "single";      // configs/placements/<name>.yaml
  int64_t max_new_tokens = 4096;         // greedy generation limit
  BatchSize batch_size;                  // batch_size: items in flight (N | auto; default 1)
  int max_tiles_default = 6;             // tiles per image when the dataset has no entry
  std::map<std::string, int> max_tiles;  // dataset name -> tiles per image
  int max_tiles_total = 64;              // total tile budget over the images of one item
  std::vector<std::string> aliases;      // other names that resolve to this config
  std::filesystem::path file;            // the YAML it came from

  // InternVLChat's rule: max(1, min(max_tiles(dataset), total // n_images)).
  int tiles_for(const std::string& dataset, int n_images) const;
};

// Names of every model config in `configs_dir` (files not starting with '_'), aliases included.
std::vector<std::string> known_model_names(const std::filesystem::path& configs_dir);

// Loads `name` (or an alias of it) from `configs_dir`. An unknown name is a UserError listing the
// closest known names; a bad field is a UserError naming the file and the field.
ModelConfig load_model_config(const std::string& name, const std::filesystem::path& configs_dir);

}  // namespace vlm
