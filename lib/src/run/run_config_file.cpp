#include "vlm/run/run_config_file.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "vlm/core/config_schema.h"
#include "vlm/core/error.h"
#include "vlm/model/manifest.h"
#include "vlm/run/model_config.h"

namespace vlm {
namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {

// The keys of VLMEvalKit's --config JSON that this harness reads (run_config_file.h).
const ConfigSchema& run_config_schema() {
  using S = ConfigSchema;
  static const S kModel = S::section({
      {"class", S::string()},
      {"model_path", S::string()},
      {"model_dir", S::string()},
      {"base", S::string()},
      {"version", S::string()},
      {"do_sample", S::boolean()},
      {"max_new_tokens", S::integer()},
      {"placement", S::string()},
      {"batch_size", S::scalar("auto or an integer in 1.." + std::to_string(max_batch_size()))},
  });
  static const S kData = S::section({{"class", S::string()}, {"dataset", S::string()}});
  static const S kSchema = S::section({{"model", S::map_of(kModel)}, {"data", S::map_of(kData)}});
  return kSchema;
}

// entry[key], a string (run_config_schema has checked it).
std::string string_at(const json& entry, const char* key) {
  return entry.at(key).get<std::string>();
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
  check_config(cfg, run_config_schema(), file.string());
  check_user(cfg.contains("model") && cfg["model"].is_object() && !cfg["model"].empty(),
             file.string() + ": model: expected an object {name: {...}} with at least one model");
  check_user(cfg.contains("data") && cfg["data"].is_object() && !cfg["data"].empty(),
             file.string() + ": data: expected an object {name: {...}} with at least one dataset");
  const fs::path models_dir = o.configs_dir / "models";

  o.models.clear();
  for (const auto& [name, entry] : cfg["model"].items()) {
    const std::string where = "model." + name;
    ModelOverrides ov;
    if (entry.contains("class")) {
      const std::string cls = string_at(entry, "class");
      check_user(cls == "InternVLChat", file.string() + ": " + where + ".class: '" + cls +
                                            "' is not supported (only InternVLChat)");
    }
    if (entry.contains("do_sample"))
      check_user(!entry["do_sample"].get<bool>(),
                 file.string() + ": " + where + ".do_sample: only false (greedy) is supported");
    if (entry.contains("base")) ov.base = string_at(entry, "base");
    if (entry.contains("model_dir")) ov.model_dir = string_at(entry, "model_dir");
    if (entry.contains("placement")) ov.placement = string_at(entry, "placement");
    if (entry.contains("max_new_tokens")) {
      const json& v = entry["max_new_tokens"];
      check_user(v.get<int64_t>() > 0,
                 file.string() + ": " + where + ".max_new_tokens must be an integer > 0");
      ov.max_new_tokens = v.get<int64_t>();
    }
    if (entry.contains("batch_size")) {
      const json& v = entry["batch_size"];  // "auto" or N (a JSON number or string)
      ov.batch_size = parse_batch_size(v.is_string() ? v.get<std::string>() : v.dump(),
                                       file.string() + ": " + where + ".batch_size");
    }
    if (entry.contains("model_path")) {
      const std::string mp = string_at(entry, "model_path");
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
    if (entry.contains("dataset")) o.dataset_of[name] = string_at(entry, "dataset");
    o.datasets.push_back(name);
  }
  o.config_file = file;
}

}  // namespace vlm
