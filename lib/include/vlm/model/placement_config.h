// A placement config: configs/placements/<name>.yaml, or an accelerate device_map JSON.
#pragma once

#include <c10/core/Device.h>
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace vlm {

// How units without an explicit device are spread over `devices`.
enum class PlacementStrategy {
  kBalanced,       // "balanced": contiguous runs in execution order, per-device bytes balanced
  kSequential,     // "sequential": fill devices in order, each up to its max_memory
  kInternvlSplit,  // "internvl-split": upstream split_model (first GPU counts as half, last layer
                   //                   back on the first GPU, vision/mlp1/embedding/norm/head
                   //                   there)
  kExplicit,       // "explicit": every unit must be covered by `map` (an accelerate device_map)
};

// The strategy's name as a config writes it ("internvl-split"); the names are one table in
// placement_config.cpp, which the config parser reads too.
std::string strategy_name(PlacementStrategy strategy);

struct PlacementConfig {
  std::string name;            // file stem, e.g. "balanced-2x80"
  std::filesystem::path file;  // where it was read from (empty: built in code)
  PlacementStrategy strategy = PlacementStrategy::kSequential;
  std::vector<c10::Device> devices;  // in fill order; empty while auto_device
  bool auto_device = false;          // devices: [auto]; resolve_auto_devices (vlm/run) sets devices
  std::map<std::string, int64_t> max_memory;  // device string -> bytes budget (absent: unbounded)
  std::map<std::string, c10::Device> pin;     // unit name or prefix -> device (most specific wins)
  std::map<std::string, c10::Device> map;     // explicit entries, same matching as pin
  int64_t activation_reserve = -1;            // bytes per device kept free; -1: estimate
};

// "40GiB", "512MiB", "1.5GB", "1000000" (bytes) -> bytes. Binary (KiB, MiB, GiB, TiB) and decimal
// (KB, MB, GB, TB) units, case-insensitive. UserError naming `where` and the text otherwise.
int64_t parse_size(const std::string& text, const std::string& where);
// Bytes as "12.34 GiB" for tables and messages.
std::string format_gib(int64_t bytes);

// "cuda:1", "cuda", "cpu", or an accelerate value (0 -> cuda:0, "cpu", "disk" is rejected).
c10::Device parse_device(const std::string& text, const std::string& where);

// Reads a YAML placement config (format in ../shared/DESIGN.md) or, for a .json file, an
// accelerate device_map ({"vision_model": 0, "language_model.model.layers.3": 1, ...}) as an
// explicit map over the devices it names. Errors name the file and the key.
PlacementConfig load_placement_config(const std::filesystem::path& file);
// The YAML placement config `root`, as read from `file` (which names it in messages and gives the
// config its name); the file-based overload loads the YAML and calls this one.
PlacementConfig load_placement_config(const YAML::Node& root, const std::filesystem::path& file);

// NAME (configs/placements/NAME.yaml) or a path to a .yaml/.json file (a relative path not found
// from the working directory is tried under placements_dir: "examples/accelerate-76b-2gpu.json").
// An unknown name lists the closest known names.
PlacementConfig resolve_placement_config(const std::string& name_or_file,
                                         const std::filesystem::path& placements_dir);

}  // namespace vlm
