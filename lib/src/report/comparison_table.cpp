#include "vlm/report/comparison_table.h"

#include <algorithm>
#include <cstdio>

namespace vlm {
namespace {

using Rows = std::vector<std::vector<std::string>>;

// Columns padded to their widest cell, two spaces apart, each line indented by `indent`.
std::string render(const Rows& rows, const std::string& indent = "  ") {
  std::vector<size_t> width;
  for (const auto& row : rows)
    for (size_t c = 0; c < row.size(); ++c) {
      if (width.size() <= c) width.push_back(0);
      width[c] = std::max(width[c], row[c].size());
    }
  std::string out;
  for (const auto& row : rows) {
    std::string line = indent;
    for (size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line += std::string(width[c] - row[c].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string fmt(double v, const char* f) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), f, v);
  return buf;
}

std::string bytes(const std::optional<int64_t>& b) {
  if (!b) return "-";
  const double v = static_cast<double>(*b);
  if (v >= 1024.0 * 1024 * 1024) return fmt(v / (1024.0 * 1024 * 1024), "%.2f GiB");
  return fmt(v / (1024.0 * 1024), "%.1f MiB");
}

// A prediction for one line: JSON-quoted (newlines escaped), cut to about 60 bytes.
std::string quoted(const std::string& s) {
  std::string cut = s.size() > 60 ? s.substr(0, 57) + "..." : s;
  return nlohmann::json(cut).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string tag(size_t run) {
  return "[" + std::to_string(run) + "]";
}

}  // namespace

std::string comparison_table(const RunComparison& c) {
  const size_t n = c.runs.size();
  std::string out = "runs (baseline [0])\n";
  Rows runs;
  for (size_t i = 0; i < n; ++i) {
    const RunFolder& r = c.runs[i];
    std::string where = r.placement.empty() ? "-" : r.placement;
    if (!r.strategy.empty()) where += " (" + r.strategy + ")";
    runs.push_back({tag(i), r.label, "model " + r.model, "placement " + where,
                    "commit " + (r.commit.empty() ? std::string("-") : r.commit.substr(0, 8))});
  }
  out += render(runs);

  for (const DatasetComparison& d : c.datasets) {
    out += "\n== " + d.dataset + " ==\n";
    out += "predictions against [0]\n";
    Rows ag = {{"run", "compared", "identical", "differing", "only in [0]", "only in run"}};
    for (const Agreement& a : d.agreement)
      ag.push_back({tag(a.run), std::to_string(a.compared), std::to_string(a.identical),
                    std::to_string(a.differing), std::to_string(a.only_in_baseline.size()),
                    std::to_string(a.only_in_other.size())});
    out += render(ag);
    for (const Agreement& a : d.agreement)
      for (const PredictionDifference& p : a.first_differences)
        out += "    " + tag(a.run) + " index " + p.index + ": [0] " + quoted(p.baseline) + " | " +
               tag(a.run) + " " + quoted(p.other) + "\n";
    if (n > 2)
      out += "  every run: " + std::to_string(d.in_all) + " items in all runs, " +
             std::to_string(d.all_agree) + " with one prediction\n";

    if (!d.scores.empty()) {
      out += "scores (delta against [0])\n";
      Rows sc;
      std::vector<std::string> head = {"split", "metric"};
      for (size_t i = 0; i < n; ++i) head.push_back(tag(i));
      sc.push_back(head);
      for (const ScoreRow& row : d.scores) {
        std::vector<std::string> line = {row.split, row.metric};
        for (size_t i = 0; i < n; ++i) {
          std::string cell = row.values[i] ? fmt(*row.values[i], "%.4f") : "-";
          if (i > 0 && row.deltas[i]) cell += " (" + fmt(*row.deltas[i], "%+.4f") + ")";
          line.push_back(cell);
        }
        sc.push_back(line);
      }
      out += render(sc);
    } else {
      out += "scores: none recorded\n";
    }

    out += "speed\n";
    Rows sp;
    std::vector<std::string> head = {""};
    for (size_t i = 0; i < n; ++i) head.push_back(tag(i));
    sp.push_back(head);
    std::vector<std::string> ips = {"items/s"};
    for (size_t i = 0; i < n; ++i) {
      const auto& o = d.outputs[i];
      ips.push_back(o.items_per_s ? fmt(*o.items_per_s, "%.3f") +
                                        (o.items_per_s_source == "records" ? " *" : "")
                                  : "-");
    }
    sp.push_back(ips);
    for (const std::string& s : d.stages) {
      std::vector<std::string> line = {"ms/item " + s};
      for (size_t i = 0; i < n; ++i) {
        auto it = d.outputs[i].ms_per_stage.find(s);
        line.push_back(it != d.outputs[i].ms_per_stage.end() ? fmt(it->second, "%.1f") : "-");
      }
      sp.push_back(line);
    }
    out += render(sp);
    bool from_records = false;
    for (const auto& o : d.outputs)
      from_records = from_records || o.items_per_s_source == "records";
    if (from_records) out += "  * items/s from the records' per-item times (not in run.json)\n";
  }
  if (!c.skipped_datasets.empty()) {
    out += "\nnot compared (not in every run):";
    for (const std::string& s : c.skipped_datasets) out += " " + s;
    out += "\n";
  }

  out += "\nmemory per device (planned / peak)\n";
  if (c.devices.empty()) {
    out += "  none recorded\n";
  } else {
    Rows mem;
    std::vector<std::string> head = {"device"};
    for (size_t i = 0; i < n; ++i) head.push_back(tag(i));
    mem.push_back(head);
    for (const std::string& dev : c.devices) {
      std::vector<std::string> line = {dev};
      for (const RunFolder& r : c.runs) {
        std::optional<int64_t> p, k;
        for (const DeviceMemory& m : r.memory)
          if (m.device == dev) {
            p = m.planned_bytes;
            k = m.peak_bytes;
          }
        line.push_back(bytes(p) + " / " + bytes(k));
      }
      mem.push_back(line);
    }
    out += render(mem);
  }
  out += c.identical() ? "\npredictions: identical in every run\n"
                       : "\npredictions: NOT identical\n" + c.difference_summary();
  return out;
}

}  // namespace vlm
