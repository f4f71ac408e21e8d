// RoPE cos/sin tables, made once per run for its capacity and kept on every device with layers.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "vlm/model/loaded_model.h"

namespace vlm {

// The manifest's llm.rope_scaling as the runtime applies it (docs/model-format.md).
struct RopeScaling {
  // "none": plain RoPE. "dynamic" (InternLM2 dynamic NTK) changes the base only past
  // max_position_embeddings, which a capacity never exceeds, so it is plain RoPE here.
  // "longrope" (Phi-3 "su"/"longrope"): per-frequency factors and a cos/sin scale.
  std::string type = "none";
  std::vector<double> short_factor, long_factor;  // head_dim / 2 each
  int64_t original_max_position_embeddings = 0;
  double attention_factor = 1.0;
};

// Parses manifest "llm.rope_scaling" (null, dynamic or longrope); other types are UserErrors.
RopeScaling parse_rope_scaling(const nlohmann::json& llm, int64_t head_dim);

// cos/sin [rows, head_dim] of one regime, in float32 on the CPU: inv_freq = 1 / (factor *
// theta^(arange(0, hd, 2) / hd)) (factor 1 without LongRoPE), emb = cat(freqs, freqs), cos/sin
// times `scale`.
std::pair<torch::Tensor, torch::Tensor> rope_table(double theta, int64_t head_dim, int64_t rows,
                                                   const std::vector<double>& factor, double scale);

class RotaryTables {
 public:
  // cos/sin [capacity, head_dim]: computed in float32 on the CPU, cast to the model dtype, and
  // handed to each device that holds a decoder layer.
  //
  // LongRoPE (Phi-3): HF's Phi3SuScaledRotaryEmbedding picks the factors per forward call from
  // seq_len = max(position_ids) + 1: long_factor when seq_len > original_max_position_embeddings,
  // else short_factor, and keys already in the KV cache keep the rotation they were made with.
  // The runtime does the same for any capacity: it keeps both tables (short: the first
  // min(capacity, original_max) rows; long: `capacity` rows, only when capacity > original_max)
  // and rows(pos, len) takes them from the long table when pos + len > original_max, else from
  // the short one. So a prompt longer than original_max is prefilled with long factors, and a
  // generation that crosses it switches to long factors at the step whose position p has
  // p + 1 > original_max, exactly as HF generate() with a cache; the capacity changes nothing.
  RotaryTables(const LoadedModel& model, int64_t capacity);

  int64_t capacity() const { return capacity_; }
  const RopeScaling& scaling() const { return scaling_; }
  // Whether a forward call over positions [pos, pos + len) uses the long LongRoPE factors.
  bool uses_long_factors(int64_t pos, int64_t len) const;
  // Rows [pos, pos + len) of the tables on `device`: {cos, sin}, each [len, head_dim].
  std::pair<torch::Tensor, torch::Tensor> rows(c10::Device device, int64_t pos, int64_t len) const;
  // The rows of one-token calls at `positions` (int64 [B,1] on `device`, read on the device only):
  // {cos, sin}, each [B,1,head_dim], gathered from a table whose row p is what rows(p, 1) gives
  // (with LongRoPE: the short factors up to original_max, the long ones after), so a captured
  // decode step picks the right rows for any position. Bit-identical to rows(p, 1).
  std::pair<torch::Tensor, torch::Tensor> step_rows(c10::Device device,
                                                    const torch::Tensor& positions) const;

 private:
  struct Tables {
    torch::Tensor cos, sin, long_cos, long_sin;  // long_*: LongRoPE past original_max only
    torch::Tensor step_cos, step_sin;            // [capacity, head_dim]: row p = rows(p, 1)
  };
  int64_t capacity_;
  RopeScaling scaling_;
  std::map<std::string, Tables> per_device_;
};

}  // namespace vlm
