#include "vlm/model/rotary_tables.h"

#include <cstdint>

#include "vlm/core/error.h"
#include "vlm/model/device_handoff.h"

namespace vlm {

RotaryTables::RotaryTables(const LoadedModel& model, int64_t capacity) : capacity_(capacity) {
  const LlmConfig& llm = model.manifest().llm;
  check_user(capacity <= llm.max_position_embeddings,
             "capacity " + std::to_string(capacity) +
                 " exceeds the model's max_position_embeddings " +
                 std::to_string(llm.max_position_embeddings));
  auto f32 = torch::TensorOptions().dtype(torch::kFloat32);
  torch::Tensor exponent =
      torch::arange(0, llm.head_dim, 2, f32) / static_cast<double>(llm.head_dim);
  torch::Tensor inv_freq = 1.0 / torch::pow(llm.rope_theta, exponent);
  torch::Tensor t = torch::arange(capacity, f32);
  torch::Tensor freqs = torch::outer(t, inv_freq);
  torch::Tensor emb = torch::cat({freqs, freqs}, -1);
  torch::Tensor cos = emb.cos().to(model.manifest().dtype);
  torch::Tensor sin = emb.sin().to(model.manifest().dtype);
  for (const LoadedUnit* layer : model.layers()) {
    const std::string key = layer->device.str();
    if (!per_device_.count(key))
      per_device_[key] = {hand_off(cos, layer->device), hand_off(sin, layer->device)};
  }
}

std::pair<torch::Tensor, torch::Tensor> RotaryTables::rows(c10::Device device, int64_t pos,
                                                           int64_t len) const {
  auto it = per_device_.find(device.str());
  check_internal(it != per_device_.end(), "no rotary tables on " + device.str());
  check_internal(pos + len <= capacity_, "rotary rows past capacity");
  return {it->second.first.narrow(0, pos, len), it->second.second.narrow(0, pos, len)};
}

}  // namespace vlm
