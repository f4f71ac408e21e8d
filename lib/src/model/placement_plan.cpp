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
#include "vlm/model/model_forward.h"

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
  int64_t layers = 0;  // one decoder layer on one item's prefill (also embedding and norm)
  int64_t head = 0;    // float32 logits of a decode step's kDecodeRows rows

  bool overlap = false;         // the next item's vision beside an item's layers (PlanCapacity)
  bool vision_graphs = false;   // vision's activations kept in its graphs' pool on CUDA devices
  bool prefill_graphs = false;  // a prefill's activations kept in its graphs' pool there

  int64_t reserve(const std::set<UnitKind>& kinds, c10::Device device) const {
    if (kinds.empty()) return 0;
    if (configured >= 0) return configured;
    const int64_t v =
        kinds.count(UnitKind::kVision) || kinds.count(UnitKind::kProjector) ? vision : 0;
    int64_t rest = 0;
    if (kinds.count(UnitKind::kEmbedding) || kinds.count(UnitKind::kDecoderLayer) ||
        kinds.count(UnitKind::kNorm))
      rest = std::max(rest, layers);
    // Prefill graphs keep the longest prefill's activations in their pool, beside the
    // allocator's own (their warm-ups' and every eager call's).
    if (prefill_graphs && kinds.count(UnitKind::kDecoderLayer) && prefill_graphs_apply({device}))
      rest = std::max(rest, 2 * layers);
    if (kinds.count(UnitKind::kHead)) rest = std::max(rest, head);
    // With overlap, vision activations of the next item live beside this item's layer or head;
    // where vision runs from graphs, their pool stays beside them.
    const bool pooled = vision_graphs && kinds.count(UnitKind::kVision) &&
                        kinds.count(UnitKind::kProjector) && vision_graphs_apply(device, device);
    return overlap || pooled ? v + rest : std::max(v, rest);
  }
};

ActivationModel activation_model(const Manifest& m, const PlanCapacity& cap, int64_t configured) {
  const int64_t d = static_cast<int64_t>(c10::elementSize(m.dtype));
  ActivationModel a;
  a.configured = configured;
  a.overlap = cap.overlap;
  a.vision_graphs = cap.vision_graphs;
  a.prefill_graphs = cap.prefill_graphs;
  const int64_t patch = raw_int(m.raw, "vision", "patch_size", 14);
  const int64_t side = m.vision.image_size / std::max<int64_t>(1, patch);
  const int64_t tokens = side * side + 1;  // 1025 for 448 / 14, CLS included
  const int64_t c_vit = raw_int(m.raw, "vision", "hidden_size", 1024);
  const int64_t vit_heads = raw_int(m.raw, "vision", "num_heads", 16);
  a.vision =
      cap.max_tiles * tokens * c_vit * d * 10 + cap.max_tiles * vit_heads * tokens * tokens * d;
  const int64_t hidden = m.llm.hidden_size;
  const int64_t inter = raw_int(m.raw, "llm", "intermediate_size", 4 * hidden);
  // Not by the batch: a prefill is one item; a decode step is kDecodeRows rows of one token.
  const int64_t rows = std::max(cap.max_sequence, ModelForward::kDecodeRows);
  a.layers = rows * (4 * hidden + 2 * inter) * d;
  a.head = ModelForward::kDecodeRows * m.llm.vocab_size * 4;
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

bool vision_graphs_apply(c10::Device vision, c10::Device projector) {
  return vision.is_cuda() && projector == vision;
}

bool prefill_graphs_apply(const std::vector<c10::Device>& layer_devices) {
  return std::any_of(layer_devices.begin(), layer_devices.end(),
                     [](const c10::Device& d) { return d.is_cuda(); });
}

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

// ---- the steps of PlacementPlan::make, in its order ---------------------------------------------
namespace {

void check_capacity(const PlanCapacity& capacity) {
  check_user(capacity.batch > 0,
             "capacity.batch must be > 0, got " + std::to_string(capacity.batch));
  check_user(capacity.max_sequence > 0,
             "capacity.max_sequence must be > 0, got " + std::to_string(capacity.max_sequence));
  check_user(capacity.max_tiles >= 0,
             "capacity.max_tiles must be >= 0, got " + std::to_string(capacity.max_tiles));
}

// The config's devices, resolved ([auto] is set by the run before planning) and not empty.
const std::vector<c10::Device>& checked_devices(const PlacementConfig& config,
                                                const Manifest& manifest,
                                                const std::string& where) {
  check_internal(!config.auto_device, where + ": devices [auto] must be resolved before planning " +
                                          "(resolve_auto_devices in vlm/run/placement_setup.h)");
  check_user(!config.devices.empty(), where + ": no devices to place " + manifest.name + " on");
  return config.devices;
}

// The index of `d` in `devices`; -1 when absent.
int index_of(const std::vector<c10::Device>& devices, const c10::Device& d) {
  auto it = std::find(devices.begin(), devices.end(), d);
  return it == devices.end() ? -1 : static_cast<int>(it - devices.begin());
}

// A pin or map key that names units, with its device's index in the config's devices.
struct Key {
  std::string key;
  int device;
};

// The keys of pin, then map, checked: a key in both with different devices, a key matching no
// unit and a device not in devices are UserErrors; another family's module name is left out,
// with a note added to `notes`.
std::vector<Key> checked_keys(const Manifest& manifest, const PlacementConfig& config,
                              const std::string& where, std::vector<std::string>& notes) {
  std::vector<std::string> names;
  for (const auto& u : manifest.units) names.push_back(u.name);
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
          notes.push_back(sname + " key " + key + " names no unit of " + manifest.name +
                          " (another family's module name): ignored");
          continue;
        }
        throw UserError(item + ": '" + key + "' matches no unit of " + manifest.name +
                        "; nearest unit names: " + join_names(closest_names(key, names)));
      }
      const int idx = index_of(config.devices, device);
      check_user(idx >= 0,
                 item + ": " + device.str() + " is not in devices " + device_list(config.devices));
      keys.push_back({key, idx});
    }
  }
  return keys;
}

