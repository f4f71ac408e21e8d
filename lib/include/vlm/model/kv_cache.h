// The per-layer key/value cache of one generation session, each layer's beside that layer.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "vlm/model/loaded_model.h"

namespace vlm {

class KvCache {
 public:
  // Allocates, for every decoder layer, keys and values [batch, capacity, kv_heads, head_dim] in
  // the model dtype on the layer's device (format version 2: token-major, so that a row's cache is
  // one [capacity, kv_heads, head_dim] block for flash attention's varlen form). Layers write into
  // them in place, at device-side positions; the tensors never move or grow, so a captured decode
  // step keeps pointing at them.
  KvCache(const LoadedModel& model, int64_t capacity, int64_t batch = 1);

  int64_t capacity() const { return capacity_; }
  // Rows (sequences held at once): the batch it was made for.
  int64_t slots() const { return slots_; }
  const torch::Tensor& keys(size_t layer) const { return keys_[layer]; }
  const torch::Tensor& values(size_t layer) const { return values_[layer]; }
  // Bytes held on all devices.
  int64_t bytes() const;
  // Bytes held per device ("cuda:0" -> bytes), for comparison with the placement plan.
  std::map<std::string, int64_t> bytes_by_device() const;

 private:
  int64_t capacity_;
  int64_t slots_;
  std::vector<torch::Tensor> keys_;
  std::vector<torch::Tensor> values_;
};

}  // namespace vlm
