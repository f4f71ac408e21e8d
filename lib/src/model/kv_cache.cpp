#include "vlm/model/kv_cache.h"

#include <cstdint>

#include "vlm/core/error.h"

namespace vlm {

KvCache::KvCache(const LoadedModel& model, int64_t capacity, int64_t batch)
    : capacity_(capacity), slots_(batch) {
  check_user(capacity > 0, "kv cache capacity must be > 0, got " + std::to_string(capacity));
  const LlmConfig& llm = model.manifest().llm;
  for (const LoadedUnit* layer : model.layers()) {
    auto opts = torch::TensorOptions().dtype(model.manifest().dtype).device(layer->device);
    keys_.push_back(torch::zeros({batch, capacity, llm.num_kv_heads, llm.head_dim}, opts));
    values_.push_back(torch::zeros({batch, capacity, llm.num_kv_heads, llm.head_dim}, opts));
  }
}

int64_t KvCache::bytes() const {
  int64_t total = 0;
  for (size_t i = 0; i < keys_.size(); ++i) total += keys_[i].nbytes() + values_[i].nbytes();
  return total;
}

std::map<std::string, int64_t> KvCache::bytes_by_device() const {
  std::map<std::string, int64_t> out;
  for (size_t i = 0; i < keys_.size(); ++i)
    out[keys_[i].device().str()] += keys_[i].nbytes() + values_[i].nbytes();
  return out;
}

}  // namespace vlm
