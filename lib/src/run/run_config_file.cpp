#include "vlm/run/run_config_file.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "vlm/core/closest_names.h"
#include "vlm/core/error.h"
#include "vlm/model/manifest.h"
#include "vlm/run/model_config.h"

namespace vlm {
namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {

const std::vector<std::string> kModelKeys = {"class",          "model_path", "model_dir",
                                             "base",           "version",    "do_sample",
                                             "max_new_tokens", "placement"};
const std::vector<std::string> kDataKeys = {"class", "dataset"};

void check_keys(const json& entry, const std::vector<std::string>& keys, const std::string& where,
                const fs::path& file) {
  for (const auto& [key, value] : entry.items()) {
    if (std::find(keys.begin(), keys.end(), key) != keys.end()) continue;
    throw UserError(file.string() + ": " + where + "." + key +
                    ": unknown key (known: " + join_names(keys) +
                    "; closest: " + join_names(closest_names(key, keys, 1)) + ")");
  }
}

std::string string_at(const json& entry, const char* key, const std::string& where,
                      const fs::path& file) {
  const json& v = entry.at(key);
  check_user(v.is_string(), file.string() + ": " + where + "." + key + " must be a string");
  return v.get<std::string>();
}

// A checkpoint id -> the configs/models name whose `checkpoint` is it, or whose name is its last
// path component; empty when none.
std::string model_for_checkpoint(const std::string& id, const fs::path& models_dir) {
  const std::string last = id.substr(id.find_last_of('/') + 1);
  for (const std::string& name : known_model_names(models_dir)) {
    const ModelConfig c = load_model_config(name, models_dir);
    if (c.checkpoint == id) return c.name;
  }
  for (const std::string& name : known_model_names(models_dir))
    if (name == last) return name;
  return {};
}

}  // namespace

void apply_run_config_file(const fs::path& file, RunOptions& o) {
  std::ifstream in(file);
  check_user(in.good(), "--config " + file.string() + ": cannot read the file");
  json cfg;
  try {
    cfg = json::parse(in);
  } catch (const json::exception& e) {  // parse_error, and out_of_range 406 (1e999)
    throw UserError("--config " + file.string() + ": not valid JSON: " + e.what());
  }
  check_user(cfg.is_object(), file.string() + ": expected a JSON object with model and data");
  check_keys(cfg, {"model", "data"}, "(top level)", file);
  check_user(cfg.contains("model") && cfg["model"].is_object() && !cfg["model"].empty(),
             file.string() + ": model: expected an object {name: {...}} with at least one model");
  check_user(cfg.contains("data") && cfg["data"].is_object() && !cfg["data"].empty(),
             file.string() + ": data: expected an object {name: {...}} with at least one dataset");
  const fs::path models_dir = o.configs_dir / "models";

  o.models.clear();
  for (const auto& [name, entry] : cfg["model"].items()) {
    const std::string where = "model." + name;
    check_user(entry.is_object(), file.string() + ": " + where + " must be an object");
    check_keys(entry, kModelKeys, where, file);
    ModelOverrides ov;
    if (entry.contains("class")) {
      const std::string cls = string_at(entry, "class", where, file);
      check_user(cls == "InternVLChat", file.string() + ": " + where + ".class: '" + cls +
                                            "' is not supported (only InternVLChat)");
    }
    if (entry.contains("do_sample"))
      check_user(entry["do_sample"].is_boolean() && !entry["do_sample"].get<bool>(),
                 file.string() + ": " + where + ".do_sample: only false (greedy) is supported");
    if (entry.contains("version")) string_at(entry, "version", where, file);
    if (entry.contains("base")) ov.base = string_at(entry, "base", where, file);
    if (entry.contains("model_dir")) ov.model_dir = string_at(entry, "model_dir", where, file);
    if (entry.contains("placement")) ov.placement = string_at(entry, "placement", where, file);
    if (entry.contains("max_new_tokens")) {
      const json& v = entry["max_new_tokens"];
      check_user(v.is_number_integer() && v.get<int64_t>() > 0,
                 file.string() + ": " + where + ".max_new_tokens must be an integer > 0");
      ov.max_new_tokens = v.get<int64_t>();
    }
    if (entry.contains("model_path")) {
      const std::string mp = string_at(entry, "model_path", where, file);
      if (fs::is_regular_file(fs::path(mp) / "manifest.json")) {
        ov.model_dir = mp;
      } else {
        const std::string base = model_for_checkpoint(mp, models_dir);
        check_user(!base.empty(),
                   file.string() + ": " + where + ".model_path: '" + mp +
                       "' is neither an exported model directory nor the checkpoint of a model "
                       "under " +
                       models_dir.string());
        if (ov.base.empty()) ov.base = base;
      }
    }
    o.models.push_back(name);
    o.model_overrides[name] = ov;
  }
  o.datasets.clear();
  for (const auto& [name, entry] : cfg["data"].items()) {
    const std::string where = "data." + name;
    check_user(entry.is_object(), file.string() + ": " + where + " must be an object");
    check_keys(entry, kDataKeys, where, file);
    if (entry.contains("class")) string_at(entry, "class", where, file);
    if (entry.contains("dataset")) o.dataset_of[name] = string_at(entry, "dataset", where, file);
    o.datasets.push_back(name);
  }
  o.config_file = file;
}

}  // namespace vlm
