// Greedy generation over a loaded model: one session (KV cache, timings) reused across calls.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "vlm/core/timer.h"
#include "vlm/generate/decode_step.h"
#include "vlm/generate/generation_options.h"
#include "vlm/model/kv_cache.h"
#include "vlm/model/model_forward.h"

namespace vlm {

struct GenerationResult {
  std::vector<int64_t> ids;  // generated ids, the stop id included when one was hit
  std::string stop_reason;   // "stop_id" | "max_new_tokens"
  int64_t input_tokens = 0;  // prompt length, image tokens included
  // ms: vision (images to projected embeddings), prefill (prompt to first logits), decode (from
  // the first token to the last: decode_steps forward steps)
  StageTimes times;
  int64_t decode_steps = 0;           // forward steps after the prefill (ids.size() - 1)
  std::vector<torch::Tensor> logits;  // [V] float32 CPU per step, when options.keep_logits
};

class Generator {
 public:
  // Prompts plus generated tokens up to `capacity` positions; the KV cache is allocated once.
  // cuda_graphs: decode steps on CUDA devices are replayed from CUDA graphs (decode_step.h);
  // false keeps them eager (`--no-cuda-graphs`). Either way the ids are the same.
  Generator(std::shared_ptr<const LoadedModel> model, int64_t capacity, bool cuda_graphs = true);
  Generator(const Generator&) = delete;
  Generator& operator=(const Generator&) = delete;

  // input_ids [1,T] int64; pixel_values [N,3,S,S] float32 or undefined for a text-only prompt.
  // Greedy (argmax; ties go to the lowest id, as torch.argmax).
  GenerationResult generate(const torch::Tensor& input_ids, const torch::Tensor& pixel_values,
                            const GenerationOptions& options);

  // Logits [V] float32 of the last position after running all of `input_ids` from position 0
  // without reusing any cache: the reference for the cached path.
  torch::Tensor full_forward_logits(const torch::Tensor& input_ids,
                                    const torch::Tensor& pixel_values);

  const ModelForward& forward() const { return forward_; }
  int64_t capacity() const { return forward_.capacity(); }
  const KvCache& kv_cache() const { return cache_; }
  const DecodeStep& decode_step() const { return step_; }

 private:
  ModelForward forward_;
  KvCache cache_;
  DecodeStep step_;  // after forward_ and cache_, which it points at
};

}  // namespace vlm