// A device index per unit of the manifest, in execution order (-1: not placed).
using Assignment = std::vector<int>;

// The device of every unit some key matches (the longest matching key wins; of equal ones, the
// later, map over pin); -1 for the others.
Assignment pinned_units(const std::vector<UnitSpec>& units, const std::vector<Key>& keys) {
  Assignment pinned(units.size(), -1);
  for (size_t i = 0; i < units.size(); ++i) {
    size_t best_len = 0;
    for (const auto& k : keys)
      if (key_matches(k.key, units[i].name) && k.key.size() >= best_len) {
        best_len = k.key.size();
        pinned[i] = k.device;
      }
  }
  return pinned;
}

// The bytes a unit holds besides activations: its weights and, for a decoder layer, its KV cache.
struct UnitBytes {
  int64_t kv_per_layer = 0;  // 2 * batch * num_kv_heads * head_dim * max_sequence * dtype size

  UnitBytes(const Manifest& m, const PlanCapacity& cap)
      : kv_per_layer(2 * cap.batch * m.llm.num_kv_heads * m.llm.head_dim * cap.max_sequence *
                     static_cast<int64_t>(c10::elementSize(m.dtype))) {}
  int64_t kv(const UnitSpec& u) const {
    return u.kind == UnitKind::kDecoderLayer ? kv_per_layer : int64_t{0};
  }
  int64_t cost(const UnitSpec& u) const { return u.param_bytes + kv(u); }
};

// What a strategy decides from: the units, the pins, and per device its budget and what the pins
// already put there.
struct StrategyInput {
  const std::vector<UnitSpec>& units;
  const Assignment& pinned;  // pinned_units
  const UnitBytes& bytes;
  const ActivationModel& act;
  std::vector<c10::Device> devices;              // the config's, in order
  std::vector<std::optional<int64_t>> budget;    // per device: max_memory (absent: unbounded)
  std::vector<int64_t> pinned_load;              // per device: bytes of its pinned units
  std::vector<std::set<UnitKind>> pinned_kinds;  // per device: kinds of its pinned units
  std::string where;                             // the config, for messages
  std::string model;                             // the manifest's name, for messages
};

StrategyInput strategy_input(const Manifest& manifest, const PlacementConfig& config,
                             const Assignment& pinned, const UnitBytes& bytes,
                             const ActivationModel& act, const std::string& where) {
  const size_t n = config.devices.size();
  StrategyInput in{manifest.units,
                   pinned,
                   bytes,
                   act,
                   config.devices,
                   {},
                   std::vector<int64_t>(n, 0),
                   std::vector<std::set<UnitKind>>(n),
                   where,
                   manifest.name};
  for (const c10::Device& d : config.devices) {
    auto it = config.max_memory.find(d.str());
    in.budget.push_back(it == config.max_memory.end() ? std::nullopt
                                                      : std::optional<int64_t>(it->second));
  }
  for (size_t i = 0; i < in.units.size(); ++i)
    if (pinned[i] >= 0) {
      in.pinned_load[pinned[i]] += bytes.cost(in.units[i]);
      in.pinned_kinds[pinned[i]].insert(in.units[i].kind);
    }
  return in;
}

