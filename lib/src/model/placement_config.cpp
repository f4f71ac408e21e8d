#include "vlm/model/placement_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "vlm/core/closest_names.h"
#include "vlm/core/config_schema.h"
#include "vlm/core/error.h"
#include "vlm/core/yaml_key.h"

namespace vlm {
namespace fs = std::filesystem;

namespace {

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
}

// The one table of strategy names, as configs write them and plans print them.
const std::pair<PlacementStrategy, const char*> kStrategyNames[] = {
    {PlacementStrategy::kBalanced, "balanced"},
    {PlacementStrategy::kSequential, "sequential"},
    {PlacementStrategy::kInternvlSplit, "internvl-split"},
    {PlacementStrategy::kExplicit, "explicit"},
};

// The keys a YAML placement config may have (format in ../shared/DESIGN.md).
const ConfigSchema& placement_config_schema() {
  using S = ConfigSchema;
  static const S kDevice = S::scalar("a device (cuda:N, cuda, cpu or a GPU index N)");
  static const S kSize = S::scalar("a size (bytes, or a number with a unit: 40GiB, 512MiB, 1.5GB)");
  static const S kSchema = S::section({
      {"strategy", S::string()},
      {"devices", S::list_of(kDevice)},
      {"max_memory", S::map_of(kSize)},
      {"pin", S::map_of(kDevice)},
      {"map", S::map_of(kDevice)},
      {"activation_reserve", kSize},
  });
  return kSchema;
}

PlacementStrategy parse_strategy(const std::string& text, const std::string& where) {
  std::vector<std::string> names;
  for (const auto& [strategy, name] : kStrategyNames) {
    if (text == name) return strategy;
    names.emplace_back(name);
  }
  throw UserError(where + ": unknown strategy '" + text + "' (expected one of " +
                  join_names(names) + ")");
}

// A YAML mapping {key: device} (checked by placement_config_schema), in document order.
std::map<std::string, c10::Device> device_map(const YAML::Node& node, const std::string& where) {
  std::map<std::string, c10::Device> out;
  for (const auto& kv : node) {
    const std::string key = yaml_key(kv.first, where);
    out.insert_or_assign(key, parse_device(kv.second.Scalar(), where + "." + key));
  }
  return out;
}

void add_device(std::vector<c10::Device>& devices, c10::Device d) {
  if (std::find(devices.begin(), devices.end(), d) == devices.end()) devices.push_back(d);
}

// `root`'s keys and value types are checked before any is read.
PlacementConfig read_yaml_config(const YAML::Node& root, const fs::path& file) {
  const std::string where = file.string();
  check_user(root.IsMap(),
             where + ": a placement config must be a mapping (strategy, devices, ...)");
  check_config(root, placement_config_schema(), where);

  PlacementConfig c;
  c.name = file.stem().string();
  c.file = file;
  if (root["strategy"])
    c.strategy = parse_strategy(root["strategy"].Scalar(), where + ": strategy");
  if (root["pin"]) c.pin = device_map(root["pin"], where + ": pin");
  if (root["map"]) c.map = device_map(root["map"], where + ": map");
  if (root["devices"]) {
    const YAML::Node& d = root["devices"];
    for (size_t i = 0; i < d.size(); ++i) {
      const std::string item = where + ": devices[" + std::to_string(i) + "]";
      const std::string text = trim(d[i].Scalar());
      if (text == "auto") {
        check_user(d.size() == 1, item + ": 'auto' must be the only device");
        c.auto_device = true;
        continue;
      }
      const c10::Device dev = parse_device(text, item);
      check_user(std::find(c.devices.begin(), c.devices.end(), dev) == c.devices.end(),
                 item + ": " + dev.str() + " is listed twice");
      c.devices.push_back(dev);
    }
  }
  if (root["max_memory"]) {
    const YAML::Node& m = root["max_memory"];
    for (const auto& kv : m) {
      const std::string key = yaml_key(kv.first, where + ": max_memory");
      const std::string item = where + ": max_memory." + key;
      const c10::Device dev = parse_device(key, item);
      c.max_memory[dev.str()] = parse_size(kv.second.Scalar(), item);
    }
  }
  if (root["activation_reserve"]) {
    const std::string item = where + ": activation_reserve";
    c.activation_reserve = parse_size(root["activation_reserve"].Scalar(), item);
  }

  if (c.strategy == PlacementStrategy::kExplicit) {
    check_user(!c.map.empty(), where + ": strategy explicit needs a non-empty map {unit: device}");
    if (c.devices.empty() && !c.auto_device) {
      // Distinct devices of the map and pins, in document order.
      for (const char* section : {"map", "pin"})
        if (root[section])
          for (const auto& kv : root[section])
            add_device(c.devices, parse_device(kv.second.Scalar(), where + ": " + section));
    }
  }
  check_user(c.auto_device || !c.devices.empty(),
             where + ": devices is missing (e.g. devices: [cuda:0, cuda:1], or [auto])");
  if (!c.auto_device)
    for (const auto& entry : c.max_memory) {
      const std::string& dev = entry.first;  // (clang: no lambda capture of a structured binding)
      const bool listed = std::any_of(c.devices.begin(), c.devices.end(),
                                      [&](const c10::Device& d) { return d.str() == dev; });
      check_user(listed, where + ": max_memory names " + dev + ", which is not in devices");
    }
  return c;
}

PlacementConfig load_yaml_config(const fs::path& file) {
  const std::string where = file.string();
  YAML::Node root;
  try {
    root = YAML::LoadFile(file.string());
  } catch (const YAML::Exception& e) {
    throw UserError(where + ": not valid YAML: " + e.what());
  }
  return load_placement_config(root, file);
}

PlacementConfig load_accelerate_map(const fs::path& file) {
  const std::string where = file.string();
  std::ifstream in(file);
  check_user(in.good(), where + ": cannot be read");
  nlohmann::ordered_json j;
  try {
    j = nlohmann::ordered_json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw UserError(where + ": not valid JSON: " + e.what());
  }
  check_user(j.is_object() && !j.empty(),
             where + ": an accelerate device_map must be a non-empty object {module: device}");
  PlacementConfig c;
  c.name = file.stem().string();
  c.file = file;
  c.strategy = PlacementStrategy::kExplicit;
  for (const auto& [key, value] : j.items()) {
    const std::string item = where + ": " + key;
    std::string text;
    if (value.is_number_integer())
      text = std::to_string(value.get<int64_t>());
    else if (value.is_string())
      text = value.get<std::string>();
    else
      throw UserError(item + ": device must be a GPU index or a string such as \"cpu\", got " +
                      value.dump());
    const c10::Device dev = parse_device(text, item);
    c.map.insert_or_assign(key, dev);
    add_device(c.devices, dev);
  }
  return c;
}

}  // namespace

