// From a placement name (or file) and a run's needs to a checked plan for one model.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "vlm/model/manifest.h"
#include "vlm/model/placement_config.h"
#include "vlm/model/placement_plan.h"

namespace vlm {

// `device` as --device gives it (cpu | cuda | cuda:N | auto) -> a device; auto is the first CUDA
// device when there is one, else the CPU. UserError for a device this machine does not have.
c10::Device resolve_device(const std::string& device);

// Reads the placement `name_or_file` (configs/placements/NAME.yaml, or a .yaml or accelerate .json
// file) for the process of `local_rank` on its host. A YAML config may list device groups, one per
// local rank, for data-parallel runs:
//   devices: [cuda:0, cuda:1]                       # as written for group 0
//   groups: [[cuda:0, cuda:1], [cuda:2, cuda:3]]    # local rank g uses groups[g]
// Each group has as many devices as `devices` (default: groups[0]); devices[i] becomes
// groups[g][i] in devices, max_memory and pin/map. A local rank without a group is a UserError.
// Without groups every rank uses the config as written.
PlacementConfig placement_for_rank(const std::string& name_or_file,
                                   const std::filesystem::path& placements_dir, int local_rank);

// Plans `manifest` under placement_for_rank(name_or_file, ..., local_rank). A config whose devices
// are [auto] gets `device` (resolved as above). Plans for the devices the config names whether or
// not this machine has them; nothing is loaded.
PlacementPlan plan_placement(const Manifest& manifest, const std::string& name_or_file,
                             const std::string& device, const PlanCapacity& capacity,
                             const std::filesystem::path& placements_dir, int local_rank = 0);

// Prompt positions the images of one item take: `n_images` images of `tiles_per_image` tiles each,
// plus a thumbnail per image when there is more than one tile, times the tokens per tile.
int64_t image_positions(const Manifest& manifest, int tiles_per_image, int n_images);

// The images one item shows the model: how many, each tiled with at most `tiles_per_image` tiles
// (ModelConfig::tiles_for of its dataset and image count; the thumbnail not counted).
struct ItemImages {
  int n_images = 0;
  int tiles_per_image = 1;
};

// Prompt positions every capacity keeps for the text of one prompt (template, question, options,
// image delimiters); a longer prompt is that item's error.
constexpr int64_t kTextBudget = 2048;

// The one capacity of a run, used by the plan (KV cache and activation reserve per device), the
// session's KV cache, `generate` and the benchmarks: room for the largest of `items` with all its
// images (image_positions), kTextBudget and `max_new_tokens`; max_tiles is the most tiles one item
// sends the vision model (thumbnails included). No items, or none with images: text only.
PlanCapacity run_capacity(const Manifest& manifest, const std::vector<ItemImages>& items,
                          int64_t max_new_tokens);

}  // namespace vlm