// explicit: the pins are the placement; a unit they leave unplaced is a UserError.
Assignment place_explicit(const StrategyInput& in) {
  std::vector<std::string> unplaced;
  for (size_t i = 0; i < in.units.size(); ++i)
    if (in.pinned[i] < 0) unplaced.push_back(in.units[i].name);
  check_user(unplaced.empty(), in.where + ": the explicit map leaves " +
                                   std::to_string(unplaced.size()) + " unit(s) of " + in.model +
                                   " unplaced: " + fold_units(unplaced, true));
  return in.pinned;
}

// internvl-split, upstream split_model: ceil(L / (n - 0.5)) layers per device, half of that
// (rounded up) on the first; the last layer and every non-layer unit on the first device.
Assignment place_internvl_split(const StrategyInput& in) {
  const int n = static_cast<int>(in.budget.size());
  int64_t num_layers = 0, last = -1;
  for (const auto& u : in.units)
    if (u.kind == UnitKind::kDecoderLayer) {
      ++num_layers;
      last = std::max<int64_t>(last, u.layer);
    }
  const int64_t per = (2 * num_layers + 2 * n - 2) / (2 * n - 1);  // ceil(L / (n - 0.5))
  std::vector<int64_t> end(n);  // layers [end[j-1], end[j]) on device j
  for (int j = 0; j < n; ++j) end[j] = (j ? end[j - 1] : 0) + (j ? per : (per + 1) / 2);
  Assignment assign = in.pinned;
  for (size_t i = 0; i < in.units.size(); ++i) {
    if (in.pinned[i] >= 0) continue;
    const UnitSpec& u = in.units[i];
    int dev = 0;
    if (u.kind == UnitKind::kDecoderLayer && u.layer != last)
      while (dev + 1 < n && u.layer >= end[dev]) ++dev;
    assign[i] = dev;
  }
  return assign;
}

// sequential: each free unit on the current device while it stays within its budget (with its
// activation reserve), else on the next; the last device takes the rest.
Assignment place_sequential(const StrategyInput& in) {
  const int n = static_cast<int>(in.budget.size());
  std::vector<int64_t> load = in.pinned_load;
  std::vector<std::set<UnitKind>> kinds = in.pinned_kinds;
  Assignment assign = in.pinned;
  int k = 0;
  for (size_t i = 0; i < in.units.size(); ++i) {
    if (in.pinned[i] >= 0) continue;
    const int64_t c = in.bytes.cost(in.units[i]);
    while (k + 1 < n) {
      std::set<UnitKind> with = kinds[k];
      with.insert(in.units[i].kind);
      const auto& budget = in.budget[k];
      if (!budget || load[k] + c + in.act.reserve(with, in.devices[k]) <= *budget) break;
      ++k;
    }
    assign[i] = k;
    load[k] += c;
    kinds[k].insert(in.units[i].kind);
  }
  return assign;
}

// balanced: the free units as contiguous runs over the devices (balance), each device's pinned
// bytes and a layer device's activation reserve counted as fixed load.
Assignment place_balanced(const StrategyInput& in) {
  std::vector<size_t> free;
  std::vector<int64_t> cost;
  for (size_t i = 0; i < in.units.size(); ++i)
    if (in.pinned[i] < 0) {
      free.push_back(i);
      cost.push_back(in.bytes.cost(in.units[i]));
    }
  std::vector<int64_t> fixed(in.budget.size());
  for (size_t j = 0; j < fixed.size(); ++j) {
    std::set<UnitKind> kinds = in.pinned_kinds[j];
    kinds.insert(UnitKind::kDecoderLayer);  // as if it gets layers
    fixed[j] = in.pinned_load[j] + in.act.reserve(kinds, in.devices[j]);
  }
  const std::vector<int> to = balance(cost, fixed, in.budget);
  Assignment assign = in.pinned;
  for (size_t f = 0; f < free.size(); ++f) assign[free[f]] = to[f];
  return assign;
}

// The strategies' functions (their names: strategy_name, vlm/model/placement_config.h).
Assignment place(PlacementStrategy strategy, const StrategyInput& in) {
  using Place = Assignment (*)(const StrategyInput&);
  static const std::pair<PlacementStrategy, Place> kPlace[] = {
      {PlacementStrategy::kBalanced, place_balanced},
      {PlacementStrategy::kSequential, place_sequential},
      {PlacementStrategy::kInternvlSplit, place_internvl_split},
      {PlacementStrategy::kExplicit, place_explicit},
  };
  for (const auto& [s, fn] : kPlace)
    if (s == strategy) return fn(in);
  throw InternalError("placement: no function for strategy " + strategy_name(strategy));
}

