// RoPE cos/sin tables, made once per run for its capacity and kept on every device with layers.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "vlm/model/loaded_model.h"

namespace vlm {

class RotaryTables {
 public:
  // cos/sin [capacity, head_dim]: inv_freq = 1 / theta^(arange(0, hd, 2) / hd), emb =
  // cat(freqs, freqs), computed in float32 on the CPU, cast to the model dtype, and handed to
  // each device that holds a decoder layer.
  RotaryTables(const LoadedModel& model, int64_t capacity);

  int64_t capacity() const { return capacity_; }
  // Rows [pos, pos + len) of the tables on `device`: {cos, sin}, each [len, head_dim].
  std::pair<torch::Tensor, torch::Tensor> rows(c10::Device device, int64_t pos, int64_t len) const;

 private:
  int64_t capacity_;
  std::map<std::string, std::pair<torch::Tensor, torch::Tensor>> per_device_;
};

}  // namespace vlm
