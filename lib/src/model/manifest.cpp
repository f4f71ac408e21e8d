#include "vlm/model/manifest.h"

#include <cstdint>
#include <fstream>
#include <map>

#include "vlm/core/error.h"

namespace vlm {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int kFormatVersion = 1;

// Field access that names the file and the field path on failure.
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  const json& get(const json& obj, const std::string& key, const std::string& path) const {
    check_user(obj.is_object(), file_ + ": " + path + " must be an object");
    auto it = obj.find(key);
    check_user(it != obj.end(), file_ + ": field " + join(path, key) + " is missing");
    return *it;
  }

  template <typename T>
  T value(const json& obj, const std::string& key, const std::string& path) const {
    const json& v = get(obj, key, path);
    try {
      return v.get<T>();
    } catch (const json::exception& e) {
      throw UserError(file_ + ": field " + join(path, key) + " has the wrong type (" +
                      v.type_name() + ")");
    }
  }

  static std::string join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }

 private:
  std::string file_;
};

UnitKind parse_kind(const std::string& s, const std::string& where) {
  static const std::map<std::string, UnitKind> kinds = {
      {"vision", UnitKind::kVision},       {"projector", UnitKind::kProjector},
      {"embedding", UnitKind::kEmbedding}, {"decoder_layer", UnitKind::kDecoderLayer},
      {"norm", UnitKind::kNorm},           {"head", UnitKind::kHead}};
  auto it = kinds.find(s);
  check_user(it != kinds.end(), where + ": unknown unit kind '" + s + "'");
  return it->second;
}

}  // namespace

const char* to_string(UnitKind kind) {
  switch (kind) {
    case UnitKind::kVision:
      return "vision";
    case UnitKind::kProjector:
      return "projector";
    case UnitKind::kEmbedding:
      return "embedding";
    case UnitKind::kDecoderLayer:
      return "decoder_layer";
    case UnitKind::kNorm:
      return "norm";
    case UnitKind::kHead:
      return "head";
  }
  return "?";
}

c10::ScalarType parse_dtype(const std::string& name, const std::string& where) {
  if (name == "float32") return c10::ScalarType::Float;
  if (name == "bfloat16") return c10::ScalarType::BFloat16;
  if (name == "float16") return c10::ScalarType::Half;
  throw UserError(where + ": unknown dtype '" + name + "' (expected float32, bfloat16 or float16)");
}

const UnitSpec& Manifest::unit(UnitKind kind) const {
  for (const auto& u : units)
    if (u.kind == kind) return u;
  throw UserError((dir / "manifest.json").string() + ": no unit of kind " + to_string(kind));
}

std::vector<const UnitSpec*> Manifest::decoder_layers() const {
  std::vector<const UnitSpec*> layers;
  for (const auto& u : units)
    if (u.kind == UnitKind::kDecoderLayer) layers.push_back(&u);
  return layers;
}