std::string strategy_name(PlacementStrategy strategy) {
  for (const auto& [s, name] : kStrategyNames)
    if (s == strategy) return name;
  throw InternalError("placement: strategy " + std::to_string(static_cast<int>(strategy)) +
                      " has no name");
}

int64_t parse_size(const std::string& text, const std::string& where) {
  const std::string t = trim(text);
  auto fail = [&]() -> UserError {
    return UserError(where + ": cannot read size '" + text +
                     "' (expected bytes or a number with a unit: 40GiB, 512MiB, 1.5GB)");
  };
  size_t i = 0;
  while (i < t.size() && (std::isdigit(static_cast<unsigned char>(t[i])) || t[i] == '.')) ++i;
  const std::string number = t.substr(0, i);
  const std::string unit = lower(trim(t.substr(i)));
  if (number.empty() || std::count(number.begin(), number.end(), '.') > 1 || number == "." ||
      number.front() == '.' || number.back() == '.')
    throw fail();
  static const std::map<std::string, double> kUnits = {{"", 1.0},
                                                       {"b", 1.0},
                                                       {"kb", 1e3},
                                                       {"mb", 1e6},
                                                       {"gb", 1e9},
                                                       {"tb", 1e12},
                                                       {"kib", 1024.0},
                                                       {"mib", 1048576.0},
                                                       {"gib", 1073741824.0},
                                                       {"tib", 1099511627776.0}};
  auto it = kUnits.find(unit);
  if (it == kUnits.end()) throw fail();
  if (number.find('.') == std::string::npos && it->second == 1.0) {
    if (number.size() > 18) throw fail();
    return std::stoll(number);
  }
  const double bytes = std::stod(number) * it->second;
  if (!(bytes < 9.0e18)) throw fail();
  return static_cast<int64_t>(std::llround(bytes));
}

