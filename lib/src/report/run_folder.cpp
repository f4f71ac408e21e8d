#include "vlm/report/run_folder.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "vlm/core/error.h"
#include "vlm/core/json_int.h"

namespace vlm {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Device -> bytes from {"cuda:0": n} or [{"device": d, "bytes"|"peak_bytes": n}]; other shapes
// give nothing.
std::vector<std::pair<std::string, int64_t>> device_bytes(const json& j) {
  std::vector<std::pair<std::string, int64_t>> out;
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it)
      if (const auto bytes = json_number_as_int64(*it)) out.emplace_back(it.key(), *bytes);
  } else if (j.is_array()) {
    for (const json& e : j) {
      if (!e.is_object() || !e.contains("device") || !e["device"].is_string()) continue;
      for (const char* key : {"peak_bytes", "bytes"})
        if (const auto bytes = e.contains(key) ? json_number_as_int64(e[key]) : std::nullopt) {
          out.emplace_back(e["device"].get<std::string>(), *bytes);
          break;
        }
    }
  }
  return out;
}

std::string string_at(const json& j, const char* a, const char* b = nullptr) {
  const json* p = &j;
  for (const char* key : {a, b}) {
    if (!key) break;
    if (!p->is_object() || !p->contains(key)) return "";
    p = &(*p)[key];
  }
  return p->is_string() ? p->get<std::string>() : "";
}

// The evaluation files VLMEvalKit writes beside a prediction file (their stems end so).
bool is_evaluation_stem(const std::string& stem) {
  static const char* kSuffixes[] = {
      "_results", "_result", "_auxmatch", "_acc",       "_score",  "_PREV", "_rating",  "_fine",
      "_metrics", "_tmp",    "_response", "_processed", "_config", "_meta", "_records", "_supp"};
  for (const char* suffix : kSuffixes) {
    const std::string s = suffix;
    if (stem.size() > s.size() && stem.compare(stem.size() - s.size(), s.size(), s) == 0)
      return true;
  }
  return false;
}

// A VLMEvalKit folder: prediction files named {model}_{data}.xlsx|.tsv, model being the name of
// the folder above or of the folder itself. Empty when there are none.
std::optional<RunFolder> open_vlmevalkit(const fs::path& folder, const std::string& label) {
  const fs::path abs = fs::weakly_canonical(fs::absolute(folder));
  for (const std::string& model :
       {abs.parent_path().filename().string(), abs.filename().string()}) {
    if (model.empty()) continue;
    const std::string prefix = model + "_";
    std::map<std::string, fs::path> found;  // dataset -> file (.xlsx preferred)
    for (const auto& entry : fs::directory_iterator(folder)) {
      const fs::path p = entry.path();
      const std::string ext = p.extension().string();
      const std::string stem = p.stem().string();
      if ((ext != ".xlsx" && ext != ".tsv") || stem.rfind(prefix, 0) != 0 ||
          stem.size() == prefix.size() || is_evaluation_stem(stem) || !fs::is_regular_file(p))
        continue;
      const std::string data = stem.substr(prefix.size());
      if (!found.count(data) || ext == ".xlsx") found[data] = p;
    }
    if (found.empty()) continue;
    RunFolder run;
    run.folder = folder;
    run.model = model;
    run.layout = "vlmevalkit";
    const std::string name = abs.filename().string();
    run.label = label.empty() ? abs.parent_path().filename().string() + "/" + name : label;
    const std::size_t g = name.find("_G");
    if (name.size() > 1 && name[0] == 'T' && g != std::string::npos)
      run.commit = name.substr(g + 2);
    run.run_json = {{"layout", "vlmevalkit"}, {"datasets", json::object()}};
    for (const auto& [data, path] : found) {
      run.datasets.push_back(data);
      run.run_json["datasets"][data] = {{"predictions_file", path.string()}};
    }
    return run;
  }
  return std::nullopt;
}

}  // namespace

