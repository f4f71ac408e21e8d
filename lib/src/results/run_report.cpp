#include "vlm/results/run_report.h"

#include <cmath>
#include <set>
#include <utility>

#include "vlm/core/error.h"
#include "vlm/core/json_int.h"
#include "vlm/results/json_file.h"

namespace vlm {
using nlohmann::json;

namespace {

// ---- reading ------------------------------------------------------------------------------------

// One JSON object being read: typed values by key, each key's path named in errors, and the keys
// not read (rest()).
class ObjectReader {
 public:
  ObjectReader(const json& j, std::string where) : j_(j), where_(std::move(where)) {
    check_user(j.is_object(), where_ + ": expected a JSON object, got " + j.type_name());
  }
  // "FILE: a.b.key" for a key of the object at "FILE: a.b" (the file's top level: "FILE:").
  std::string path(const std::string& key) const {
    return where_ + (!where_.empty() && where_.back() == ':' ? " " : ".") + key;
  }

  // The value at `key`, or nullptr when absent.
  const json* raw(const char* key) {
    read_.insert(key);
    auto it = j_.find(key);
    return it == j_.end() ? nullptr : &*it;
  }
  template <class T>
  std::optional<T> opt(const char* key) {
    const json* v = raw(key);
    if (!v) return std::nullopt;
    return as<T>(*v, path(key));
  }
  // absent -> nullopt; null -> an empty Nullable; else the value.
  template <class T>
  std::optional<Nullable<T>> nullable(const char* key) {
    const json* v = raw(key);
    if (!v) return std::nullopt;
    if (v->is_null()) return Nullable<T>();
    return Nullable<T>(as<T>(*v, path(key)));
  }
  template <class T>
  T get(const char* key, T fallback) {
    return opt<T>(key).value_or(std::move(fallback));
  }
  // The keys not read, as they were.
  json rest() const {
    json out = json::object();
    for (auto it = j_.begin(); it != j_.end(); ++it)
      if (read_.count(it.key()) == 0) out[it.key()] = *it;
    return out;
  }

  template <class T>
  static T as(const json& v, const std::string& where) {
    try {
      return v.get<T>();
    } catch (const json::exception&) {
      throw UserError(where + ": a JSON " + v.type_name() + " of the wrong type");
    }
  }

 private:
  const json& j_;
  std::string where_;
  std::set<std::string> read_;
};

// Device bytes from {"cuda:0": n} or [{"device": d, "bytes"|"peak_bytes": n}]; entries of other
// shapes are left out.
DeviceBytes device_bytes_from_json(const json& j) {
  DeviceBytes out;
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it)
      if (const auto bytes = json_number_as_int64(*it)) out[it.key()] = *bytes;
  } else if (j.is_array()) {
    for (const json& e : j) {
      if (!e.is_object() || !e.contains("device") || !e["device"].is_string()) continue;
      for (const char* key : {"peak_bytes", "bytes"})
        if (const auto bytes = e.contains(key) ? json_number_as_int64(e[key]) : std::nullopt) {
          const std::string device = e["device"].get<std::string>();
          out[device] = std::max(out.count(device) ? out[device] : *bytes, *bytes);
          break;
        }
    }
  }
  return out;
}

std::optional<DeviceBytes> device_bytes_at(ObjectReader& r, const char* key) {
  const json* v = r.raw(key);
  if (!v) return std::nullopt;
  return device_bytes_from_json(*v);
}

ShardConfigReport shard_config_from_json(const json& j, const std::string& where) {
  ObjectReader r(j, where);
  ShardConfigReport s;
  s.rank = r.get<int>("rank", 0);
  s.world_size = r.get<int>("world_size", 1);
  s.local_rank = r.get<int>("local_rank", 0);
  s.source = r.get<std::string>("source", "");
  return s;
}

