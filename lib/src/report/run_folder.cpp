#include "vlm/report/run_folder.h"

#include <algorithm>
#include <map>
#include <optional>

#include "vlm/core/error.h"

namespace vlm {
namespace fs = std::filesystem;

namespace {

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
    for (const auto& [data, path] : found) {
      run.datasets.push_back(data);
      run.report.datasets[data].predictions_file = path.string();
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
  run.report = load_run_report(file);
  const RunReport& r = run.report;
  run.model = r.model ? r.model->name : "";
  const fs::path abs = fs::weakly_canonical(fs::absolute(folder));
  const std::string model_folder = abs.parent_path().filename().string();
  if (run.model.empty()) run.model = model_folder;
  run.label = label.empty() ? model_folder + "/" + abs.filename().string() : label;
  run.label_given = !label.empty();
  run.placement = r.placement ? r.placement->config : "";
  run.strategy = r.placement ? placement_strategy(*r.placement) : "";
  run.commit = r.commit.value_or("");
  for (const auto& [name, d] : r.datasets) run.datasets.push_back(name);

  auto entry = [&run](const std::string& device) -> DeviceMemory& {
    for (DeviceMemory& m : run.memory)
      if (m.device == device) return m;
    run.memory.push_back({device, std::nullopt, std::nullopt});
    return run.memory.back();
  };
  // Planned bytes, and the largest peak recorded for each device anywhere run.json keeps one.
  std::map<std::string, int64_t> peaks;
  auto add_peak = [&peaks](const std::string& d, int64_t b) {
    peaks[d] = std::max(peaks.count(d) ? peaks[d] : b, b);
  };
  auto add_peaks = [&add_peak](const std::optional<DeviceBytes>& where) {
    if (where)
      for (const auto& [d, b] : *where) add_peak(d, b);
  };
  if (r.placement)
    for (const PlannedDevice& d : placement_devices(*r.placement)) {
      DeviceMemory& m = entry(d.device);
      if (d.total_bytes) m.planned_bytes = *d.total_bytes;
      if (d.peak_bytes) add_peak(d.device, *d.peak_bytes);
    }
  add_peaks(r.peak_memory_bytes);
  for (const auto& [tag, rank] : r.ranks) add_peaks(rank.peak_memory_bytes);
  for (const auto& [name, d] : r.datasets) add_peaks(d.peak_memory_bytes);
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
