#include "vlm/model/model_forward.h"

#include <algorithm>
#include <cstdint>
#include <map>

#include "vlm/core/error.h"
#include "vlm/model/device_handoff.h"

namespace vlm {

ModelForward::ModelForward(std::shared_ptr<const LoadedModel> model, int64_t capacity)
    : model_(std::move(model)), rotary_(*model_, capacity) {}

torch::Tensor ModelForward::vision_input(const torch::Tensor& pixel_values) const {
  const Manifest& m = model_->manifest();
  const int64_t s = m.vision.image_size;
  check_user(pixel_values.dim() == 4 && pixel_values.size(1) == 3 && pixel_values.size(2) == s &&
                 pixel_values.size(3) == s,
             "pixel_values must be [N,3," + std::to_string(s) + "," + std::to_string(s) + "]");
  return hand_off(pixel_values, model_->vision().device).to(m.dtype);
}

torch::Tensor ModelForward::project_tiles(const torch::Tensor& tiles) const {
  const LoadedUnit& vision = model_->vision();
  torch::Tensor x = run_unit(vision, {tiles}).toTensor();  // [N, 256, 4C]
  const LoadedUnit& projector = model_->projector();
  return run_unit(projector, {hand_off(x, projector.device)}).toTensor();  // [N, 256, H]
}

torch::Tensor ModelForward::image_embeddings(const torch::Tensor& projected) const {
  const torch::Tensor x = hand_off(projected, model_->embedding().device);
  return x.reshape({-1, x.size(-1)});
}

torch::Tensor ModelForward::encode_images(const torch::Tensor& pixel_values) const {
  return image_embeddings(project_tiles(vision_input(pixel_values)));
}

torch::Tensor ModelForward::embed_tokens(const torch::Tensor& ids) const {
  const LoadedUnit& emb = model_->embedding();
  return run_unit(emb, {hand_off(ids, emb.device)}).toTensor();
}

ModelForward::PromptTokens ModelForward::stage_prompt(const torch::Tensor& ids) const {
  check_internal(ids.device().is_cpu() && ids.dim() == 2 && ids.size(0) == 1,
                 "stage_prompt takes ids [1,T] on the CPU");
  const c10::Device device = model_->embedding().device;
  const torch::Tensor rows = (ids[0] == model_->manifest().img_context_id).nonzero().squeeze(1);
  PromptTokens p;
  p.ids = upload(ids, device);
  p.image_rows = upload(rows, device);
  p.image_tokens = rows.size(0);
  return p;
}

torch::Tensor ModelForward::embed(const PromptTokens& prompt,
                                  const torch::Tensor& image_embeds) const {
  torch::Tensor x = embed_tokens(prompt.ids);  // [1, T, H]
  const int64_t n_img = image_embeds.defined() ? image_embeds.size(0) : 0;
  check_user(prompt.image_tokens == n_img, "prompt has " + std::to_string(prompt.image_tokens) +
                                               " <IMG_CONTEXT> tokens but the images give " +
                                               std::to_string(n_img) + " embeddings");
  if (n_img > 0) x[0].index_copy_(0, prompt.image_rows, image_embeds.to(x.dtype()));
  return x;
}

int64_t ModelForward::attend_length(c10::Device device, int64_t pos, int64_t t, int64_t capacity) {
  return t == 1 && device.is_cuda() ? capacity : pos + t;
}

namespace {

// Keys or values of one layer: every slot (slot < 0) or the one row `slot` (a view).
torch::Tensor cache_rows(const torch::Tensor& all, int64_t slot) {
  return slot < 0 ? all : all.narrow(0, slot, 1);
}

}  // namespace

torch::Tensor ModelForward::decode_layers(torch::Tensor hidden, KvCache& cache, int64_t pos,
                                          int64_t slot, size_t first, size_t last) const {
  check_internal(slot >= 0 && slot < cache.slots(), "decode_layers: no such cache slot");
  const auto& layers = model_->layers();
  last = std::min(last, layers.size());
  check_internal(first <= last, "decode_layers: bad layer range");
  const int64_t t = hidden.size(1);
  const int64_t s = pos + t;
  check_user(s <= cache.capacity() && s <= rotary_.capacity(),
             "sequence of " + std::to_string(s) + " tokens exceeds the KV-cache capacity " +
                 std::to_string(cache.capacity()));
  // Positions [1,T] per device, made there (arange: no host copy), once per call; the causal mask
  // is the unit's own business (format version 2).
  std::map<std::string, torch::Tensor> positions_on;
  for (size_t i = first; i < last; ++i) {
    const LoadedUnit& layer = *layers[i];
    hidden = hand_off(hidden, layer.device);
    torch::Tensor& positions = positions_on[layer.device.str()];
    if (!positions.defined())
      positions =
          torch::arange(pos, s, torch::dtype(torch::kInt64).device(layer.device)).unsqueeze(0);
    auto [cos, sin] = rotary_.rows(layer.device, pos, t);
    const int64_t attend = attend_length(layer.device, pos, t, cache.capacity());
    hidden = run_unit(layer,
                      {hidden, cos.unsqueeze(0), sin.unsqueeze(0), positions,
                       cache_rows(cache.keys(i), slot), cache_rows(cache.values(i), slot), attend})
                 .toTensor();
  }
  return hidden;
}

torch::Tensor ModelForward::prefill_layers(torch::Tensor hidden, KvCache& cache,
                                           const torch::Tensor& slot, size_t first,
                                           size_t last) const {
  const auto& layers = model_->layers();
  check_internal(first < last && last <= layers.size(), "prefill_layers: bad layer range");
  const c10::Device device = layers[first]->device;
  check_internal(hidden.device() == device && slot.device() == device && slot.numel() == 1,
                 "prefill_layers: hidden and slot must be on the layers' device");
  const int64_t t = hidden.size(1);
  check_user(t <= cache.capacity() && t <= rotary_.capacity(),
             "sequence of " + std::to_string(t) + " tokens exceeds the KV-cache capacity " +
                 std::to_string(cache.capacity()));
  const torch::Tensor positions =
      torch::arange(t, torch::dtype(torch::kInt64).device(device)).unsqueeze(0);
  auto [cos, sin] = rotary_.rows(device, 0, t);
  const int64_t attend = attend_length(device, 0, t, t);  // decode_layers' for a prefill: t
  for (size_t i = first; i < last; ++i) {
    const LoadedUnit& layer = *layers[i];
    check_internal(layer.device == device, "prefill_layers: layers on several devices");
    const torch::Tensor& keys = cache.keys(i);  // [slots, Cap, nkv, hd]
    const torch::Tensor& values = cache.values(i);
    torch::Tensor k = torch::empty({1, t, keys.size(2), keys.size(3)}, keys.options());
    torch::Tensor v = torch::empty({1, t, values.size(2), values.size(3)}, values.options());
    hidden = run_unit(layer, {hidden, cos.unsqueeze(0), sin.unsqueeze(0), positions, k, v, attend})
                 .toTensor();
    keys.narrow(1, 0, t).index_copy_(0, slot, k);
    values.narrow(1, 0, t).index_copy_(0, slot, v);
  }
  return hidden;
}

torch::Tensor ModelForward::step_layers(torch::Tensor hidden, KvCache& cache,
                                        const torch::Tensor& positions, int64_t attend,
                                        size_t first, size_t last, int64_t slot) const {
  const auto& layers = model_->layers();
  check_internal(first <= last && last <= layers.size(), "step_layers: bad layer range");
  check_internal(
      slot < cache.slots() && (slot < 0 ? hidden.size(0) >= cache.slots() : hidden.size(0) == 1),
      "step_layers: rows do not match the cache's slots");
  if (first == last) return hidden;
  const c10::Device device = layers[first]->device;
  auto [cos, sin] = rotary_.step_rows(device, positions);
  for (size_t i = first; i < last; ++i) {
    const LoadedUnit& layer = *layers[i];
    check_internal(layer.device == device, "step_layers: layers on several devices");
    hidden = run_unit(layer, {hidden, cos, sin, positions, cache_rows(cache.keys(i), slot),
                              cache_rows(cache.values(i), slot), attend})
                 .toTensor();
  }
  return hidden;
}

int64_t ModelForward::prefill_length(int64_t tokens, int64_t bucket, int64_t capacity) const {
  if (bucket <= 0) return tokens;
  const int64_t padded = std::min((tokens + bucket - 1) / bucket * bucket, capacity);
  if (padded <= tokens) return tokens;
  if (rotary_.uses_long_factors(0, padded) != rotary_.uses_long_factors(0, tokens)) return tokens;
  return padded;
}

torch::Tensor ModelForward::head_logits(const torch::Tensor& hidden, int64_t row) const {
  check_internal(row < hidden.size(1), "head_logits: no such row");
  torch::Tensor last = hidden.narrow(1, row < 0 ? hidden.size(1) - 1 : row, 1);  // [B,1,H]
  const LoadedUnit& norm = model_->norm();
  last = run_unit(norm, {hand_off(last, norm.device)}).toTensor();
  const LoadedUnit& head = model_->head();
  return run_unit(head, {hand_off(last, head.device)}).toTensor();  // [B,1,V]
}

torch::Tensor ModelForward::last_logits(const torch::Tensor& hidden) const {
  return head_logits(hidden).reshape({-1});
}

}  // namespace vlm
