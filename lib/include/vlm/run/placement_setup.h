// From a placement name (or file) and a run's needs to a checked plan for one model.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "vlm/model/manifest.h"
#include "vlm/model/placement_config.h"
#include "vlm/model/placement_plan.h"
#include "vlm/run/shard.h"

namespace vlm {

// What this host offers when a placement's devices are [auto].
struct DeviceInventory {
  bool cuda_available = false;  // CUDA usable by this process
  int cuda_devices = 0;         // CUDA devices it sees (cuda:0 .. cuda:N-1)
};

// This process's inventory, from torch::cuda. Read once, by the callers of plan_placement; the
// resolution below takes the inventory as a parameter and never looks at the hardware itself.
DeviceInventory current_device_inventory();

// Whether `config`'s [auto] stands for several devices: true for the strategies that spread a
// model by themselves, balanced and internvl-split; false for sequential (without per-device
// budgets, which [auto] cannot name, it fills its first device: `single`) and explicit (its map
// names the devices).
bool auto_spreads(const PlacementConfig& config);

// [auto] resolved for one process, and the note that says how (printed with the plan and saved in
// run.json).
struct AutoDevices {
  std::vector<c10::Device> devices;
  std::string note;
};

// The one owner of [auto] (config.auto_device). For local rank r of L processes on a host
// with G CUDA devices (`inventory`):
//   - `device` (--device: cpu | cuda | cuda:N) when it is not "auto": that one device; UserError
//     when the inventory lacks it;
//   - else without CUDA: cpu;
//   - else, L <= G: rank r's share is cuda:(r*G/L) .. cuda:((r+1)*G/L - 1) (integer division; the
//     shares of all ranks cover the GPUs once, as VLMEvalKit's CUDA_VISIBLE_DEVICES per rank);
//     a spreading placement (auto_spreads) takes the whole share, another its first device;
//   - else (L > G, the share is empty): a one-device placement takes cuda:(r mod G), noted as
//     shared with other ranks; a spreading placement is a UserError saying so.
AutoDevices resolve_auto_devices(const PlacementConfig& config, const std::string& device,
                                 int local_rank, int local_world_size,
                                 const DeviceInventory& inventory);

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

// Plans `manifest` under placement_for_rank(name_or_file, ..., shard.local_rank), its [auto]
// devices set by resolve_auto_devices(config, device, shard's local rank and local world size,
// inventory), with that function's note among the plan's notes (and one saying that `device` does
// not apply to a config that names its devices). Plans for the devices the config names whether
// or not this machine has them; nothing is loaded. The plan is for capacity.batch items, or with
// `largest_batch` (--batch-size auto) for the largest batch that fits, up to max_batch_size()
// (PlacementPlan::make_largest_batch; capacity.batch ignored). Either way the plan's
// capacity().batch is the run's batch size.
PlacementPlan plan_placement(const Manifest& manifest, const std::string& name_or_file,
                             const std::string& device, const PlanCapacity& capacity,
                             const std::filesystem::path& placements_dir, const Shard& shard,
                             const DeviceInventory& inventory, bool largest_batch = false);

// Why `plan`, which does not fit, is refused, as said after "does not fit": " at batch size N",
// and when N > 1 that a smaller --batch-size (or auto: the largest that fits) needs less KV cache.
// Empty for a plan that fits.
std::string batch_size_advice(const PlacementPlan& plan);

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
