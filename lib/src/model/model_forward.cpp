#include "vlm/model/model_forward.h"

#include <cstdint>
#include <limits>
#include <map>

#include "vlm/core/error.h"
#include "vlm/model/device_handoff.h"

namespace vlm {

ModelForward::ModelForward(std::shared_ptr<const LoadedModel> model, int64_t capacity)
    : model_(std::move(model)), rotary_(*model_, capacity) {}

torch::Tensor ModelForward::encode_images(const torch::Tensor& pixel_values) const {
  const Manifest& m = model_->manifest();
  const int64_t s = m.vision.image_size;
  check_user(pixel_values.dim() == 4 && pixel_values.size(1) == 3 && pixel_values.size(2) == s &&
                 pixel_values.size(3) == s,
             "pixel_values must be [N,3," + std::to_string(s) + "," + std::to_string(s) + "]");
  const LoadedUnit& vision = model_->vision();
  torch::Tensor x = hand_off(pixel_values, vision.device).to(m.dtype);
  x = run_unit(vision, {x}).toTensor();  // [N, 256, 4C]
  const LoadedUnit& projector = model_->projector();
  x = run_unit(projector, {hand_off(x, projector.device)}).toTensor();  // [N, 256, H]
  x = hand_off(x, model_->embedding().device);
  return x.reshape({-1, x.size(-1)});
}

torch::Tensor ModelForward::embed_tokens(const torch::Tensor& ids) const {
  const LoadedUnit& emb = model_->embedding();
  return run_unit(emb, {hand_off(ids, emb.device)}).toTensor();
}

torch::Tensor ModelForward::embed(const torch::Tensor& ids,
                                  const torch::Tensor& image_embeds) const {
  torch::Tensor ids_dev = hand_off(ids, model_->embedding().device);
  torch::Tensor x = embed_tokens(ids_dev);  // [1, T, H]
  torch::Tensor positions = (ids_dev[0] == model_->manifest().img_context_id).nonzero().squeeze(1);
  const int64_t n_ctx = positions.size(0);
  const int64_t n_img = image_embeds.defined() ? image_embeds.size(0) : 0;
  check_user(n_ctx == n_img, "prompt has " + std::to_string(n_ctx) +
                                 " <IMG_CONTEXT> tokens but the images give " +
                                 std::to_string(n_img) + " embeddings");
  if (n_img > 0) x[0].index_copy_(0, positions, image_embeds.to(x.dtype()));
  return x;
}

torch::Tensor ModelForward::decode_layers(torch::Tensor hidden, KvCache& cache, int64_t pos) const {
  const int64_t t = hidden.size(1);
  const int64_t s = pos + t;
  check_user(s <= cache.capacity() && s <= rotary_.capacity(),
             "sequence of " + std::to_string(s) + " tokens exceeds the KV-cache capacity " +
                 std::to_string(cache.capacity()));
  // Causal mask [T, S], additive float32: 0 where key s' <= pos + t', min elsewhere. None for T
  // == 1.
  torch::Tensor mask_cpu;
  if (t > 1) {
    auto f32 = torch::TensorOptions().dtype(torch::kFloat32);
    torch::Tensor q_pos = torch::arange(pos, s, torch::kInt64).unsqueeze(1);
    torch::Tensor k_pos = torch::arange(0, s, torch::kInt64).unsqueeze(0);
    mask_cpu =
        torch::zeros({t, s}, f32).masked_fill_(k_pos > q_pos, std::numeric_limits<float>::lowest());
  }
  std::map<std::string, torch::Tensor> mask_on;  // one copy per device, made once per call
  const auto& layers = model_->layers();
  for (size_t i = 0; i < layers.size(); ++i) {
    const LoadedUnit& layer = *layers[i];
    hidden = hand_off(hidden, layer.device);
    auto [cos, sin] = rotary_.rows(layer.device, pos, t);
    torch::jit::IValue mask;  // None
    if (mask_cpu.defined()) {
      auto& m = mask_on[layer.device.str()];
      if (!m.defined()) m = hand_off(mask_cpu, layer.device);
      mask = m;
    }
    hidden =
        run_unit(layer, {hidden, cos, sin, mask, cache.keys(i), cache.values(i), pos}).toTensor();
  }
  return hidden;
}

torch::Tensor ModelForward::last_logits(const torch::Tensor& hidden) const {
  torch::Tensor last = hidden.narrow(1, hidden.size(1) - 1, 1);  // [1,1,H]
  const LoadedUnit& norm = model_->norm();
  last = run_unit(norm, {hand_off(last, norm.device)}).toTensor();
  const LoadedUnit& head = model_->head();
  torch::Tensor logits = run_unit(head, {hand_off(last, head.device)}).toTensor();  // [1,1,V]
  return logits.reshape({-1});
}

}  // namespace vlm