RunConfigReport config_from_json(const json& j, const std::string& where) {
  ObjectReader r(j, where);
  RunConfigReport c;
  c.models = r.opt<std::vector<std::string>>("models");
  c.datasets = r.opt<std::vector<std::string>>("datasets");
  c.dataset_of = r.opt<std::map<std::string, std::string>>("dataset_of");
  c.work_dir = r.opt<std::string>("work_dir");
  c.model_root = r.opt<std::string>("model_root");
  c.model_dir = r.opt<std::string>("model_dir");
  c.data_root = r.opt<std::string>("data_root");
  c.configs_dir = r.opt<std::string>("configs_dir");
  c.config_file = r.opt<std::string>("config_file");
  c.mode = r.opt<std::string>("mode");
  c.reuse = r.opt<bool>("reuse");
  c.limit = r.nullable<uint64_t>("limit");
  c.judge = r.opt<std::string>("judge");
  c.device = r.opt<std::string>("device");
  c.placement = r.opt<std::string>("placement");
  c.max_new_tokens = r.nullable<int64_t>("max_new_tokens");
  c.overlap = r.opt<bool>("overlap");
  if (const json* s = r.raw("shard")) c.shard = shard_config_from_json(*s, r.path("shard"));
  c.other = r.rest();
  return c;
}

ModelReport model_from_json(const json& j, const std::string& where) {
  ObjectReader r(j, where);
  ModelReport m;
  m.name = r.get<std::string>("name", "");
  m.dir = r.get<std::string>("dir", "");
  m.config = r.get<std::string>("config", "");
  m.manifest_name = r.get<std::string>("manifest_name", "");
  m.family = r.get<std::string>("family", "");
  m.dtype = r.get<std::string>("dtype", "");
  m.exported_with_torch = r.get<std::string>("exported_with_torch", "");
  m.max_new_tokens = r.get<int64_t>("max_new_tokens", 0);
  m.cuda_graphs = r.get<bool>("cuda_graphs", true);
  m.jit_optimize = r.get<bool>("jit_optimize", false);
  m.cudnn_attention = r.get<bool>("cudnn_attention", false);
  m.prefill_bucket = r.get<int64_t>("prefill_bucket", 0);
  if (const json* b = r.raw("batch_size")) {
    ObjectReader br(*b, r.path("batch_size"));
    m.batch_size_requested = br.get<std::string>("requested", "");
    m.batch_size_resolved = br.get<int64_t>("resolved", 1);
  }
  m.other = r.rest();
  return m;
}

PlacementReport placement_from_json(const json& j, const std::string& where) {
  ObjectReader r(j, where);
  PlacementReport p;
  p.config = r.get<std::string>("config", "");
  p.plan = r.rest();
  return p;
}

HostReport host_from_json(const json& j, const std::string& where) {
  ObjectReader r(j, where);
  HostReport h;
  h.hostname = r.opt<std::string>("hostname");
  h.cpu = r.opt<std::string>("cpu");
  h.cpu_cores = r.get<uint64_t>("cpu_cores", 0);
  h.cuda_available = r.get<bool>("cuda_available", false);
  h.cuda_devices = r.get<int64_t>("cuda_devices", 0);
  h.other = r.rest();
  return h;
}

ModelFilesReport model_files_from_json(const json& j, const std::string& where) {
  ObjectReader r(j, where);
  ModelFilesReport f;
  f.verified = r.get<bool>("verified", false);
  f.hashed_bytes = r.get<int64_t>("hashed_bytes", 0);
  f.hashed_files = r.get<int64_t>("hashed_files", 0);
  f.stamped_files = r.get<int64_t>("stamped_files", 0);
  f.unrecorded_files = r.get<int64_t>("unrecorded_files", 0);
  f.verify_s = r.get<double>("verify_s", 0);
  f.other = r.rest();
  return f;
}