// Per device, in order of first use along `order`, then the configured devices left empty (each
// noted): its units, weights, KV cache, activation reserve and budget. Tied weights are counted
// per member (note_tied_weights).
std::vector<DeviceBudget> count_bytes(const StrategyInput& in, const Assignment& assign,
                                      const std::vector<c10::Device>& used,
                                      const std::vector<c10::Device>& devices,
                                      std::vector<std::string>& notes) {
  std::vector<c10::Device> listed = used;
  for (const auto& d : devices)
    if (std::find(listed.begin(), listed.end(), d) == listed.end()) {
      listed.push_back(d);
      notes.push_back(d.str() + " holds no units");
    }
  std::vector<DeviceBudget> budgets;
  for (const auto& d : listed) {
    DeviceBudget b;
    b.device = d;
    std::set<UnitKind> kinds;
    for (size_t i = 0; i < in.units.size(); ++i)
      if (devices[assign[i]] == d) {
        b.units.push_back(in.units[i].name);
        b.weights += in.units[i].param_bytes;
        b.kv_cache += in.bytes.kv(in.units[i]);
        kinds.insert(in.units[i].kind);
      }
    b.activations = in.act.reserve(kinds, d);
    b.max_memory = in.budget[index_of(devices, d)];
    budgets.push_back(std::move(b));
  }
  return budgets;
}

// Tied weights: every unit is a TorchScript archive of its own, loaded on its own, so the members
// of a tied group each hold a copy (the exported head also pads its rows: docs/model-format.md)
// and count_bytes counted each where it is. The note says so, since upstream holds one tensor.
void note_tied_weights(const Manifest& manifest, std::vector<std::string>& notes) {
  for (const auto& group : manifest.tied_groups)
    notes.push_back("tied weights " + join_names(group, " + ") +
                    ": each unit holds its own copy, counted on its device");
}

// Notes on the activation reserve: configured, or the estimates (and eager attention's extra).
void note_activations(const Manifest& manifest, const PlacementConfig& config,
                      const PlanCapacity& capacity, const ActivationModel& act,
                      std::vector<std::string>& notes) {
  if (config.activation_reserve >= 0) {
    notes.push_back("activation reserve: " + format_gib(config.activation_reserve) +
                    " per device (configured)");
    return;
  }
  notes.push_back("activation reserve estimated: vision " + format_gib(act.vision) + " (" +
                  std::to_string(capacity.max_tiles) + " tiles), decoder layers " +
                  format_gib(act.layers) + ", head " + format_gib(act.head) +
                  "; set activation_reserve to override");
  if (capacity.overlap)
    notes.push_back(
        "overlap: a device with vision units and layer, embedding or head units "
        "reserves vision plus the larger of the others (the next item's vision runs "
        "beside an item's prefill and decode)");
  const bool on_cuda = std::any_of(config.devices.begin(), config.devices.end(),
                                   [](const c10::Device& d) { return d.is_cuda(); });
  if (capacity.vision_graphs && !capacity.overlap && on_cuda)
    notes.push_back(
        "vision graphs: a CUDA device with vision units and layer, embedding or head units "
        "reserves vision plus the larger of the others (vision's graphs keep their memory; "
        "--no-cuda-graphs runs vision eagerly)");
  if (capacity.prefill_graphs && on_cuda)
    notes.push_back(
        "prefill graphs: a CUDA device with decoder layers reserves twice the decoder-layer "
        "estimate (the graphs' pool keeps the longest prefill's activations; --prefill-bucket 0 "
        "or --no-cuda-graphs runs the prefill eagerly)");
  if (manifest.raw.is_object() && manifest.raw.value("attention", "") == "eager") {
    const int64_t dsize = static_cast<int64_t>(c10::elementSize(manifest.dtype));
    notes.push_back("the manifest's attention is eager: prefill attention scores need up to " +
                    format_gib(manifest.llm.num_heads * capacity.max_sequence *
                               capacity.max_sequence * (dsize + 4)) +
                    " more per layer device than this estimate");
  }
}

std::string plan_title(const Manifest& manifest, const PlacementConfig& config,
                       const PlanCapacity& capacity) {
  return "placement of " + manifest.name + " (" + dtype_name(manifest.dtype) + ") by " +
         strategy_name(config.strategy) + " (" + config.name + "), batch " +
         std::to_string(capacity.batch) + " x " + std::to_string(capacity.max_sequence) +
         " positions, " + std::to_string(capacity.max_tiles) + " tiles" +
         (capacity.overlap ? ", overlap" : "");
}

