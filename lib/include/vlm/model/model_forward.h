// The forward pass of an InternVL2 model across its placement: images, embeddings, layers, head.
#pragma once

#include <torch/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "vlm/model/kv_cache.h"
#include "vlm/model/loaded_model.h"
#include "vlm/model/rotary_tables.h"

namespace vlm {

class ModelForward {
 public:
  // Rows of every decode step on a CUDA device: the items in flight (at most this many, the
  // largest --batch-size) padded up to it, so that each matmul and attention call of a step has
  // one shape whatever the batch, and an item's result never depends on how many others are
  // decoded beside it (batch invariance, ../shared/reference/fast-decoding.md §3.3).
  static constexpr int64_t kDecodeRows = 32;

  // Positions up to `capacity` (prompt + generated tokens) can be processed.
  ModelForward(std::shared_ptr<const LoadedModel> model, int64_t capacity);

  const LoadedModel& model() const { return *model_; }
  int64_t capacity() const { return rotary_.capacity(); }

  // pixel_values [N,3,S,S] float32 (any device) -> image embeddings [N*256, H] in the model dtype
  // on the embedding unit's device: vision_model (with pixel shuffle), then mlp1.
  torch::Tensor encode_images(const torch::Tensor& pixel_values) const;
  // encode_images() in its three steps, for a caller that runs the middle one otherwise (replayed
  // from a CUDA graph, generate/vision_graphs.h) on the same shapes and kernels:
  // pixel_values checked and handed to the vision unit's device in the model dtype [N,3,S,S];
  torch::Tensor vision_input(const torch::Tensor& pixel_values) const;
  // those tiles through the vision unit and the projector -> [N,256,H] on the projector's device
  // (nothing else: no host copy, no synchronisation, so a CUDA call can be captured);
  torch::Tensor project_tiles(const torch::Tensor& tiles) const;
  // and that output on the embedding unit's device as rows [N*256, H].
  torch::Tensor image_embeddings(const torch::Tensor& projected) const;

  // A prompt's ids on the embedding unit's device, with the rows of its <IMG_CONTEXT> tokens
  // found on the host (no device nonzero()). Made before the images are encoded: the copies are
  // asynchronous (device_handoff.h's upload), so vision runs while the host goes on.
  struct PromptTokens {
    torch::Tensor ids;         // [1,T] int64 on the embedding unit's device
    torch::Tensor image_rows;  // [n] int64 there: the positions of the <IMG_CONTEXT> tokens
    int64_t image_tokens = 0;  // n
  };
  // ids [1,T] int64 on the CPU.
  PromptTokens stage_prompt(const torch::Tensor& ids) const;

  // Input embeddings [1,T,H] on the embedding unit's device, with the rows at <IMG_CONTEXT>
  // positions replaced, in order, by the rows of `image_embeds` (undefined when the prompt has no
  // image). The count of <IMG_CONTEXT> ids must equal image_embeds.size(0).
  torch::Tensor embed(const PromptTokens& prompt, const torch::Tensor& image_embeds) const;

  // ids [B,T] int64 -> embeddings [B,T,H] on the embedding unit's device, no image merge (decode
  // steps: a generated <IMG_CONTEXT> id is an ordinary token there).
  torch::Tensor embed_tokens(const torch::Tensor& ids) const;

  // The cache prefix a decoder-layer call over positions [pos, pos + t) on `device` reads (the
  // unit's `attend`, docs/model-format.md): for a one-token step on a CUDA device the whole
  // capacity, so that a step's shapes and arguments never change and it can be captured as a CUDA
  // graph (the unit masks the keys past each position; flash attention reads only the live ones);
  // otherwise the live prefix pos + t. The one place that decides it, for the eager and the
  // captured paths alike, so both run the same kernels on the same shapes.
  static int64_t attend_length(c10::Device device, int64_t pos, int64_t t, int64_t capacity);

  // Runs decoder layers [first, last) (every layer by default) on hidden [1,T,H] at positions
  // [pos, pos+T), writing keys and values into row `slot` of `cache`. Returns [1,T,H] on the last
  // layer's device.
  torch::Tensor decode_layers(torch::Tensor hidden, KvCache& cache, int64_t pos, int64_t slot = 0,
                              size_t first = 0, size_t last = SIZE_MAX) const;

  // A prefill through layers [first, last), all on one device: hidden [1,T,H] there at positions
  // [0, T), into the cache row given by `slot` (int64 [1] on that device, read on the device
  // only). Each layer writes its keys and values into a scratch [1,T,nkv,hd] of its own, attends
  // over it as decode_layers attends over the cache row's prefix [0, T) (the same values at the
  // same strides), and copies it into the row. So the outputs and the cache are those of
  // decode_layers, and nothing in the call depends on a host value but T: a CUDA call can be
  // captured once per length and replayed for any slot (generate/prefill_graphs.h).
  torch::Tensor prefill_layers(torch::Tensor hidden, KvCache& cache, const torch::Tensor& slot,
                               size_t first, size_t last) const;

  // One token per row through layers [first, last), all on one device: hidden [R,1,H] there,
  // positions int64 [R,1] there (read on the device only), `attend` from attend_length. slot < 0:
  // the rows are the cache's slots, then padding rows (R >= cache.slots(), model format version
  // 3); otherwise R = 1 and the row is cache row `slot`. Nothing is read back or copied from the
  // host, so a CUDA call can be captured.
  torch::Tensor step_layers(torch::Tensor hidden, KvCache& cache, const torch::Tensor& positions,
                            int64_t attend, size_t first, size_t last, int64_t slot = -1) const;

  // The length a prefill of `tokens` prompt tokens runs at (GenerationOptions::prefill_bucket):
  // rounded up to a multiple of `bucket`, at most `capacity`, and `tokens` itself when bucket is
  // 0 or when the longer call would take other rotary rows (LongRoPE switches to its long factors
  // by the call's length). The one place that decides it.
  int64_t prefill_length(int64_t tokens, int64_t bucket, int64_t capacity) const;

  // Final norm and head on position `row` of hidden [B,T,H] (the last when row < 0) -> logits
  // [B,1,V] float32 on the head's device.
  torch::Tensor head_logits(const torch::Tensor& hidden, int64_t row = -1) const;

  // Final norm and head on the last position of hidden [1,T,H] -> logits [V] float32 on the
  // head's device.
  torch::Tensor last_logits(const torch::Tensor& hidden) const;

 private:
  std::shared_ptr<const LoadedModel> model_;
  RotaryTables rotary_;
};

}  // namespace vlm