VersionsReport versions_from_json(const json& j, const std::string& where) {
  ObjectReader r(j, where);
  VersionsReport v;
  v.torch = r.get<std::string>("torch", "");
  v.opencv = r.get<std::string>("opencv", "");
  v.nlohmann_json = r.get<std::string>("nlohmann_json", "");
  v.pcre2 = r.get<std::string>("pcre2", "");
  v.compiler = r.get<std::string>("compiler", "");
  v.cxx = r.get<int64_t>("cxx", 0);
  v.harness_commit = r.opt<std::string>("harness_commit");
  v.other = r.rest();
  return v;
}

RankReport rank_from_json(const json& j, const std::string& where) {
  ObjectReader r(j, where);
  RankReport k;
  if (const json* p = r.raw("placement"))
    k.placement = placement_from_json(*p, r.path("placement"));
  k.argv = r.opt<std::vector<std::string>>("argv");
  if (const json* h = r.raw("host")) k.host = host_from_json(*h, r.path("host"));
  k.status = r.opt<std::string>("status");
  k.message = r.opt<std::string>("message");
  k.peak_memory_bytes = device_bytes_at(r, "peak_memory_bytes");
  k.load_ms = r.opt<double>("load_ms");
  if (const json* f = r.raw("model_files"))
    k.model_files = model_files_from_json(*f, r.path("model_files"));
  k.kv_cache_allocated_bytes = device_bytes_at(r, "kv_cache_allocated_bytes");
  k.other = r.rest();
  return k;
}

ShardReport shard_from_json(const json& j, const std::string& where) {
  ObjectReader r(j, where);
  ShardReport s;
  s.items = r.get<uint64_t>("items", 0);
  s.answered = r.get<uint64_t>("answered", 0);
  s.resumed = r.get<uint64_t>("resumed", 0);
  s.errors_now = r.get<uint64_t>("errors_now", 0);
  s.items_per_s = r.get<double>("items_per_s", 0);
  s.stage_ms = r.get<StageTimes>("stage_ms", {});
  s.item_stage_ms = r.get<StageTimes>("item_stage_ms", {});
  s.status = r.get<std::string>("status", "");
  s.other = r.rest();
  return s;
}

MergeReport merge_from_json(const json& j, const std::string& where) {
  ObjectReader r(j, where);
  MergeReport m;
  if (const json* s = r.raw("signature")) {
    ObjectReader sr(*s, r.path("signature"));
    m.signature.items = sr.get<uint64_t>("items", 0);
    m.signature.records = sr.get<std::map<std::string, uint64_t>>("records", {});
  }
  m.scored = r.get<bool>("scored", false);
  m.by_shard = r.get<std::string>("by_shard", "");
  return m;
}

std::vector<ItemErrorReport> item_errors_from_json(const json& j, const std::string& where) {
  check_user(j.is_array(), where + ": expected a JSON array, got " + j.type_name());
  std::vector<ItemErrorReport> out;
  for (size_t i = 0; i < j.size(); ++i) {
    ObjectReader r(j[i], where + "[" + std::to_string(i) + "]");
    out.push_back({r.get<std::string>("index", ""), r.get<std::string>("error", "")});
  }
  return out;
}

DatasetReport dataset_from_json(const json& j, const std::string& where) {
  ObjectReader r(j, where);
  DatasetReport d;
  d.dataset = r.opt<std::string>("dataset");
  d.file = r.opt<std::string>("file");
  d.md5 = r.opt<std::string>("md5");
  d.predictions_file = r.opt<std::string>("predictions_file");
  d.kind = r.opt<std::string>("kind");
  d.scorer = r.opt<std::string>("scorer");
  d.items = r.opt<uint64_t>("items");
  d.limit = r.nullable<uint64_t>("limit");
  if (const json* s = r.raw("shards")) {
    ObjectReader sr(*s, r.path("shards"));
    for (auto it = s->begin(); it != s->end(); ++it)
      d.shards[it.key()] = shard_from_json(it.value(), sr.path(it.key()));
  }
  if (const json* e = r.raw("errors")) d.errors = item_errors_from_json(*e, r.path("errors"));
  d.stage_ms = r.opt<StageTimes>("stage_ms");
  if (const json* s = r.raw("scores")) d.scores = *s;
  if (const json* a = r.raw("acc_table"))
    if (!a->is_null()) d.acc_table = acc_table_from_json(*a, r.path("acc_table"));
  if (const json* m = r.raw("merged")) d.merged = merge_from_json(*m, r.path("merged"));
  d.items_per_s = r.opt<double>("items_per_s");
  d.peak_memory_bytes = device_bytes_at(r, "peak_memory_bytes");
  d.other = r.rest();
  return d;
}