Manifest load_manifest(const fs::path& model_dir) {
  const fs::path file = model_dir / "manifest.json";
  const std::string where = file.string();
  check_user(fs::is_directory(model_dir),
             "model directory " + model_dir.string() +
                 " does not exist (export one with "
                 "scripts/export_internvl2.py --checkpoint DIR --out " +
                 model_dir.string() + ")");
  check_user(fs::is_regular_file(file), where + " does not exist: " + model_dir.string() +
                                            " is not an exported model directory");
  std::ifstream in(file);
  json j;
  try {
    j = json::parse(in);
  } catch (const json::parse_error& e) {
    throw UserError(where + ": not valid JSON: " + e.what());
  }
  Reader r(where);
  Manifest m;
  m.dir = fs::absolute(model_dir);
  m.raw = j;
  m.format_version = r.value<int>(j, "format_version", "");
  check_user(m.format_version == kFormatVersion,
             where + ": format_version " + std::to_string(m.format_version) +
                 " is not supported (this build reads version " + std::to_string(kFormatVersion) +
                 "); re-export the model");
  m.name = r.value<std::string>(j, "name", "");
  m.family = r.value<std::string>(j, "family", "");
  m.dtype = parse_dtype(r.value<std::string>(j, "dtype", ""), where + ": dtype");
  m.torch_version = j.value("torch_version", "");
  m.config_only = j.value("config_only", false);

  const json& units = r.get(j, "units", "");
  check_user(units.is_array() && !units.empty(), where + ": units must be a non-empty list");
  for (size_t i = 0; i < units.size(); ++i) {
    const std::string path = "units[" + std::to_string(i) + "]";
    UnitSpec u;
    u.name = r.value<std::string>(units[i], "name", path);
    u.kind = parse_kind(r.value<std::string>(units[i], "kind", path), where + ": " + path);
    u.file = m.dir / r.value<std::string>(units[i], "file", path);
    u.param_bytes = r.value<int64_t>(units[i], "param_bytes", path);
    if (u.kind == UnitKind::kDecoderLayer) u.layer = r.value<int>(units[i], "layer", path);
    m.units.push_back(std::move(u));
  }
  if (j.contains("tied_groups"))
    m.tied_groups = j["tied_groups"].get<std::vector<std::vector<std::string>>>();

  const json& llm = r.get(j, "llm", "");
  m.llm.architecture = r.value<std::string>(llm, "architecture", "llm");
  m.llm.hidden_size = r.value<int64_t>(llm, "hidden_size", "llm");
  m.llm.num_layers = r.value<int64_t>(llm, "num_layers", "llm");
  m.llm.num_heads = r.value<int64_t>(llm, "num_heads", "llm");
  m.llm.num_kv_heads = r.value<int64_t>(llm, "num_kv_heads", "llm");
  m.llm.head_dim = r.value<int64_t>(llm, "head_dim", "llm");
  m.llm.vocab_size = r.value<int64_t>(llm, "vocab_size", "llm");
  m.llm.rope_theta = r.value<double>(llm, "rope_theta", "llm");
  m.llm.max_position_embeddings = r.value<int64_t>(llm, "max_position_embeddings", "llm");

  const json& vision = r.get(j, "vision", "");
  m.vision.image_size = r.value<int64_t>(vision, "image_size", "vision");
  m.vision.num_image_token = r.value<int64_t>(vision, "num_image_token", "vision");

  if (!m.config_only) {
    const json& special = r.get(j, "special_tokens", "");
    m.img_start_id = r.value<int64_t>(special, "img_start", "special_tokens");
    m.img_end_id = r.value<int64_t>(special, "img_end", "special_tokens");
    m.img_context_id = r.value<int64_t>(special, "img_context", "special_tokens");
    m.stop_ids = r.value<std::vector<int64_t>>(j, "stop_ids", "");
    check_user(!m.stop_ids.empty(), where + ": stop_ids is empty");
    m.tokenizer = r.get(j, "tokenizer", "");
    m.chat_template = r.get(j, "template", "");
    m.preprocess = r.get(j, "preprocess", "");
  }

  // Structure: exactly one of each non-layer kind, layers 0..L-1 in order, files present.
  for (UnitKind k : {UnitKind::kVision, UnitKind::kProjector, UnitKind::kEmbedding, UnitKind::kNorm,
                     UnitKind::kHead}) {
    int n = 0;
    for (const auto& u : m.units) n += u.kind == k;
    check_user(n == 1, where + ": expected exactly one unit of kind " + to_string(k) + ", found " +
                           std::to_string(n));
  }
  const auto layers = m.decoder_layers();
  check_user(static_cast<int64_t>(layers.size()) == m.llm.num_layers,
             where + ": " + std::to_string(layers.size()) +
                 " decoder_layer units but llm.num_layers is " + std::to_string(m.llm.num_layers));
  for (size_t i = 0; i < layers.size(); ++i)
    check_user(layers[i]->layer == static_cast<int>(i),
               where + ": decoder layer units out of order at " + layers[i]->name);
  for (const auto& u : m.units)
    check_user(m.config_only || fs::is_regular_file(u.file),
               where + ": unit " + u.name + ": file " + u.file.string() + " does not exist");
  check_user(m.llm.num_heads % m.llm.num_kv_heads == 0,
             where + ": llm.num_heads must be a multiple of llm.num_kv_heads");
  return m;
}

}  // namespace vlm
