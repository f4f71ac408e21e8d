#include "vlm/model/placement_plan.h"

#include <torch/cuda.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <set>

#include "vlm/core/closest_names.h"
#include "vlm/core/error.h"

namespace vlm {
using nlohmann::json;

namespace {

constexpr double kGiB = 1073741824.0;

// Module names of the other families (and upstream's rotary_emb), written by split_model for every
// model; a key naming one of them is not a typo.
const std::set<std::string> kOtherFamilyNames = {
    "language_model.model.tok_embeddings", "language_model.model.embed_tokens",
    "language_model.output", "language_model.lm_head", "language_model.model.rotary_emb"};

// `key` names `unit` itself or a module containing it (a prefix ending at a '.').
bool key_matches(const std::string& key, const std::string& unit) {
  return unit == key || (unit.size() > key.size() && unit.compare(0, key.size(), key) == 0 &&
                         unit[key.size()] == '.');
}

std::string strip_prefix(const std::string& unit) {
  for (const char* p : {"language_model.model.", "language_model."}) {
    const std::string prefix(p);
    if (unit.rfind(prefix, 0) == 0) return unit.substr(prefix.size());
  }
  return unit;
}

// "language_model.model.layers.12" -> ("language_model.model.layers.", 12); others -> ("", -1).
std::pair<std::string, long> split_layer(const std::string& unit) {
  const size_t dot = unit.rfind('.');
  if (dot == std::string::npos || dot + 1 == unit.size()) return {"", -1};
  const std::string tail = unit.substr(dot + 1);
  if (!std::all_of(tail.begin(), tail.end(),
                   [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }) ||
      tail.size() > 9)
    return {"", -1};
  const std::string head = unit.substr(0, dot + 1);
  if (head.size() < 8 || head.compare(head.size() - 7, 7, "layers.") != 0) return {"", -1};
  return {head, std::stol(tail)};
}

// "0-26, 79" for sorted indices.
std::string ranges(std::vector<long> idx) {
  std::sort(idx.begin(), idx.end());
  std::string out;
  for (size_t i = 0; i < idx.size();) {
    size_t j = i;
    while (j + 1 < idx.size() && idx[j + 1] == idx[j] + 1) ++j;
    if (!out.empty()) out += ", ";
    out += std::to_string(idx[i]);
    if (j > i) out += "-" + std::to_string(idx[j]);
    i = j + 1;
  }
  return out;
}

// Units in execution order with runs of decoder layers folded into ranges. `full` keeps module
// names ("language_model.model.layers.40-79"); otherwise short ("layers 40-79", "norm").
std::string fold_units(const std::vector<std::string>& units, bool full) {
  std::vector<std::string> items;
  std::map<std::string, std::pair<size_t, std::vector<long>>> layers;  // prefix -> (item, indices)
  for (const auto& u : units) {
    auto [prefix, index] = split_layer(u);
    if (index < 0) {
      items.push_back(full ? u : strip_prefix(u));
      continue;
    }
    auto it = layers.find(prefix);
    if (it == layers.end()) {
      it = layers.emplace(prefix, std::make_pair(items.size(), std::vector<long>{})).first;
      items.emplace_back();
    }
    it->second.second.push_back(index);
  }
  for (const auto& [prefix, entry] : layers) {
    std::string name = full ? prefix : strip_prefix(prefix);
    if (!full) name = name.substr(0, name.size() - 1) + " ";  // "layers."  -> "layers "
    items[entry.first] = name + ranges(entry.second);
  }
  return join_names(items);
}

std::string device_list(const std::vector<c10::Device>& devices) {
  std::vector<std::string> names;
  for (const auto& d : devices) names.push_back(d.str());
  return "[" + join_names(names) + "]";
}

std::string gib(int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", static_cast<double>(bytes) / kGiB);
  return buf;
}

int64_t raw_int(const json& raw, const char* section, const char* key, int64_t fallback) {
  if (!raw.is_object() || !raw.contains(section) || !raw[section].is_object()) return fallback;
  const json& s = raw[section];
  if (!s.contains(key) || !s[key].is_number_integer()) return fallback;
  return s[key].get<int64_t>();
}

// Activation reserve estimates (see placement_plan.h), in bytes.
struct ActivationModel {
  int64_t configured = -1;
  int64_t vision = 0;  // vision model + projector on the tiles of one item
  int64_t layers = 0;  // one decoder layer at batch x max_sequence (also embedding and norm)
  int64_t head = 0;    // float32 logits of the last position

