#include "vlm/run/model_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdint>

#include "vlm/core/closest_names.h"
#include "vlm/core/config_schema.h"
#include "vlm/core/error.h"
#include "vlm/core/yaml_key.h"
#include "vlm/data/confined_path.h"

namespace vlm {
namespace fs = std::filesystem;

namespace {

// The keys a model config file (and its base file) may have.
const ConfigSchema& model_config_schema() {
  using S = ConfigSchema;
  static const S kSchema = S::section({
      {"base", S::string()},
      {"name", S::string()},
      {"model_dir", S::string()},
      {"checkpoint", S::string()},
      {"template", S::string()},
      {"placement", S::string()},
      {"batch_size", S::scalar("auto or an integer in 1.." + std::to_string(max_batch_size()))},
      {"aliases", S::list_of(S::string())},
      {"generation", S::section({{"max_new_tokens", S::integer()}})},
      {"max_tiles", S::section({{"default", S::integer()},
                                {"datasets", S::map_of(S::integer())},
                                {"total", S::integer()}})},
  });
  return kSchema;
}

// A model config file: a YAML mapping (anything else, an empty file included, is a UserError).
YAML::Node load_yaml(const fs::path& file) {
  YAML::Node node;
  try {
    node = YAML::LoadFile(file.string());
  } catch (const YAML::Exception& e) {
    throw UserError(file.string() + ": not valid YAML: " + e.what());
  }
  check_user(node.IsMap(), file.string() + ": must be a YAML mapping of keys to values");
  return node;
}

// `over` merged onto `base`: maps merge key by key, anything else is replaced.
YAML::Node merge(const YAML::Node& base, const YAML::Node& over, const fs::path& file) {
  if (!base.IsMap() || !over.IsMap()) return YAML::Clone(over);
  YAML::Node out = YAML::Clone(base);
  for (const auto& kv : over) {
    const std::string key = yaml_key(kv.first, file.string());
    out[key] = out[key] ? merge(out[key], kv.second, file) : YAML::Clone(kv.second);
  }
  return out;
}

// The file's keys checked as written, then its base file's, then the two merged.
YAML::Node load_with_base(const fs::path& file) {
  YAML::Node node = load_yaml(file);
  check_config(node, model_config_schema(), file.string());
  if (node["base"]) {
    // The base file lies in the config's own folder tree (no '..', absolute path or symlink out).
    const fs::path base =
        resolve_inside(file.parent_path(), node["base"].Scalar(), file.string() + ": base");
    check_user(fs::is_regular_file(base),
               file.string() + ": base file " + base.string() + " does not exist");
    const YAML::Node base_node = load_yaml(base);
    check_config(base_node, model_config_schema(), base.string());
    node = merge(base_node, node, file);
  }
  return node;
}

template <typename T>
T field(const YAML::Node& node, const std::string& key, const fs::path& file, T fallback) {
  if (!node[key]) return fallback;
  try {
    return node[key].as<T>();
  } catch (const YAML::Exception&) {
    throw UserError(file.string() + ": field " + key + " has the wrong type");
  }
}

// name -> file, aliases included.
std::map<std::string, fs::path> index_configs(const fs::path& configs_dir) {
  std::map<std::string, fs::path> index;
  if (!fs::is_directory(configs_dir)) return index;
  for (const auto& entry : fs::directory_iterator(configs_dir)) {
    const fs::path p = entry.path();
    if (p.extension() != ".yaml" || p.filename().string()[0] == '_') continue;
    index[p.stem().string()] = p;
    YAML::Node node = load_yaml(p);
    try {
      if (node["aliases"])
        for (const auto& a : node["aliases"]) index[a.as<std::string>()] = p;
    } catch (const YAML::Exception&) {
      throw UserError(p.string() + ": field aliases must be a list of names");
    }
  }
  return index;
}

}  // namespace

int ModelConfig::tiles_for(const std::string& dataset, int n_images) const {
  auto it = max_tiles.find(dataset);
  const int per_image = it != max_tiles.end() ? it->second : max_tiles_default;
  return std::max(1, std::min(per_image, max_tiles_total / std::max(1, n_images)));
}

std::vector<std::string> known_model_names(const fs::path& configs_dir) {
  std::vector<std::string> names;
  for (const auto& [name, file] : index_configs(configs_dir)) names.push_back(name);
  return names;
}

ModelConfig parse_model_config(const YAML::Node& node, const fs::path& file);

ModelConfig load_model_config(const std::string& name, const fs::path& configs_dir) {
  const auto index = index_configs(configs_dir);
  auto it = index.find(name);
  if (it == index.end()) {
    std::vector<std::string> names;
    for (const auto& kv : index) names.push_back(kv.first);
    throw UserError("unknown model '" + name + "' (no " +
                    (configs_dir / (name + ".yaml")).string() +
                    "); closest known: " + join_names(closest_names(name, names)));
  }
  const fs::path file = it->second;
  try {
    return parse_model_config(load_with_base(file), file);
  } catch (const YAML::Exception& e) {
    throw UserError(file.string() + ": " + e.what());
  }
}

ModelConfig parse_model_config(const YAML::Node& node, const fs::path& file) {
  ModelConfig c;
  c.file = file;
  c.name = field<std::string>(node, "name", file, file.stem().string());
  c.model_dir = field<std::string>(node, "model_dir", file, c.name);
  c.checkpoint = field<std::string>(node, "checkpoint", file, "");
  c.chat_template = field<std::string>(node, "template", file, "");
  c.placement = field<std::string>(node, "placement", file, c.placement);
  if (node["generation"])
    c.max_new_tokens = field<int64_t>(node["generation"], "max_new_tokens", file, c.max_new_tokens);
  check_user(c.max_new_tokens > 0, file.string() + ": generation.max_new_tokens must be > 0");
  if (node["batch_size"])
    c.batch_size = parse_batch_size(node["batch_size"].Scalar(), file.string() + ": batch_size");
  if (const YAML::Node t = node["max_tiles"]) {
    c.max_tiles_default = field<int>(t, "default", file, c.max_tiles_default);
    c.max_tiles_total = field<int>(t, "total", file, c.max_tiles_total);
    if (t["datasets"])
      for (const auto& kv : t["datasets"])
        c.max_tiles[yaml_key(kv.first, file.string() + ": max_tiles.datasets")] =
            kv.second.as<int>();
  }
  check_user(c.max_tiles_default >= 1, file.string() + ": max_tiles.default must be >= 1");
  if (node["aliases"]) c.aliases = node["aliases"].as<std::vector<std::string>>();
  return c;
}

}  // namespace vlm