json plan_summary(const Manifest& manifest, const PlacementConfig& config,
                  const PlanCapacity& capacity) {
  json j = {{"model", manifest.name},
            {"config", config.name},
            {"config_file", config.file.string()},
            {"capacity",
             {{"batch", capacity.batch},
              {"max_sequence", capacity.max_sequence},
              {"max_tiles", capacity.max_tiles}}}};
  if (capacity.overlap) j["capacity"]["overlap"] = true;  // absent without it: plans unchanged
  return j;
}

}  // namespace

PlacementPlan PlacementPlan::make(const Manifest& manifest, const PlacementConfig& config,
                                  const PlanCapacity& capacity) {
  const std::string where = config.file.empty() ? "placement " + config.name : config.file.string();
  check_capacity(capacity);
  const auto& units = manifest.units;
  check_internal(!units.empty(), "placement: manifest " + manifest.name + " has no units");
  PlacementPlan plan;
  plan.strategy_ = strategy_name(config.strategy);
  const std::vector<c10::Device>& devices = checked_devices(config, manifest, where);
  const std::vector<Key> keys = checked_keys(manifest, config, where, plan.notes_);

  // Which device each unit goes to: the pins, then the strategy for the rest.
  const Assignment pinned = pinned_units(units, keys);
  const UnitBytes bytes(manifest, capacity);
  const ActivationModel act = activation_model(manifest, capacity, config.activation_reserve);
  const StrategyInput in = strategy_input(manifest, config, pinned, bytes, act, where);
  const Assignment assign = place(config.strategy, in);
  for (size_t i = 0; i < units.size(); ++i) {
    check_internal(assign[i] >= 0 && assign[i] < static_cast<int>(devices.size()),
                   "placement: unit " + units[i].name + " left unassigned by " + plan.strategy_);
    const c10::Device d = devices[assign[i]];
    plan.device_of_.emplace(units[i].name, d);
    plan.order_.push_back(units[i].name);
    if (std::find(plan.devices_.begin(), plan.devices_.end(), d) == plan.devices_.end())
      plan.devices_.push_back(d);
  }

  // What each device holds, and what the plan says about it.
  plan.budgets_ = count_bytes(in, assign, plan.devices_, devices, plan.notes_);
  note_tied_weights(manifest, plan.notes_);
  note_activations(manifest, config, capacity, act, plan.notes_);
  plan.title_ = plan_title(manifest, config, capacity);
  plan.summary_ = plan_summary(manifest, config, capacity);
  plan.capacity_ = capacity;
  return plan;
}

PlacementPlan PlacementPlan::make_largest_batch(const Manifest& manifest,
                                                const PlacementConfig& config,
                                                PlanCapacity capacity, int64_t max_batch) {
  check_internal(max_batch >= 1, "make_largest_batch: max_batch " + std::to_string(max_batch));
  capacity.batch = 1;
  PlacementPlan one = make(manifest, config, capacity);
  const bool budgets = std::any_of(one.budgets().begin(), one.budgets().end(),
                                   [](const DeviceBudget& b) { return b.max_memory.has_value(); });
  if (!budgets) {
    const auto& ds = one.devices();
    const bool cuda =
        std::any_of(ds.begin(), ds.end(), [](const c10::Device& d) { return d.is_cuda(); });
    if (!cuda) {
      one.add_note("batch size auto: 1, as no device has a budget (max_memory) and none is CUDA");
      return one;
    }
    capacity.batch = max_batch;
    PlacementPlan all = make(manifest, config, capacity);
    all.add_note("batch size auto: " + std::to_string(max_batch) +
                 " (the most), as no device has a budget (max_memory) to bound it");
    return all;
  }
  std::optional<PlacementPlan> over;  // the plan one item larger than the one taken
  for (int64_t n = max_batch; n >= 1; --n) {
    capacity.batch = n;
    PlacementPlan plan = n == 1 ? std::move(one) : make(manifest, config, capacity);
    if (!plan.fits()) {
      if (n == 1) {
        plan.add_note("batch size auto: not even 1 item fits the budgets");
        return plan;
      }
      over = std::move(plan);
      continue;
    }
    std::string note = "batch size auto: " + std::to_string(n);
    if (over) {
      note += " (of at most " + std::to_string(max_batch) + ")";
      for (const DeviceBudget& b : over->budgets())
        if (!b.fits()) {
          note += "; " + std::to_string(n + 1) + " would put " + b.device.str() +
                  " over its budget by " + format_gib(b.total() - *b.max_memory);
          break;
        }
    } else {
      note += " (the most), within every device's budget";
    }
    plan.add_note(note);
    return plan;
  }
  throw InternalError("make_largest_batch: no batch planned");
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