RunFolder RunFolder::open(const fs::path& folder, const std::string& label) {
  RunFolder run;
  run.folder = folder;
  check_user(fs::is_directory(folder), "run folder " + folder.string() + " does not exist");
  const fs::path file = folder / "run.json";
  if (!fs::is_regular_file(file)) {
    if (std::optional<RunFolder> v = open_vlmevalkit(folder, label)) return std::move(*v);
  }
  check_user(fs::is_regular_file(file),
             file.string() +
                 " not found: not a run folder (expected {work_dir}/{model}/"
                 "T{YYYYMMDD}_G{commit8}/ as `run` writes it, or VLMEvalKit's with "
                 "{model}_{data}.xlsx files)");
  std::ifstream in(file, std::ios::binary);
  check_user(static_cast<bool>(in), "cannot read " + file.string());
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    run.run_json = json::parse(ss.str());
  } catch (const json::exception& e) {
    throw UserError(file.string() + ": not valid JSON: " + e.what());
  }
  const json& j = run.run_json;
  check_user(j.is_object(), file.string() + ": not a JSON object");
  check_user(j.contains("datasets") && j["datasets"].is_object(),
             file.string() + ": no `datasets` object (a run that finished no dataset?)");

  run.model = string_at(j, "model", "name");
  const fs::path abs = fs::weakly_canonical(fs::absolute(folder));
  const std::string model_folder = abs.parent_path().filename().string();
  if (run.model.empty()) run.model = model_folder;
  run.label = label.empty() ? model_folder + "/" + abs.filename().string() : label;
  run.label_given = !label.empty();
  run.placement = string_at(j, "placement", "config");
  run.strategy = string_at(j, "placement", "strategy");
  run.commit = string_at(j, "commit");
  for (auto it = j["datasets"].begin(); it != j["datasets"].end(); ++it)
    run.datasets.push_back(it.key());

  auto entry = [&run](const std::string& device) -> DeviceMemory& {
    for (DeviceMemory& m : run.memory)
      if (m.device == device) return m;
    run.memory.push_back({device, std::nullopt, std::nullopt});
    return run.memory.back();
  };
  // Planned bytes, and the largest peak recorded for each device anywhere run.json keeps one.
  std::map<std::string, int64_t> peaks;
  auto add_peaks = [&peaks](const json& where) {
    for (const auto& [d, b] : device_bytes(where))
      peaks[d] = std::max(peaks.count(d) ? peaks[d] : b, b);
  };
  if (j.contains("placement") && j["placement"].is_object() && j["placement"].contains("devices") &&
      j["placement"]["devices"].is_array()) {
    for (const json& d : j["placement"]["devices"]) {
      if (!d.is_object() || !d.contains("device") || !d["device"].is_string()) continue;
      DeviceMemory& m = entry(d["device"].get<std::string>());
      if (const auto bytes =
              d.contains("total_bytes") ? json_number_as_int64(d["total_bytes"]) : std::nullopt)
        m.planned_bytes = *bytes;
    }
    add_peaks(j["placement"]["devices"]);
  }
  if (j.contains("peak_memory_bytes")) add_peaks(j["peak_memory_bytes"]);
  for (const char* group : {"ranks", "datasets"})
    if (j.contains(group) && j[group].is_object())
      for (const json& g : j[group])
        if (g.is_object() && g.contains("peak_memory_bytes")) add_peaks(g["peak_memory_bytes"]);
  for (const auto& [d, b] : peaks) entry(d).peak_bytes = b;
  return run;
}

void make_labels_unique(std::vector<RunFolder>& runs) {
  // The last `n` components of a run's absolute folder path, joined with '/'.
  auto tail = [](const RunFolder& r, size_t n) {
    std::vector<std::string> parts;
    for (const fs::path& p : fs::weakly_canonical(fs::absolute(r.folder)))
      if (p != p.root_path() && !p.empty()) parts.push_back(p.string());
    std::string out;
    for (size_t i = parts.size() > n ? parts.size() - n : 0; i < parts.size(); ++i)
      out += (out.empty() ? "" : "/") + parts[i];
    return out;
  };
  auto clashes = [&runs](size_t i) {
    for (size_t k = 0; k < runs.size(); ++k)
      if (k != i && runs[k].label == runs[i].label) return true;
    return false;
  };
  // Folder labels start at 2 components; each round lengthens those still clashing by one.
  for (size_t n = 3;; ++n) {
    std::vector<size_t> lengthen;
    for (size_t i = 0; i < runs.size(); ++i)
      if (!runs[i].label_given && clashes(i)) lengthen.push_back(i);
    bool changed = false;
    for (size_t i : lengthen) {
      const std::string longer = tail(runs[i], n);
      changed = changed || longer != runs[i].label;
      runs[i].label = longer;
    }
    if (!changed) return;
  }
}

}  // namespace vlm