// ---- writing ------------------------------------------------------------------------------------

template <class T>
void put(json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}
template <class T>
void put(json& j, const char* key, const std::optional<Nullable<T>>& v) {
  if (v) j[key] = *v ? json(**v) : json(nullptr);
}
void put(json& j, const char* key, const json& v) {
  if (!v.is_null()) j[key] = v;
}

json to_json(const RunConfigReport& c) {
  json j = c.other;
  put(j, "models", c.models);
  put(j, "datasets", c.datasets);
  put(j, "dataset_of", c.dataset_of);
  put(j, "work_dir", c.work_dir);
  put(j, "model_root", c.model_root);
  put(j, "model_dir", c.model_dir);
  put(j, "data_root", c.data_root);
  put(j, "configs_dir", c.configs_dir);
  put(j, "config_file", c.config_file);
  put(j, "mode", c.mode);
  put(j, "reuse", c.reuse);
  put(j, "limit", c.limit);
  put(j, "judge", c.judge);
  put(j, "device", c.device);
  put(j, "placement", c.placement);
  put(j, "max_new_tokens", c.max_new_tokens);
  put(j, "overlap", c.overlap);
  if (c.shard)
    j["shard"] = {{"rank", c.shard->rank},
                  {"world_size", c.shard->world_size},
                  {"local_rank", c.shard->local_rank},
                  {"source", c.shard->source}};
  return j;
}

json to_json(const ModelReport& m) {
  json j = m.other;
  j["name"] = m.name;
  j["dir"] = m.dir;
  j["config"] = m.config;
  j["manifest_name"] = m.manifest_name;
  j["family"] = m.family;
  j["dtype"] = m.dtype;
  j["exported_with_torch"] = m.exported_with_torch;
  j["max_new_tokens"] = m.max_new_tokens;
  j["cuda_graphs"] = m.cuda_graphs;
  j["jit_optimize"] = m.jit_optimize;
  j["cudnn_attention"] = m.cudnn_attention;
  j["prefill_bucket"] = m.prefill_bucket;
  j["batch_size"] = {{"requested", m.batch_size_requested}, {"resolved", m.batch_size_resolved}};
  return j;
}

json to_json(const PlacementReport& p) {
  json j = p.plan.is_object() ? p.plan : json::object();
  j["config"] = p.config;
  return j;
}

json to_json(const HostReport& h) {
  json j = h.other;
  put(j, "hostname", h.hostname);
  put(j, "cpu", h.cpu);
  j["cpu_cores"] = h.cpu_cores;
  j["cuda_available"] = h.cuda_available;
  j["cuda_devices"] = h.cuda_devices;
  return j;
}

json to_json(const ModelFilesReport& f) {
  json j = f.other;
  j["verified"] = f.verified;
  j["verify_s"] = f.verify_s;
  j["hashed_bytes"] = f.hashed_bytes;
  j["hashed_files"] = f.hashed_files;
  j["stamped_files"] = f.stamped_files;
  j["unrecorded_files"] = f.unrecorded_files;
  return j;
}

json to_json(const VersionsReport& v) {
  json j = v.other;
  j["torch"] = v.torch;
  j["opencv"] = v.opencv;
  j["nlohmann_json"] = v.nlohmann_json;
  j["pcre2"] = v.pcre2;
  j["compiler"] = v.compiler;
  j["cxx"] = v.cxx;
  put(j, "harness_commit", v.harness_commit);
  return j;
}

