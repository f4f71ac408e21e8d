#include "vlm/run/placement_setup.h"

#include <torch/cuda.h>

#include <cstdint>

#include "vlm/core/error.h"
#include "vlm/model/placement_config.h"

namespace vlm {

c10::Device resolve_device(const std::string& device) {
  if (device == "auto") return torch::cuda::is_available() ? c10::Device("cuda:0") : c10::kCPU;
  const c10::Device d = parse_device(device, "--device");
  check_user(!d.is_cuda() || torch::cuda::is_available(),
             "--device " + device + ": this machine has no CUDA device");
  check_user(!d.is_cuda() || d.index() < static_cast<int>(torch::cuda::device_count()),
             "--device " + device + ": this machine has " +
                 std::to_string(torch::cuda::device_count()) + " CUDA device(s)");
  return d;
}

PlacementPlan plan_placement(const Manifest& manifest, const std::string& name_or_file,
                             const std::string& device, const PlanCapacity& capacity,
                             const std::filesystem::path& placements_dir) {
  PlacementConfig config = resolve_placement_config(name_or_file, placements_dir);
  if (config.auto_device) config.devices = {resolve_device(device)};
  return PlacementPlan::make(manifest, config, capacity);
}

int64_t image_positions(const Manifest& manifest, int tiles_per_image, int n_images) {
  const int tiles = tiles_per_image + (tiles_per_image > 1 ? 1 : 0);  // the thumbnail
  return manifest.vision.num_image_token * tiles * n_images;
}

PlanCapacity run_capacity(const Manifest& manifest, int tiles_per_image, int n_images,
                          int64_t text_budget, int64_t max_new_tokens) {
  PlanCapacity c;
  c.max_tiles = (tiles_per_image + (tiles_per_image > 1 ? 1 : 0)) * n_images;
  c.max_sequence =
      image_positions(manifest, tiles_per_image, n_images) + text_budget + max_new_tokens;
  return c;
}

}  // namespace vlm
