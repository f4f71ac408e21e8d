// The exported model's manifest.json (docs/model-format.md), read and validated.
#pragma once

#include <c10/core/ScalarType.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vlm {

// What a placement unit computes; each kind has one forward signature (docs/model-format.md).
enum class UnitKind { kVision, kProjector, kEmbedding, kDecoderLayer, kNorm, kHead };

const char* to_string(UnitKind kind);

// One TorchScript archive: the smallest thing that is never split across devices.
struct UnitSpec {
  std::string name;            // checkpoint module name, e.g. "language_model.model.layers.3"
  UnitKind kind;               //
  std::filesystem::path file;  // absolute path of the .pt archive
  int64_t param_bytes = 0;     // parameters + buffers, in the manifest dtype
  int layer = -1;              // decoder layer index, -1 for other kinds
  std::string sha256;          // lowercase hex SHA-256 of the file; empty: not recorded
};

// Language-model hyper-parameters (manifest "llm").
struct LlmConfig {
  std::string architecture;  // e.g. "InternLM2ForCausalLM"
  int64_t hidden_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t vocab_size = 0;
  double rope_theta = 10000.0;
  int64_t max_position_embeddings = 0;
};

// Vision-side constants the runtime needs (manifest "vision").
struct VisionConfig {
  int64_t image_size = 448;
  int64_t num_image_token = 256;  // LLM tokens per tile after pixel shuffle
};

struct Manifest {
  std::filesystem::path dir;  // the model directory the manifest was read from
  int format_version = 0;
  std::string name;           // model name, e.g. "InternVL2-8B"
  std::string family;         // internlm2 | llama | qwen2 | phi3
  c10::ScalarType dtype;      // dtype of every unit's weights
  std::string torch_version;  // the exporting torch
  bool config_only = false;   // written by --config-only: units and bytes, no weights or tokenizer
  std::vector<UnitSpec> units;  // in execution order
  std::vector<std::vector<std::string>> tied_groups;
  LlmConfig llm;
  VisionConfig vision;
  int64_t img_start_id = -1;    // <img>
  int64_t img_end_id = -1;      // </img>
  int64_t img_context_id = -1;  // <IMG_CONTEXT>
  std::vector<int64_t> stop_ids;
  nlohmann::json tokenizer;      // parsed by the text area (TokenizerSpec)
  nlohmann::json chat_template;  // parsed by the text area (ChatTemplate)
  nlohmann::json preprocess;     // parsed by the vision area
  nlohmann::json raw;            // the whole file, for run.json
  // Other model files (tokenizer files) with their SHA-256: manifest "files", {relative path: hex}.
  // Paths are absolute here, inside `dir`.
  std::map<std::filesystem::path, std::string> file_sha256;

  // The unit of `kind` (vision, projector, embedding, norm, head); throws if absent.
  const UnitSpec& unit(UnitKind kind) const;
  // Decoder layer units in layer order.
  std::vector<const UnitSpec*> decoder_layers() const;
};

// Reads and validates {model_dir}/manifest.json. Errors name the file and the field. A config-only
// manifest (exporter --config-only) is accepted: it can be planned, not loaded.
Manifest load_manifest(const std::filesystem::path& model_dir);

// The text of a manifest.json parsed and validated as load_manifest does, without touching the
// file system (unit files are not checked for existence): the entry point the fuzzer drives.
// Unit and file paths resolve under `model_dir` and may not leave it ('..', absolute paths:
// UserError). `where` names the text in errors.
Manifest parse_manifest_json(std::string_view text, const std::filesystem::path& model_dir,
                             const std::string& where);

// "float32" | "bfloat16" | "float16" -> dtype; anything else is a UserError naming `where`.
c10::ScalarType parse_dtype(const std::string& name, const std::string& where);
// The manifest's name of a dtype (the inverse of parse_dtype); c10's name for any other dtype.
std::string dtype_name(c10::ScalarType dtype);

}  // namespace vlm
