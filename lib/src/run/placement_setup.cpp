#include "vlm/run/placement_setup.h"

#include <torch/cuda.h>
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <optional>

#include "vlm/core/error.h"
#include "vlm/model/placement_config.h"
#include "vlm/run/batch_size.h"

namespace vlm {

DeviceInventory current_device_inventory() {
  DeviceInventory inv;
  inv.cuda_available = torch::cuda::is_available();
  inv.cuda_devices = inv.cuda_available ? static_cast<int>(torch::cuda::device_count()) : 0;
  return inv;
}

bool auto_spreads(const PlacementConfig& config) {
  return config.strategy == PlacementStrategy::kBalanced ||
         config.strategy == PlacementStrategy::kInternvlSplit;
}

AutoDevices resolve_auto_devices(const PlacementConfig& config, const std::string& device,
                                 int local_rank, int local_world_size,
                                 const DeviceInventory& inventory) {
  check_internal(local_world_size >= 1 && local_rank >= 0 && local_rank < local_world_size,
                 "resolve_auto_devices: local rank " + std::to_string(local_rank) + " of " +
                     std::to_string(local_world_size));
  const std::string where = config.file.empty() ? "placement " + config.name : config.file.string();
  const int gpus = inventory.cuda_available ? inventory.cuda_devices : 0;
  auto names = [](const std::vector<c10::Device>& ds) {
    std::string out;
    for (const c10::Device& d : ds) out += (out.empty() ? "" : ", ") + d.str();
    return out;
  };
  AutoDevices r;
  if (device != "auto") {
    const c10::Device d = parse_device(device, "--device");
    check_user(!d.is_cuda() || gpus > 0,
               "--device " + device + ": this machine has no CUDA device");
    check_user(!d.is_cuda() || d.index() < gpus, "--device " + device + ": this machine has " +
                                                     std::to_string(gpus) + " CUDA device(s)");
    r.devices = {d};
    r.note = "devices [auto] resolved to " + d.str() + " (--device " + device + ")";
    return r;
  }
  if (gpus == 0) {
    r.devices = {c10::Device(c10::kCPU)};
    r.note = "devices [auto] resolved to cpu (no CUDA device)";
    return r;
  }
  const std::string ranks = "local rank " + std::to_string(local_rank) + " of " +
                            std::to_string(local_world_size) + " process(es) on " +
                            std::to_string(gpus) + " GPU(s)";
  const bool spreads = auto_spreads(config);
  if (local_world_size > gpus) {
    check_user(!spreads,
               where + ": devices [auto] with a spreading strategy takes this process's share of " +
                   "the GPUs, but " + std::to_string(local_world_size) + " processes on this " +
                   "host share " + std::to_string(gpus) + " GPU(s): a share of 0 GPUs (" + ranks +
                   "). Start at most " + std::to_string(gpus) +
                   " processes per host, or use a one-device placement such as single");
    const c10::Device d(c10::kCUDA, static_cast<c10::DeviceIndex>(local_rank % gpus));
    r.devices = {d};
    r.note = "devices [auto] resolved to " + d.str() + " (" + ranks +
             ": more processes than GPUs, so rank r takes cuda:(r mod " + std::to_string(gpus) +
             ") and shares it with other ranks)";
    return r;
  }
  const int first = local_rank * gpus / local_world_size;
  const int end = (local_rank + 1) * gpus / local_world_size;
  std::vector<c10::Device> share;
  for (int i = first; i < end; ++i)
    share.emplace_back(c10::kCUDA, static_cast<c10::DeviceIndex>(i));
  r.devices = spreads ? share : std::vector<c10::Device>{share.front()};
  r.note = "devices [auto] resolved to " + names(r.devices) + " (" + ranks + ": its share is " +
           names(share) + ")";
  return r;
}

namespace {
namespace fs = std::filesystem;

// The YAML file `name_or_file` names, when it is one (as resolve_placement_config finds it).
std::optional<fs::path> placement_yaml(const std::string& name_or_file, const fs::path& dir) {
  const fs::path p(name_or_file);
  for (const fs::path& c : {p, dir / p, dir / (name_or_file + ".yaml")})
    if ((c.extension() == ".yaml" || c.extension() == ".yml") && fs::is_regular_file(c)) return c;
  return std::nullopt;
}

// `groups` of a placement's YAML root: one non-empty device list per local rank. `where` is
// "FILE: groups".
std::vector<std::vector<c10::Device>> read_groups(const YAML::Node& node,
                                                  const std::string& where) {
  std::vector<std::vector<c10::Device>> groups;
  try {
    check_user(node.IsSequence() && node.size() > 0,
               where + " must be a list of device lists, e.g. [[cuda:0], [cuda:1]]");
    for (size_t g = 0; g < node.size(); ++g) {
      const YAML::Node& list = node[g];
      const std::string item = where + "[" + std::to_string(g) + "]";
      check_user(list.IsSequence() && list.size() > 0, item + " must be a non-empty device list");
      groups.emplace_back();
      for (size_t i = 0; i < list.size(); ++i)
        groups.back().push_back(
            parse_device(list[i].as<std::string>(), item + "[" + std::to_string(i) + "]"));
    }
  } catch (const YAML::Exception& e) {
    throw UserError(where + ": " + e.what());
  }
  return groups;
}

// The config of `root` without its `groups`, read by the one loader from the node; its devices
// default to groups[0].
PlacementConfig config_of_groups(const YAML::Node& root, const fs::path& file,
                                 const std::vector<std::vector<c10::Device>>& groups) {
  const std::string where = file.string() + ": groups";
  YAML::Node rest = YAML::Clone(root);
  rest.remove("groups");
  if (!rest["devices"]) {
    YAML::Node d(YAML::NodeType::Sequence);
    for (const c10::Device& dev : groups[0]) d.push_back(dev.str());
    rest["devices"] = d;
  }
  PlacementConfig config = load_placement_config(rest, file);
  check_user(!config.auto_device, where + ": groups need explicit devices, not [auto]");
  for (size_t g = 0; g < groups.size(); ++g)
    check_user(groups[g].size() == config.devices.size(),
               where + "[" + std::to_string(g) + "] has " + std::to_string(groups[g].size()) +
                   " device(s); devices has " + std::to_string(config.devices.size()));
  return config;
}

// `config` moved onto `group`: devices[i] becomes group[i] in devices, max_memory, pin and map.
PlacementConfig on_group(PlacementConfig config, const std::vector<c10::Device>& group) {
  auto subst = [&](const c10::Device& d) {
    for (size_t i = 0; i < config.devices.size(); ++i)
      if (config.devices[i] == d) return group[i];
    return d;
  };
  std::map<std::string, int64_t> max_memory;
  for (const auto& [dev, bytes] : config.max_memory)
    max_memory[subst(c10::Device(dev)).str()] = bytes;
  config.max_memory = max_memory;
  for (auto& [unit, dev] : config.pin) dev = subst(dev);
  for (auto& [unit, dev] : config.map) dev = subst(dev);
  config.devices = group;
  return config;
}

}  // namespace

PlacementConfig placement_for_rank(const std::string& name_or_file,
                                   const std::filesystem::path& placements_dir, int local_rank) {
  const auto yaml = placement_yaml(name_or_file, placements_dir);
  YAML::Node root;
  if (yaml) {
    try {
      root = YAML::LoadFile(yaml->string());
    } catch (const YAML::Exception&) {
      root = YAML::Node();  // the loader reports it
    }
  }
  if (!yaml || !root.IsMap() || !root["groups"])
    return resolve_placement_config(name_or_file, placements_dir);

  const std::string where = yaml->string() + ": groups";
  const std::vector<std::vector<c10::Device>> groups = read_groups(root["groups"], where);
  check_user(local_rank >= 0 && static_cast<size_t>(local_rank) < groups.size(),
             where + " lists " + std::to_string(groups.size()) +
                 " device group(s) but this is local rank " + std::to_string(local_rank) +
                 " (LOCAL_RANK / SLURM_LOCALID): list one group per process on the host");
  return on_group(config_of_groups(root, *yaml, groups), groups[static_cast<size_t>(local_rank)]);
}

PlacementPlan plan_placement(const Manifest& manifest, const std::string& name_or_file,
                             const std::string& device, const PlanCapacity& capacity,
                             const std::filesystem::path& placements_dir, const Shard& shard,
                             const DeviceInventory& inventory, bool largest_batch) {
  PlacementConfig config = placement_for_rank(name_or_file, placements_dir, shard.local_rank);
  std::string note;
  if (config.auto_device) {
    AutoDevices resolved =
        resolve_auto_devices(config, device, shard.local_rank, shard.local_world_size, inventory);
    config.devices = std::move(resolved.devices);
    config.auto_device = false;
    note = std::move(resolved.note);
  } else if (device != "auto") {
    parse_device(device, "--device");
    note =
        "--device " + device + " does not apply: placement " + config.name + " names its devices";
  }
  PlacementPlan plan = largest_batch ? PlacementPlan::make_largest_batch(manifest, config, capacity,
                                                                         max_batch_size())
                                     : PlacementPlan::make(manifest, config, capacity);
  if (!note.empty()) plan.add_note(note);
  return plan;
}

std::string batch_size_advice(const PlacementPlan& plan) {
  if (plan.fits()) return "";
  const int64_t n = plan.capacity().batch;
  std::string advice = " at batch size " + std::to_string(n);
  if (n > 1)
    advice +=
        " (the KV cache of " + std::to_string(n) +
        " items): pass a smaller --batch-size, or --batch-size auto for the largest that fits";
  return advice;
}

int64_t image_positions(const Manifest& manifest, int tiles_per_image, int n_images) {
  const int tiles = tiles_per_image + (tiles_per_image > 1 ? 1 : 0);  // the thumbnail
  return manifest.vision.num_image_token * tiles * n_images;
}

PlanCapacity run_capacity(const Manifest& manifest, const std::vector<ItemImages>& items,
                          int64_t max_new_tokens) {
  PlanCapacity c;
  int64_t positions = 0;
  c.max_tiles = 0;
  for (const ItemImages& item : items) {
    if (item.n_images <= 0) continue;
    const int64_t p = image_positions(manifest, item.tiles_per_image, item.n_images);
    if (p > positions) {
      positions = p;
      c.max_tiles = (item.tiles_per_image + (item.tiles_per_image > 1 ? 1 : 0)) * item.n_images;
    }
  }
  c.max_sequence = positions + kTextBudget + max_new_tokens;
  return c;
}

}  // namespace vlm
