#include "vlm/run/placement_setup.h"

#include <torch/cuda.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <fstream>
#include <map>
#include <optional>

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

namespace {
namespace fs = std::filesystem;

// The YAML file `name_or_file` names, when it is one (as resolve_placement_config finds it).
std::optional<fs::path> placement_yaml(const std::string& name_or_file, const fs::path& dir) {
  const fs::path p(name_or_file);
  for (const fs::path& c : {p, dir / p, dir / (name_or_file + ".yaml")})
    if ((c.extension() == ".yaml" || c.extension() == ".yml") && fs::is_regular_file(c)) return c;
  return std::nullopt;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); !from.empty() && at != std::string::npos;
       at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
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
  std::vector<std::vector<c10::Device>> groups;
  try {
    check_user(root["groups"].IsSequence() && root["groups"].size() > 0,
               where + " must be a list of device lists, e.g. [[cuda:0], [cuda:1]]");
    for (size_t g = 0; g < root["groups"].size(); ++g) {
      const YAML::Node& list = root["groups"][g];
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
  check_user(local_rank >= 0 && static_cast<size_t>(local_rank) < groups.size(),
             where + " lists " + std::to_string(groups.size()) +
                 " device group(s) but this is local rank " + std::to_string(local_rank) +
                 " (LOCAL_RANK / SLURM_LOCALID): list one group per process on the host");
  // The config without `groups`, through the one loader (via a private temporary copy).
  YAML::Node rest = YAML::Clone(root);
  rest.remove("groups");
  if (!rest["devices"]) {
    YAML::Node d(YAML::NodeType::Sequence);
    for (const c10::Device& dev : groups[0]) d.push_back(dev.str());
    rest["devices"] = d;
  }
  const fs::path tmp = fs::temp_directory_path() / ("vlm_placement_" + std::to_string(::getpid()) +
                                                    "_" + yaml->filename().string());
  {
    std::ofstream out(tmp);
    out << rest;
  }
  PlacementConfig config;
  try {
    config = load_placement_config(tmp);
  } catch (const UserError& e) {
    fs::remove(tmp);
    throw UserError(replace_all(e.what(), tmp.string(), yaml->string()));
  }
  fs::remove(tmp);
  config.name = yaml->stem().string();
  config.file = *yaml;
  check_user(!config.auto_device, where + ": groups need explicit devices, not [auto]");
  for (size_t g = 0; g < groups.size(); ++g)
    check_user(groups[g].size() == config.devices.size(),
               where + "[" + std::to_string(g) + "] has " + std::to_string(groups[g].size()) +
                   " device(s); devices has " + std::to_string(config.devices.size()));
  const std::vector<c10::Device>& mine = groups[static_cast<size_t>(local_rank)];
  auto subst = [&](const c10::Device& d) {
    for (size_t i = 0; i < config.devices.size(); ++i)
      if (config.devices[i] == d) return mine[i];
    return d;
  };
  std::map<std::string, int64_t> max_memory;
  for (const auto& [dev, bytes] : config.max_memory)
    max_memory[subst(c10::Device(dev)).str()] = bytes;
  config.max_memory = max_memory;
  for (auto& [unit, dev] : config.pin) dev = subst(dev);
  for (auto& [unit, dev] : config.map) dev = subst(dev);
  config.devices = mine;
  return config;
}

PlacementPlan plan_placement(const Manifest& manifest, const std::string& name_or_file,
                             const std::string& device, const PlanCapacity& capacity,
                             const std::filesystem::path& placements_dir, int local_rank) {
  PlacementConfig config = placement_for_rank(name_or_file, placements_dir, local_rank);
  if (config.auto_device) config.devices = {resolve_device(device)};
  return PlacementPlan::make(manifest, config, capacity);
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
