#include "vlm/model/manifest.h"

#include <cstdint>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <type_traits>

#include "vlm/core/error.h"
#include "vlm/core/json_int.h"
#include "vlm/data/confined_path.h"

namespace vlm {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// 2: capture-friendly decoder layers (positions as a device tensor, cache [B,Cap,nkv,hd], the
// causal mask made inside the unit); 1: host positions and a [T,S] mask from the runtime.
constexpr int kFormatVersion = 3;

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
    // Integers must be JSON integers in range: nlohmann's get<int>() casts floats and wide
    // values without checking (undefined behaviour for 1e300).
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      return integer<T>(v, join(path, key));
    } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
      check_user(v.is_array(), file_ + ": field " + join(path, key) + " must be a list");
      std::vector<int64_t> out;
      for (size_t i = 0; i < v.size(); ++i)
        out.push_back(integer<int64_t>(v[i], join(path, key) + "[" + std::to_string(i) + "]"));
      return out;
    }
    try {
      return v.get<T>();
    } catch (const json::exception& e) {
      throw UserError(file_ + ": field " + join(path, key) + " has the wrong type (" +
                      v.type_name() + ")");
    }
  }

  template <typename T>
  T integer(const json& v, const std::string& name) const {
    const std::optional<T> x = json_integer<T>(v);
    check_user(x.has_value(), file_ + ": field " + name + " must be an integer in range, got " +
                                  v.dump().substr(0, 40));
    return *x;
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

// A path from the manifest, made absolute under the model directory; '..', absolute paths and
// empty names are refused (a manifest may only name files inside its own directory).
fs::path inside_model_dir(const fs::path& dir, const std::string& rel, const std::string& where) {
  const fs::path p(rel);
  check_user(!rel.empty(), where + ": empty path");
  check_user(!p.has_root_path(), where + ": '" + rel +
                                     "' is an absolute path; manifest paths are relative to the "
                                     "model directory");
  for (const auto& part : p)
    check_user(part != "..", where + ": '" + rel + "' leaves the model directory ('..')");
  return dir / p;
}

// A SHA-256 as 64 hex digits, lowercased.
std::string checked_sha256(std::string hex, const std::string& where) {
  bool ok = hex.size() == 64;
  for (char& c : hex) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    ok = ok && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  }
  check_user(ok, where + ": not a SHA-256 (64 hex digits): '" + hex.substr(0, 80) + "'");
  return hex;
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

std::string dtype_name(c10::ScalarType dtype) {
  switch (dtype) {
    case c10::ScalarType::Float:
      return "float32";
    case c10::ScalarType::BFloat16:
      return "bfloat16";
    case c10::ScalarType::Half:
      return "float16";
    default:
      return c10::toString(dtype);
  }
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
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  check_user(!in.bad(), where + ": cannot read the file");
  Manifest m = parse_manifest_json(text.str(), model_dir, where);
  // A file reached through a symbolic link that leads out of the model directory is refused as
  // '..' is: the manifest (and its hashes) vouch only for files inside it.
  auto confined = [&](const fs::path& file, const std::string& what) {
    resolve_inside(m.dir, file.lexically_relative(m.dir).string(), where + ": " + what);
  };
  for (const auto& u : m.units) {
    if (m.config_only) break;
    confined(u.file, "unit " + u.name + ": file");
    check_user(fs::is_regular_file(u.file),
               where + ": unit " + u.name + ": file " + u.file.string() + " does not exist");
  }
  for (const auto& [file, hash] : m.file_sha256) confined(file, "files");
  if (m.tokenizer.is_object() && m.tokenizer.contains("file") && m.tokenizer["file"].is_string())
    resolve_inside(m.dir, m.tokenizer["file"].get<std::string>(), where + ": tokenizer.file");
  return m;
}

Manifest parse_manifest_json(std::string_view text, const fs::path& model_dir,
                             const std::string& where) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {  // parse_error, and out_of_range 406 (1e972028)
    throw UserError(where + ": not valid JSON: " + e.what());
  }
  check_user(j.is_object(), where + ": not a JSON object");
  Reader r(where);
  Manifest m;
  m.dir = fs::absolute(model_dir);
  m.raw = j;
  m.format_version = r.value<int>(j, "format_version", "");
  check_user(m.format_version == kFormatVersion,
             where + ": format_version " + std::to_string(m.format_version) +
                 " is not supported (this build reads version " + std::to_string(kFormatVersion) +
                 "); re-export the model from its checkpoint with scripts/export_internvl2.py "
                 "(docs/model-format.md)");
  m.name = r.value<std::string>(j, "name", "");
  m.family = r.value<std::string>(j, "family", "");
  m.dtype = parse_dtype(r.value<std::string>(j, "dtype", ""), where + ": dtype");
  if (j.contains("torch_version")) m.torch_version = r.value<std::string>(j, "torch_version", "");
  if (j.contains("config_only")) m.config_only = r.value<bool>(j, "config_only", "");

  const json& units = r.get(j, "units", "");
  check_user(units.is_array() && !units.empty(), where + ": units must be a non-empty list");
  for (size_t i = 0; i < units.size(); ++i) {
    const std::string path = "units[" + std::to_string(i) + "]";
    UnitSpec u;
    u.name = r.value<std::string>(units[i], "name", path);
    u.kind = parse_kind(r.value<std::string>(units[i], "kind", path), where + ": " + path);
    u.file = inside_model_dir(m.dir, r.value<std::string>(units[i], "file", path),
                              where + ": " + path + ".file");
    u.param_bytes = r.value<int64_t>(units[i], "param_bytes", path);
    check_user(u.param_bytes >= 0, where + ": " + path + ".param_bytes is negative");
    if (units[i].contains("sha256"))
      u.sha256 = checked_sha256(r.value<std::string>(units[i], "sha256", path),
                                where + ": " + path + ".sha256");
    if (u.kind == UnitKind::kDecoderLayer) u.layer = r.value<int>(units[i], "layer", path);
    m.units.push_back(std::move(u));
  }
  if (j.contains("tied_groups"))
    m.tied_groups = r.value<std::vector<std::vector<std::string>>>(j, "tied_groups", "");
  if (j.contains("files")) {
    const json& files = j["files"];
    check_user(files.is_object(), where + ": files must be an object {relative path: sha256}");
    for (const auto& [name, hash] : files.items()) {
      const std::string field = where + ": files[\"" + name + "\"]";
      check_user(hash.is_string(), field + " must be a sha256 hex string");
      m.file_sha256[inside_model_dir(m.dir, name, field)] =
          checked_sha256(hash.get<std::string>(), field);
    }
  }

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
  check_user(m.llm.num_heads > 0 && m.llm.num_kv_heads > 0 && m.llm.head_dim > 0,
             where + ": llm.num_heads, llm.num_kv_heads and llm.head_dim must be > 0");
  check_user(m.llm.num_heads % m.llm.num_kv_heads == 0,
             where + ": llm.num_heads must be a multiple of llm.num_kv_heads");
  return m;
}

}  // namespace vlm