json to_json(const RankReport& k) {
  json j = k.other;
  if (k.placement) j["placement"] = to_json(*k.placement);
  put(j, "argv", k.argv);
  if (k.host) j["host"] = to_json(*k.host);
  put(j, "status", k.status);
  put(j, "message", k.message);
  put(j, "peak_memory_bytes", k.peak_memory_bytes);
  put(j, "load_ms", k.load_ms);
  if (k.model_files) j["model_files"] = to_json(*k.model_files);
  put(j, "kv_cache_allocated_bytes", k.kv_cache_allocated_bytes);
  return j;
}

json to_json(const ShardReport& s) {
  json j = s.other;
  j["items"] = s.items;
  j["answered"] = s.answered;
  j["resumed"] = s.resumed;
  j["errors_now"] = s.errors_now;
  j["items_per_s"] = s.items_per_s;
  j["stage_ms"] = s.stage_ms;
  j["item_stage_ms"] = s.item_stage_ms;
  j["status"] = s.status;
  return j;
}

json to_json(const MergeReport& m) {
  json sig;
  sig["items"] = m.signature.items;
  for (const auto& [name, bytes] : m.signature.records) sig["records"][name] = bytes;
  return {{"signature", sig}, {"scored", m.scored}, {"by_shard", m.by_shard}};
}

json to_json(const DatasetReport& d) {
  json j = d.other;
  put(j, "dataset", d.dataset);
  put(j, "file", d.file);
  put(j, "md5", d.md5);
  put(j, "predictions_file", d.predictions_file);
  put(j, "kind", d.kind);
  put(j, "scorer", d.scorer);
  put(j, "items", d.items);
  put(j, "limit", d.limit);
  for (const auto& [tag, s] : d.shards) j["shards"][tag] = to_json(s);
  if (d.errors) {
    json errors = json::array();
    for (const ItemErrorReport& e : *d.errors)
      errors.push_back({{"index", e.index}, {"error", e.error}});
    j["errors"] = errors;
  }
  put(j, "stage_ms", d.stage_ms);
  put(j, "scores", d.scores);
  if (d.acc_table) j["acc_table"] = acc_table_to_json(*d.acc_table);
  if (d.merged) j["merged"] = to_json(*d.merged);
  put(j, "items_per_s", d.items_per_s);
  put(j, "peak_memory_bytes", d.peak_memory_bytes);
  return j;
}

}  // namespace

std::string placement_strategy(const PlacementReport& p) {
  auto it = p.plan.find("strategy");
  return it != p.plan.end() && it->is_string() ? it->get<std::string>() : "";
}

std::vector<PlannedDevice> placement_devices(const PlacementReport& p) {
  std::vector<PlannedDevice> out;
  auto devices = p.plan.find("devices");
  if (devices == p.plan.end() || !devices->is_array()) return out;
  for (const json& d : *devices) {
    if (!d.is_object() || !d.contains("device") || !d["device"].is_string()) continue;
    PlannedDevice pd;
    pd.device = d["device"].get<std::string>();
    if (d.contains("total_bytes")) pd.total_bytes = json_number_as_int64(d["total_bytes"]);
    for (const char* key : {"peak_bytes", "bytes"})
      if (!pd.peak_bytes && d.contains(key)) pd.peak_bytes = json_number_as_int64(d[key]);
    out.push_back(std::move(pd));
  }
  return out;
}

json acc_table_to_json(const ScoreTable& t) {
  json values = json::array();
  for (size_t row = 0; row < t.rows.size(); ++row) {
    json r = json::array();
    for (size_t c = 1; c < t.rows[row].size(); ++c) {
      const double v = t.number(row, c);
      r.push_back(std::isnan(v) ? json(nullptr) : json(v));
    }
    values.push_back(r);
  }
  return {{"columns", t.columns}, {"splits", split_names(t)}, {"values", values}};
}