  int64_t reserve(const std::set<UnitKind>& kinds) const {
    if (kinds.empty()) return 0;
    if (configured >= 0) return configured;
    int64_t r = 0;
    if (kinds.count(UnitKind::kVision) || kinds.count(UnitKind::kProjector))
      r = std::max(r, vision);
    if (kinds.count(UnitKind::kEmbedding) || kinds.count(UnitKind::kDecoderLayer) ||
        kinds.count(UnitKind::kNorm))
      r = std::max(r, layers);
    if (kinds.count(UnitKind::kHead)) r = std::max(r, head);
    return r;
  }
};

ActivationModel activation_model(const Manifest& m, const PlanCapacity& cap, int64_t configured) {
  const int64_t d = static_cast<int64_t>(c10::elementSize(m.dtype));
  ActivationModel a;
  a.configured = configured;
  const int64_t patch = raw_int(m.raw, "vision", "patch_size", 14);
  const int64_t side = m.vision.image_size / std::max<int64_t>(1, patch);
  const int64_t tokens = side * side + 1;  // 1025 for 448 / 14, CLS included
  const int64_t c_vit = raw_int(m.raw, "vision", "hidden_size", 1024);
  const int64_t vit_heads = raw_int(m.raw, "vision", "num_heads", 16);
  a.vision =
      cap.max_tiles * tokens * c_vit * d * 10 + cap.max_tiles * vit_heads * tokens * tokens * d;
  const int64_t hidden = m.llm.hidden_size;
  const int64_t inter = raw_int(m.raw, "llm", "intermediate_size", 4 * hidden);
  a.layers = cap.batch * cap.max_sequence * (4 * hidden + 2 * inter) * d;
  a.head = cap.batch * m.llm.vocab_size * 4;
  return a;
}

// Contiguous runs of `cost` (in order) over devices with fixed loads, minimising the largest
// score (load / budget when every device has one, else load); among optimal splits, the one with
// the smallest sum of squared scores. Returns the device index of every item.
std::vector<int> balance(const std::vector<int64_t>& cost, const std::vector<int64_t>& fixed,
                         const std::vector<std::optional<int64_t>>& budget) {
  const size_t m = cost.size(), n = fixed.size();
  const bool ratio =
      std::all_of(budget.begin(), budget.end(), [](const auto& b) { return b && *b > 0; });
  std::vector<int64_t> prefix(m + 1, 0);
  for (size_t i = 0; i < m; ++i) prefix[i + 1] = prefix[i] + cost[i];
  auto score = [&](size_t j, size_t a, size_t b) {
    const double load = static_cast<double>(fixed[j] + prefix[b] - prefix[a]);
    return ratio ? load / static_cast<double>(*budget[j]) : load / kGiB;
  };
  const double inf = std::numeric_limits<double>::infinity();
  // Pass 1: the optimal largest score.
  std::vector<double> best(m + 1, inf), next(m + 1);
  best[0] = 0;
  for (size_t j = 0; j < n; ++j) {
    std::fill(next.begin(), next.end(), inf);
    for (size_t b = 0; b <= m; ++b)
      for (size_t a = 0; a <= b; ++a)
        if (best[a] < inf) next[b] = std::min(next[b], std::max(best[a], score(j, a, b)));
    best.swap(next);
  }
  const double limit = best[m] * (1 + 1e-12) + 1e-12;
  // Pass 2: the most even split whose every device stays within the optimum.
  std::vector<std::vector<double>> sq(n + 1, std::vector<double>(m + 1, inf));
  std::vector<std::vector<size_t>> from(n + 1, std::vector<size_t>(m + 1, 0));
  sq[0][0] = 0;
  for (size_t j = 0; j < n; ++j)
    for (size_t b = 0; b <= m; ++b)
      for (size_t a = 0; a <= b; ++a) {
        if (sq[j][a] == inf) continue;
        const double s = score(j, a, b);
        if (s > limit) continue;
        const double v = sq[j][a] + s * s;
        if (v < sq[j + 1][b]) {
          sq[j + 1][b] = v;
          from[j + 1][b] = a;
        }
      }
  std::vector<int> device(m, static_cast<int>(n) - 1);
  size_t b = m;
  for (size_t j = n; j-- > 0;) {
    const size_t a = from[j + 1][b];
    for (size_t i = a; i < b; ++i) device[i] = static_cast<int>(j);
    b = a;
  }
  return device;
}

}  // namespace

PlacementPlan PlacementPlan::all_on(const Manifest& manifest, c10::Device device) {
  std::map<std::string, c10::Device> map;
  for (const auto& u : manifest.units) map.emplace(u.name, device);
  return from_map(manifest, std::move(map));
}

PlacementPlan PlacementPlan::from_map(const Manifest& manifest,
                                      std::map<std::string, c10::Device> map) {
  PlacementPlan plan;
  for (const auto& u : manifest.units) {
    auto it = map.find(u.name);
    check_user(it != map.end(), "placement: unit " + u.name + " is not placed on any device");
    if (std::find(plan.devices_.begin(), plan.devices_.end(), it->second) == plan.devices_.end())
      plan.devices_.push_back(it->second);
    plan.order_.push_back(u.name);
  }
  for (const auto& [name, device] : map) {
    bool known =
        std::any_of(manifest.units.begin(), manifest.units.end(),
                    [&unit_name = name](const UnitSpec& u) { return u.name == unit_name; });
    check_user(known, "placement: " + name + " is not a unit of model " + manifest.name);
  }
  plan.device_of_ = std::move(map);
  plan.title_ = "placement of " + manifest.name;
  plan.summary_ = {{"model", manifest.name}};
  return plan;
}

PlacementPlan PlacementPlan::make(const Manifest& manifest, const PlacementConfig& config,
                                  const PlanCapacity& capacity) {
  const std::string where = config.file.empty() ? "placement " + config.name : config.file.string();
  check_user(capacity.batch > 0,
             "capacity.batch must be > 0, got " + std::to_string(capacity.batch));
  check_user(capacity.max_sequence > 0,
             "capacity.max_sequence must be > 0, got " + std::to_string(capacity.max_sequence));
  check_user(capacity.max_tiles >= 0,
             "capacity.max_tiles must be >= 0, got " + std::to_string(capacity.max_tiles));
  const auto& units = manifest.units;
  check_internal(!units.empty(), "placement: manifest " + manifest.name + " has no units");

  PlacementPlan plan;
  const char* kStrategyNames[] = {"balanced", "sequential", "internvl-split", "explicit"};
  plan.strategy_ = kStrategyNames[static_cast<int>(config.strategy)];

  // Devices.
  check_internal(!config.auto_device, where + ": devices [auto] must be resolved before planning " +
                                          "(resolve_auto_devices in vlm/run/placement_setup.h)");
  const std::vector<c10::Device>& devices = config.devices;
  check_user(!devices.empty(), where + ": no devices to place " + manifest.name + " on");
  const int n = static_cast<int>(devices.size());
  auto index_of = [&](const c10::Device& d) {
    auto it = std::find(devices.begin(), devices.end(), d);
    return it == devices.end() ? -1 : static_cast<int>(it - devices.begin());
  };

  // Keys of pin and map, checked.
  std::vector<std::string> names;
  for (const auto& u : units) names.push_back(u.name);
  struct Key {
    std::string key;
    int device;
  };
  std::vector<Key> keys;
  std::map<std::string, c10::Device> seen;
  for (const auto* section : {&config.pin, &config.map}) {
    const std::string sname = section == &config.pin ? "pin" : "map";
    for (const auto& [key, device] : *section) {
      const std::string item = where + ": " + sname + " " + key;
      auto prev = seen.find(key);
      check_user(prev == seen.end() || prev->second == device,
                 item + ": pin puts it on " + (prev == seen.end() ? "" : prev->second.str()) +
                     " and map on " + device.str());
      seen.insert_or_assign(key, device);
      const bool matches =
          std::any_of(names.begin(), names.end(),
                      [&k = key](const std::string& u) { return key_matches(k, u); });
      if (!matches) {
        if (kOtherFamilyNames.count(key)) {
          plan.notes_.push_back(sname + " key " + key + " names no unit of " + manifest.name +
                                " (another family's module name): ignored");
          continue;
        }
        throw UserError(item + ": '" + key + "' matches no unit of " + manifest.name +
                        "; nearest unit names: " + join_names(closest_names(key, names)));
      }
      const int idx = index_of(device);
      check_user(idx >= 0,
                 item + ": " + device.str() + " is not in devices " + device_list(devices));
      keys.push_back({key, idx});
    }
  }

  // Pinned units: the longest matching key wins.
  std::vector<int> assign(units.size(), -1);
  std::vector<bool> pinned(units.size(), false);
  for (size_t i = 0; i < units.size(); ++i) {
    size_t best_len = 0;
    for (const auto& k : keys)
      if (key_matches(k.key, units[i].name) && k.key.size() >= best_len) {
        best_len = k.key.size();
        assign[i] = k.device;
        pinned[i] = true;
      }
  }

  // Bytes per unit.
  const int64_t dsize = static_cast<int64_t>(c10::elementSize(manifest.dtype));
  const int64_t kv_per_layer = 2 * capacity.batch * manifest.llm.num_kv_heads *
                               manifest.llm.head_dim * capacity.max_sequence * dsize;
  auto kv_of = [&](const UnitSpec& u) {
    return u.kind == UnitKind::kDecoderLayer ? kv_per_layer : int64_t{0};
  };
  const ActivationModel act = activation_model(manifest, capacity, config.activation_reserve);
  auto max_memory = [&](int j) -> std::optional<int64_t> {
    auto it = config.max_memory.find(devices[j].str());
    if (it == config.max_memory.end()) return std::nullopt;
    return it->second;
  };
  std::vector<int64_t> pinned_load(n, 0);
  std::vector<std::set<UnitKind>> pinned_kinds(n);
  for (size_t i = 0; i < units.size(); ++i)
    if (pinned[i]) {
      pinned_load[assign[i]] += units[i].param_bytes + kv_of(units[i]);
      pinned_kinds[assign[i]].insert(units[i].kind);
    }

  switch (config.strategy) {
    case PlacementStrategy::kExplicit: {
      std::vector<std::string> unplaced;
      for (size_t i = 0; i < units.size(); ++i)
        if (!pinned[i]) unplaced.push_back(units[i].name);
      check_user(unplaced.empty(), where + ": the explicit map leaves " +
                                       std::to_string(unplaced.size()) + " unit(s) of " +
                                       manifest.name + " unplaced: " + fold_units(unplaced, true));
      break;
    }
    case PlacementStrategy::kInternvlSplit: {
      // split_model: ceil(L / (n - 0.5)) layers per device, half of that (rounded up) on the
      // first; the last layer and every non-layer unit on the first device.
      int64_t num_layers = 0, last = -1;
      for (const auto& u : units)
        if (u.kind == UnitKind::kDecoderLayer) {
          ++num_layers;
          last = std::max<int64_t>(last, u.layer);
        }
      const int64_t per = (2 * num_layers + 2 * n - 2) / (2 * n - 1);  // ceil(L / (n - 0.5))
      std::vector<int64_t> end(n);  // layers [end[j-1], end[j]) on device j
      for (int j = 0; j < n; ++j) end[j] = (j ? end[j - 1] : 0) + (j ? per : (per + 1) / 2);
      for (size_t i = 0; i < units.size(); ++i) {
        if (pinned[i]) continue;
        const UnitSpec& u = units[i];
        int dev = 0;
        if (u.kind == UnitKind::kDecoderLayer && u.layer != last)
          while (dev + 1 < n && u.layer >= end[dev]) ++dev;
        assign[i] = dev;
      }
      break;
    }
    case PlacementStrategy::kSequential: {
      std::vector<int64_t> load = pinned_load;
      std::vector<std::set<UnitKind>> kinds = pinned_kinds;
      int k = 0;
      for (size_t i = 0; i < units.size(); ++i) {
        if (pinned[i]) continue;
        const int64_t c = units[i].param_bytes + kv_of(units[i]);
        while (k + 1 < n) {
          std::set<UnitKind> with = kinds[k];
          with.insert(units[i].kind);
          const auto budget = max_memory(k);
          if (!budget || load[k] + c + act.reserve(with) <= *budget) break;
          ++k;
        }
        assign[i] = k;
        load[k] += c;
        kinds[k].insert(units[i].kind);
      }
      break;
    }
    case PlacementStrategy::kBalanced: {
      std::vector<size_t> free;
      std::vector<int64_t> cost;
      for (size_t i = 0; i < units.size(); ++i)
        if (!pinned[i]) {
          free.push_back(i);
          cost.push_back(units[i].param_bytes + kv_of(units[i]));
        }
      std::vector<int64_t> fixed(n);
      std::vector<std::optional<int64_t>> budget(n);
      for (int j = 0; j < n; ++j) {
        std::set<UnitKind> kinds = pinned_kinds[j];
        kinds.insert(UnitKind::kDecoderLayer);  // as if it gets layers
        fixed[j] = pinned_load[j] + act.reserve(kinds);
        budget[j] = max_memory(j);
      }
      const std::vector<int> where_to = balance(cost, fixed, budget);
      for (size_t f = 0; f < free.size(); ++f) assign[free[f]] = where_to[f];
      break;
    }
  }

  // The plan: devices in order of first use, then budgets.
  for (size_t i = 0; i < units.size(); ++i) {
    check_internal(assign[i] >= 0 && assign[i] < n,
                   "placement: unit " + units[i].name + " left unassigned by " + plan.strategy_);
    const c10::Device d = devices[assign[i]];
    plan.device_of_.emplace(units[i].name, d);
    plan.order_.push_back(units[i].name);
    if (std::find(plan.devices_.begin(), plan.devices_.end(), d) == plan.devices_.end())
      plan.devices_.push_back(d);
  }
  std::vector<c10::Device> listed = plan.devices_;
  for (const auto& d : devices)
    if (std::find(listed.begin(), listed.end(), d) == listed.end()) {
      listed.push_back(d);
      plan.notes_.push_back(d.str() + " holds no units");
    }
  for (const auto& d : listed) {
    DeviceBudget b;
    b.device = d;
    std::set<UnitKind> kinds;
    for (size_t i = 0; i < units.size(); ++i)
      if (devices[assign[i]] == d) {
        b.units.push_back(units[i].name);
        b.weights += units[i].param_bytes;
        b.kv_cache += kv_of(units[i]);
        kinds.insert(units[i].kind);
      }
    b.activations = act.reserve(kinds);
    b.max_memory = max_memory(index_of(d));
    plan.budgets_.push_back(std::move(b));
  }

  // Tied weights: co-located members share one tensor.
  for (const auto& group : manifest.tied_groups) {
    std::map<std::string, std::vector<const UnitSpec*>> by_device;
    for (const auto& name : group)
      for (const auto& u : units)
        if (u.name == name) by_device[plan.device_of_.at(name).str()].push_back(&u);
    if (by_device.empty()) continue;
    std::vector<std::string> devs;
    for (const auto& [dev, members] : by_device) {
      devs.push_back(dev);
      if (members.size() < 2) continue;
      int64_t sum = 0, largest = 0;
      for (const auto* u : members) {
        sum += u->param_bytes;
        largest = std::max(largest, u->param_bytes);
      }
      for (auto& b : plan.budgets_)
        if (b.device.str() == dev) b.weights -= sum - largest;
    }
    if (by_device.size() == 1)
      plan.notes_.push_back("tied weights " + join_names(group, " + ") + " share one tensor on " +
                            devs[0] + ": counted once");
    else
      plan.notes_.push_back("tied weights " + join_names(group, " + ") + " are split over " +
                            join_names(devs) + ": the shared tensor is held and counted on each");
  }

  // Notes on the activation reserve.
  if (config.activation_reserve >= 0) {
    plan.notes_.push_back("activation reserve: " + format_gib(config.activation_reserve) +
                          " per device (configured)");
  } else {
    plan.notes_.push_back("activation reserve estimated: vision " + format_gib(act.vision) + " (" +
                          std::to_string(capacity.max_tiles) + " tiles), decoder layers " +
                          format_gib(act.layers) + ", head " + format_gib(act.head) +
                          "; set activation_reserve to override");
    if (manifest.raw.is_object() && manifest.raw.value("attention", "") == "eager")
      plan.notes_.push_back(
          "the manifest's attention is eager: prefill attention scores need up to " +
          format_gib(capacity.batch * manifest.llm.num_heads * capacity.max_sequence *
                     capacity.max_sequence * (dsize + 4)) +
          " more per layer device than this estimate");
  }

  // Title and summary.
  plan.title_ = "placement of " + manifest.name + " (" + dtype_name(manifest.dtype) + ") by " +
                plan.strategy_ + " (" + config.name + "), batch " + std::to_string(capacity.batch) +
                " x " + std::to_string(capacity.max_sequence) + " positions, " +
                std::to_string(capacity.max_tiles) + " tiles";
  plan.summary_ = {{"model", manifest.name},
                   {"config", config.name},
                   {"config_file", config.file.string()},
                   {"capacity",
                    {{"batch", capacity.batch},
                     {"max_sequence", capacity.max_sequence},
                     {"max_tiles", capacity.max_tiles}}}};
  return plan;
}

c10::Device PlacementPlan::device_of(const std::string& unit) const {
  auto it = device_of_.find(unit);
  check_internal(it != device_of_.end(), "placement: no device for unit " + unit);
  return it->second;
}

std::vector<std::string> PlacementPlan::units_on(const c10::Device& device) const {
  std::vector<std::string> on;
  for (const auto& u : order_)
    if (device_of_.at(u) == device) on.push_back(u);
  return on;
}

bool PlacementPlan::fits() const {
  return std::all_of(budgets_.begin(), budgets_.end(),
                     [](const DeviceBudget& b) { return b.fits(); });
}

std::string PlacementPlan::table() const {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"device", "units", "weights GiB", "kv GiB", "act GiB", "total GiB", "budget GiB",
                  "free GiB", ""});
  if (budgets_.empty()) {
    for (const auto& d : devices_)
      rows.push_back({d.str(), fold_units(units_on(d), false), "", "", "", "", "", "", ""});
  }
  for (const auto& b : budgets_) {
    std::string budget = "-", free = "-", mark;
    if (b.max_memory) {
      budget = gib(*b.max_memory);
      free = gib(*b.max_memory - b.total());
      if (!b.fits()) mark = "OVER by " + format_gib(b.total() - *b.max_memory);
    }
    rows.push_back({b.device.str(), b.units.empty() ? "(none)" : fold_units(b.units, false),
                    gib(b.weights), gib(b.kv_cache), gib(b.activations), gib(b.total()), budget,
                    free, mark});
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& r : rows)
    for (size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
  std::string out = title_ + "\n";
  for (const auto& r : rows) {
    std::string line;
    for (size_t c = 0; c < r.size(); ++c) {
      if (c) line += "  ";
      const std::string pad(width[c] - r[c].size(), ' ');
      line += c <= 1 || c + 1 == r.size() ? r[c] + pad : pad + r[c];  // numbers right-aligned
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  if (!budgets_.empty())
    out += fits() ? "fits: every device within its budget\n"
                  : "DOES NOT FIT: a device is over its budget\n";
  for (const auto& n : notes_) out += "note: " + n + "\n";
  return out;
}

json PlacementPlan::to_json() const {
  json j = summary_;
  j["strategy"] = strategy_;
  j["fits"] = fits();
  json devs = json::array();
  for (const auto& b : budgets_) {
    json d = {{"device", b.device.str()},
              {"units", b.units},
              {"units_compact", fold_units(b.units, false)},
              {"weights_bytes", b.weights},
              {"kv_cache_bytes", b.kv_cache},
              {"activation_bytes", b.activations},
              {"total_bytes", b.total()},
              {"max_memory_bytes", b.max_memory ? json(*b.max_memory) : json(nullptr)},
              {"free_bytes", b.max_memory ? json(*b.max_memory - b.total()) : json(nullptr)},
              {"fits", b.fits()}};
    devs.push_back(std::move(d));
  }
  j["devices"] = devs;
  json map = json::object();
  for (const auto& [unit, dev] : device_of_) map[unit] = dev.str();
  j["map"] = map;
  j["notes"] = notes_;
  return j;
}

void require_devices_present(const PlacementPlan& plan) {
  const int64_t count = static_cast<int64_t>(torch::cuda::device_count());
  for (const auto& d : plan.devices()) {
    if (!d.is_cuda() || d.index() < count) continue;
    const std::vector<std::string> on = plan.units_on(d);
    std::string msg = "placement puts " + (on.empty() ? std::string("units") : on.front());
    if (on.size() > 1) msg += " (and " + std::to_string(on.size() - 1) + " more units)";
    throw UserError(msg + " on " + d.str() + ", but this machine has " + std::to_string(count) +
                    " CUDA device(s)");
  }
}

}  // namespace vlm
