// The forward pass of an InternVL2 model across its placement: images, embeddings, layers, head.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>

#include "vlm/model/kv_cache.h"
#include "vlm/model/loaded_model.h"
#include "vlm/model/rotary_tables.h"

namespace vlm {

class ModelForward {
 public:
  // Positions up to `capacity` (prompt + generated tokens) can be processed.
  ModelForward(std::shared_ptr<const LoadedModel> model, int64_t capacity);

  const LoadedModel& model() const { return *model_; }
  int64_t capacity() const { return rotary_.capacity(); }

  // pixel_values [N,3,S,S] float32 (any device) -> image embeddings [N*256, H] in the model dtype
  // on the embedding unit's device: vision_model (with pixel shuffle), then mlp1.
  torch::Tensor encode_images(const torch::Tensor& pixel_values) const;

  // ids [1,T] int64 -> input embeddings [1,T,H] on the embedding unit's device, with the rows at
  // <IMG_CONTEXT> positions replaced, in order, by the rows of `image_embeds` (undefined when the
  // prompt has no image). The count of <IMG_CONTEXT> ids must equal image_embeds.size(0).
  torch::Tensor embed(const torch::Tensor& ids, const torch::Tensor& image_embeds) const;

  // ids [1,T] int64 -> embeddings [1,T,H] on the embedding unit's device, no image merge (decode
  // steps: a generated <IMG_CONTEXT> id is an ordinary token there).
  torch::Tensor embed_tokens(const torch::Tensor& ids) const;

  // Runs every decoder layer on hidden [1,T,H] at positions [pos, pos+T), writing keys and values
  // into `cache`. Returns [1,T,H] on the last layer's device.
  torch::Tensor decode_layers(torch::Tensor hidden, KvCache& cache, int64_t pos) const;

  // Final norm and head on the last position of hidden [1,T,H] -> logits [V] float32 on the
  // head's device.
  torch::Tensor last_logits(const torch::Tensor& hidden) const;

 private:
  std::shared_ptr<const LoadedModel> model_;
  RotaryTables rotary_;
};

}  // namespace vlm