ScoreTable acc_table_from_json(const json& j, const std::string& where) {
  ObjectReader r(j, where);
  ScoreTable t;
  t.columns = r.get<std::vector<std::string>>("columns", {});
  const auto splits = r.get<std::vector<std::string>>("splits", {});
  const json* values = r.raw("values");
  check_user(splits.empty() || (values && values->is_array() && values->size() == splits.size()),
             r.path("values") + ": expected one row of numbers per split");
  for (size_t s = 0; s < splits.size(); ++s) {
    const json& row = (*values)[s];
    check_user(row.is_array(), r.path("values") + ": expected rows of numbers");
    std::vector<ScoreValue> out{splits[s]};
    for (const json& v : row)
      out.emplace_back(std::in_place_type<double>,
                       v.is_null() ? std::nan("") : ObjectReader::as<double>(v, r.path("values")));
    t.rows.push_back(std::move(out));
  }
  return t;
}

json to_json(const RunReport& report) {
  json j = report.other;
  put(j, "eval_id", report.eval_id);
  put(j, "commit", report.commit);
  put(j, "world_size", report.world_size);
  if (report.versions) j["versions"] = to_json(*report.versions);
  if (report.config) j["config"] = to_json(*report.config);
  if (report.model) j["model"] = to_json(*report.model);
  if (report.placement) j["placement"] = to_json(*report.placement);
  for (const auto& [tag, rank] : report.ranks) j["ranks"][tag] = to_json(rank);
  for (const auto& [name, d] : report.datasets) j["datasets"][name] = to_json(d);
  for (const RunErrorReport& e : report.errors)
    j["errors"].push_back({{"dataset", e.dataset}, {"shard", e.shard}, {"error", e.error}});
  put(j, "peak_memory_bytes", report.peak_memory_bytes);
  return j;
}

RunReport run_report_from_json(const json& j, const std::string& where) {
  ObjectReader r(j, where + ":");
  RunReport report;
  report.eval_id = r.opt<std::string>("eval_id");
  report.commit = r.opt<std::string>("commit");
  report.world_size = r.opt<int>("world_size");
  if (const json* v = r.raw("versions"))
    report.versions = versions_from_json(*v, r.path("versions"));
  if (const json* c = r.raw("config")) report.config = config_from_json(*c, r.path("config"));
  if (const json* m = r.raw("model")) report.model = model_from_json(*m, r.path("model"));
  if (const json* p = r.raw("placement"))
    report.placement = placement_from_json(*p, r.path("placement"));
  if (const json* ranks = r.raw("ranks")) {
    ObjectReader rr(*ranks, r.path("ranks"));
    for (auto it = ranks->begin(); it != ranks->end(); ++it)
      report.ranks[it.key()] = rank_from_json(it.value(), rr.path(it.key()));
  }
  if (const json* datasets = r.raw("datasets")) {
    ObjectReader dr(*datasets, r.path("datasets"));
    for (auto it = datasets->begin(); it != datasets->end(); ++it)
      report.datasets[it.key()] = dataset_from_json(it.value(), dr.path(it.key()));
  }
  if (const json* errors = r.raw("errors")) {
    check_user(errors->is_array(), r.path("errors") + ": expected a JSON array");
    for (size_t i = 0; i < errors->size(); ++i) {
      ObjectReader er((*errors)[i], r.path("errors") + "[" + std::to_string(i) + "]");
      report.errors.push_back({er.get<std::string>("dataset", ""), er.get<std::string>("shard", ""),
                               er.get<std::string>("error", "")});
    }
  }
  report.peak_memory_bytes = device_bytes_at(r, "peak_memory_bytes");
  report.other = r.rest();
  return report;
}

RunReport load_run_report(const std::filesystem::path& file) {
  const json j = read_json_file(file);
  check_user(j.is_object(), file.string() + ": not a JSON object");
  check_user(j.contains("datasets") && j["datasets"].is_object(),
             file.string() + ": no `datasets` object (a run that finished no dataset?)");
  return run_report_from_json(j, file.string());
}

}  // namespace vlm