std::string format_gib(int64_t bytes) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.2f GiB", static_cast<double>(bytes) / 1073741824.0);
  return buf;
}

c10::Device parse_device(const std::string& text, const std::string& where) {
  const std::string t = lower(trim(text));
  if (t == "cpu") return c10::Device(c10::kCPU);
  if (t == "cuda") return c10::Device(c10::kCUDA, 0);
  std::string index;
  if (all_digits(t))
    index = t;
  else if (t.rfind("cuda:", 0) == 0 && all_digits(t.substr(5)))
    index = t.substr(5);
  if (!index.empty() && index.size() <= 3) {
    const int n = std::stoi(index);
    if (n <= 127) return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(n));
  }
  if (t == "disk")
    throw UserError(where +
                    ": device 'disk' is not supported (no offloading; every unit must sit "
                    "on a CUDA device or the CPU)");
  throw UserError(where + ": unknown device '" + text +
                  "' (expected cuda:N, cuda, cpu, or a GPU index N)");
}

PlacementConfig load_placement_config(const YAML::Node& root, const fs::path& file) {
  // Any conversion yaml-cpp still refuses (a node of an unexpected shape) names the file too.
  try {
    return read_yaml_config(root, file);
  } catch (const YAML::Exception& e) {
    throw UserError(file.string() + ": " + e.what());
  }
}

PlacementConfig load_placement_config(const fs::path& file) {
  check_user(fs::is_regular_file(file), "placement config " + file.string() + " does not exist");
  if (lower(file.extension().string()) == ".json") return load_accelerate_map(file);
  return load_yaml_config(file);
}

PlacementConfig resolve_placement_config(const std::string& name_or_file,
                                         const fs::path& placements_dir) {
  const fs::path as_path(name_or_file);
  const std::string ext = lower(as_path.extension().string());
  const bool looks_like_path = ext == ".yaml" || ext == ".yml" || ext == ".json" ||
                               name_or_file.find('/') != std::string::npos;
  if (looks_like_path) {
    if (as_path.is_relative() && !fs::is_regular_file(as_path) &&
        fs::is_regular_file(placements_dir / as_path))
      return load_placement_config(placements_dir / as_path);  // e.g. examples/NAME.json
    check_user(fs::is_regular_file(as_path),
               "placement config file " + name_or_file + " does not exist");
    return load_placement_config(as_path);
  }
  const fs::path file = placements_dir / (name_or_file + ".yaml");
  if (fs::is_regular_file(file)) return load_placement_config(file);
  std::vector<std::string> names;
  if (fs::is_directory(placements_dir))
    for (const auto& entry : fs::directory_iterator(placements_dir))
      if (entry.path().extension() == ".yaml") names.push_back(entry.path().stem().string());
  std::sort(names.begin(), names.end());
  throw UserError("unknown placement '" + name_or_file + "' (no " + file.string() +
                  "); closest known: " + join_names(closest_names(name_or_file, names)));
}

}  // namespace vlm
