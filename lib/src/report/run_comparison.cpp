#include "vlm/report/run_comparison.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <unordered_map>

#include "vlm/core/error.h"
#include "vlm/core/log.h"

namespace vlm {
using nlohmann::json;

namespace {

// The pipeline's stages in the order an item goes through them; others follow by name.
const std::vector<std::string>& pipeline_stages() {
  static const std::vector<std::string> k = {"image_decode", "preprocess", "tokenize", "vision",
                                             "prefill",      "decode",     "total"};
  return k;
}

template <typename T>
json optional_json(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

std::string join(const std::vector<std::string>& items, size_t max_items) {
  std::string s;
  for (size_t i = 0; i < items.size() && i < max_items; ++i) s += (i ? ", " : "") + items[i];
  if (items.size() > max_items)
    s += ", ... (" + std::to_string(items.size() - max_items) + " more)";
  return s;
}

Agreement agree(const DatasetOutputs& base, const DatasetOutputs& other, size_t run,
                size_t max_listed) {
  Agreement a;
  a.run = run;
  std::unordered_map<std::string, const std::string*> theirs;
  for (const auto& [index, pred] : other.predictions) theirs.emplace(index, &pred);
  std::set<std::string> ours;
  for (const auto& [index, pred] : base.predictions) {
    ours.insert(index);
    auto it = theirs.find(index);
    if (it == theirs.end()) {
      a.only_in_baseline.push_back(index);
      continue;
    }
    ++a.compared;
    if (*it->second == pred) {
      ++a.identical;
    } else {
      a.differing_indices.push_back(index);
      if (a.first_differences.size() < max_listed)
        a.first_differences.push_back({index, pred, *it->second});
    }
  }
  a.differing = a.compared - a.identical;
  for (const auto& [index, pred] : other.predictions)
    if (!ours.count(index)) a.only_in_other.push_back(index);
  return a;
}

DatasetComparison compare_dataset(const std::vector<RunFolder>& runs, const std::string& dataset,
                                  const CompareOptions& o) {
  DatasetComparison d;
  d.dataset = dataset;
  for (const RunFolder& r : runs) d.outputs.push_back(read_dataset_outputs(r, dataset));
  for (size_t i = 1; i < runs.size(); ++i)
    d.agreement.push_back(agree(d.outputs[0], d.outputs[i], i, o.max_listed));

  // Items every run has, and those with one prediction among all runs.
  std::vector<std::unordered_map<std::string, const std::string*>> maps(runs.size());
  for (size_t i = 1; i < runs.size(); ++i)
    for (const auto& [index, pred] : d.outputs[i].predictions) maps[i].emplace(index, &pred);
  for (const auto& [index, pred] : d.outputs[0].predictions) {
    bool in_all = true, same = true;
    for (size_t i = 1; i < runs.size() && in_all; ++i) {
      auto it = maps[i].find(index);
      if (it == maps[i].end())
        in_all = false;
      else if (*it->second != pred)
        same = false;
    }
    d.in_all += in_all;
    d.all_agree += in_all && same;
  }

  // Score cells: union in first-seen order (baseline first).
  std::map<std::pair<std::string, std::string>, size_t> row_of;
  for (size_t i = 0; i < runs.size(); ++i) {
    for (const ScoreCell& c : d.outputs[i].scores) {
      auto key = std::make_pair(c.split, c.metric);
      auto it = row_of.find(key);
      if (it == row_of.end()) {
        it = row_of.emplace(key, d.scores.size()).first;
        d.scores.push_back({c.split, c.metric, std::vector<std::optional<double>>(runs.size()),
                            std::vector<std::optional<double>>(runs.size())});
      }
      if (!std::isnan(c.value)) d.scores[it->second].values[i] = c.value;
    }
  }
  for (ScoreRow& row : d.scores)
    for (size_t i = 0; i < runs.size(); ++i)
      if (row.values[0] && row.values[i]) row.deltas[i] = *row.values[i] - *row.values[0];
  for (const DatasetOutputs& out : d.outputs) d.overall.push_back(overall_score(out.scores));

  std::set<std::string> stages;
  for (const DatasetOutputs& out : d.outputs)
    for (const auto& [stage, ms] : out.ms_per_stage) stages.insert(stage);
  for (const std::string& s : pipeline_stages())
    if (stages.erase(s)) d.stages.push_back(s);
  d.stages.insert(d.stages.end(), stages.begin(), stages.end());
  return d;
}

}  // namespace

bool RunComparison::identical() const {
  for (const DatasetComparison& d : datasets)
    for (const Agreement& a : d.agreement)
      if (a.differing || !a.only_in_baseline.empty() || !a.only_in_other.empty()) return false;
  return true;
}

std::string RunComparison::difference_summary(size_t max_indices) const {
  std::string s;
  for (const DatasetComparison& d : datasets)
    for (const Agreement& a : d.agreement) {
      const std::string who = d.dataset + ": " + runs[a.run].label + " vs " + runs[0].label + ": ";
      if (a.differing)
        s += who + std::to_string(a.differing) + " of " + std::to_string(a.compared) +
             " predictions differ (index " + join(a.differing_indices, max_indices) + ")\n";
      if (!a.only_in_baseline.empty())
        s += who + std::to_string(a.only_in_baseline.size()) + " items missing from " +
             runs[a.run].label + " (index " + join(a.only_in_baseline, max_indices) + ")\n";
      if (!a.only_in_other.empty())
        s += who + std::to_string(a.only_in_other.size()) + " items missing from " + runs[0].label +
             " (index " + join(a.only_in_other, max_indices) + ")\n";
    }
  return s;
}

json RunComparison::to_json() const {
  json j;
  j["identical"] = identical();
  j["baseline"] = runs.empty() ? json(nullptr) : json(runs[0].label);
  json jr = json::array();
  for (const RunFolder& r : runs) {
    jr.push_back({{"label", r.label},
                  {"folder", r.folder.string()},
                  {"model", r.model},
                  {"placement", r.placement},
                  {"strategy", r.strategy},
                  {"commit", r.commit}});
  }
  j["runs"] = jr;
  json jd = json::array();
  for (const DatasetComparison& d : datasets) {
    json x;
    x["name"] = d.dataset;
    x["items_in_all_runs"] = d.in_all;
    x["items_all_agree"] = d.all_agree;
    json ag = json::array();
    for (const Agreement& a : d.agreement) {
      json diffs = json::array();
      for (const PredictionDifference& p : a.first_differences)
        diffs.push_back({{"index", p.index}, {"baseline", p.baseline}, {"other", p.other}});
      ag.push_back({{"run", runs[a.run].label},
                    {"against", runs[0].label},
                    {"compared", a.compared},
                    {"identical", a.identical},
                    {"differing", a.differing},
                    {"differing_indices", a.differing_indices},
                    {"first_differences", diffs},
                    {"only_in_baseline", a.only_in_baseline},
                    {"only_in_run", a.only_in_other}});
    }
    x["agreement"] = ag;
    json sc = json::array();
    for (const ScoreRow& row : d.scores) {
      json v = json::array(), dl = json::array();
      for (size_t i = 0; i < runs.size(); ++i) {
        v.push_back(optional_json(row.values[i]));
        dl.push_back(optional_json(row.deltas[i]));
      }
      sc.push_back({{"split", row.split}, {"metric", row.metric}, {"values", v}, {"deltas", dl}});
    }
    x["scores"] = sc;
    json overall = json::array(), ips = json::array(), src = json::array(), timed = json::array(),
         files = json::array();
    for (size_t i = 0; i < runs.size(); ++i) {
      overall.push_back(optional_json(d.overall[i]));
      ips.push_back(optional_json(d.outputs[i].items_per_s));
      src.push_back(d.outputs[i].items_per_s_source);
      timed.push_back(d.outputs[i].timed_items);
      files.push_back({{"predictions", d.outputs[i].predictions_file.string()},
                       {"scores", d.outputs[i].scores_file.string()}});
    }
    x["overall"] = overall;
    json stages = json::object();
    for (const std::string& s : d.stages) {
      json per = json::array();
      for (size_t i = 0; i < runs.size(); ++i) {
        auto it = d.outputs[i].ms_per_stage.find(s);
        per.push_back(it != d.outputs[i].ms_per_stage.end() ? json(it->second) : json(nullptr));
      }
      stages[s] = per;
    }
    x["speed"] = {{"items_per_s", ips},
                  {"items_per_s_source", src},
                  {"timed_items", timed},
                  {"ms_per_item", stages}};
    x["files"] = files;
    jd.push_back(x);
  }
  j["datasets"] = jd;
  j["skipped_datasets"] = skipped_datasets;
  json mem = json::array();
  for (const std::string& dev : devices) {
    json planned = json::array(), peak = json::array();
    for (const RunFolder& r : runs) {
      std::optional<int64_t> p, k;
      for (const DeviceMemory& m : r.memory)
        if (m.device == dev) {
          p = m.planned_bytes;
          k = m.peak_bytes;
        }
      planned.push_back(optional_json(p));
      peak.push_back(optional_json(k));
    }
    mem.push_back({{"device", dev}, {"planned_bytes", planned}, {"peak_bytes", peak}});
  }
  j["memory"] = mem;
  return j;
}

RunComparison compare_runs(std::vector<RunFolder> runs, const CompareOptions& o) {
  check_user(runs.size() >= 2,
             "compare needs at least two run folders, got " + std::to_string(runs.size()));
  make_labels_unique(runs);
  for (size_t i = 0; i < runs.size(); ++i)
    for (size_t k = 0; k < i; ++k)
      check_user(runs[i].label != runs[k].label,
                 "runs " + runs[k].folder.string() + " and " + runs[i].folder.string() +
                     " have the same label `" + runs[i].label + "`; give each a --label");
  RunComparison c;
  std::vector<std::string> names = o.datasets;
  if (names.empty()) {
    for (const std::string& d : runs[0].datasets) {
      bool shared = true;
      for (const RunFolder& r : runs)
        shared = shared && std::count(r.datasets.begin(), r.datasets.end(), d);
      if (shared) names.push_back(d);
    }
    std::set<std::string> all;
    for (const RunFolder& r : runs) all.insert(r.datasets.begin(), r.datasets.end());
    for (const std::string& d : all)
      if (!std::count(names.begin(), names.end(), d)) c.skipped_datasets.push_back(d);
    if (names.empty()) {
      std::string which;
      for (const RunFolder& r : runs) {
        std::string ds;
        for (const std::string& d : r.datasets) ds += (ds.empty() ? "" : ", ") + d;
        which += "\n  " + (r.folder / "run.json").string() + ": " + (ds.empty() ? "none" : ds);
      }
      throw UserError("the runs share no dataset:" + which);
    }
    if (!c.skipped_datasets.empty())
      log::warning("not compared (not in every run): " + join(c.skipped_datasets, 50));
  } else {
    for (const std::string& d : names)
      for (const RunFolder& r : runs)
        check_user(std::count(r.datasets.begin(), r.datasets.end(), d),
                   (r.folder / "run.json").string() + ": run " + r.label + " has no dataset " + d);
  }
  for (const RunFolder& r : runs)
    for (const DeviceMemory& m : r.memory)
      if (!std::count(c.devices.begin(), c.devices.end(), m.device)) c.devices.push_back(m.device);
  c.runs = std::move(runs);
  for (const std::string& d : names) c.datasets.push_back(compare_dataset(c.runs, d, o));
  return c;
}

}  // namespace vlm
