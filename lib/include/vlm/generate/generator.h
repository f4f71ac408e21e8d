// Greedy generation over a loaded model: one session (KV cache, decode graphs, timings) reused
// across calls, with up to `batch` sequences in flight at once (continuous batching).
//
// Each sequence's vision and prefill run alone, at its own length, into a free row (slot) of the
// KV cache, exactly as a run of one; its decode steps then join the one batched step of every
// sequence in flight (DecodeStep); a sequence that stops leaves its slot to the next one. A
// sequence's ids do not depend on the batch size or on the sequences beside it (decode_step.h).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vlm/core/timer.h"
#include "vlm/generate/decode_step.h"
#include "vlm/generate/generation_options.h"
#include "vlm/generate/prefill_graphs.h"
#include "vlm/generate/vision_graphs.h"
#include "vlm/model/kv_cache.h"
#include "vlm/model/model_forward.h"
#include "vlm/model/stage_clock.h"

namespace vlm {

struct GenerationResult {
  std::vector<int64_t> ids;  // generated ids, the stop id included when one was hit
  std::string stop_reason;   // "stop_id" | "max_new_tokens"
  int64_t input_tokens = 0;  // prompt length, image tokens included
  // ms: vision (images to projected embeddings), prefill (prompt to first logits), decode (from
  // the first token to the last: decode_steps forward steps, shared with the sequences in flight)
  StageTimes times;
  int64_t decode_steps = 0;           // forward steps after the prefill (ids.size() - 1)
  std::vector<torch::Tensor> logits;  // [V] float32 CPU per step, when options.keep_logits
};

// A prompt's images as the prefill takes them (Generator::encode_images).
struct EncodedImages {
  // [N*256, H] in the model dtype on the embedding unit's device; undefined without images.
  torch::Tensor embeds;
  // Around vision + projector (the sequence's "vision" time), and on the embedding unit's device
  // once `embeds` is complete there; all unset without images.
  std::optional<StageMark> vision_start, vision_end, ready;
};

class Generator {
 public:
  // Prompts plus generated tokens up to `capacity` positions, for up to `batch` sequences at once
  // (1..ModelForward::kDecodeRows); the KV cache is allocated once. cuda_graphs: decode steps on
  // CUDA devices are replayed from CUDA graphs (decode_step.h), and so are vision and projector
  // where they share a CUDA device (vision_graphs.h) and, for prefills rounded up to a bucket
  // (GenerationOptions::prefill_bucket), the prefill's layers on CUDA devices (prefill_graphs.h);
  // false keeps all three eager (`--no-cuda-graphs`). Either way the ids are the same.
  Generator(std::shared_ptr<const LoadedModel> model, int64_t capacity, bool cuda_graphs = true,
            int64_t batch = 1);
  Generator(const Generator&) = delete;
  Generator& operator=(const Generator&) = delete;

  // `batch` when it is a batch a Generator can hold (1..ModelForward::kDecodeRows); a UserError
  // otherwise. The one check of it below the option parser (run/batch_size.h).
  static int64_t checked_batch(int64_t batch);

  // One prompt from start to finish, with no other sequence in flight.
  // input_ids [1,T] int64; pixel_values [N,3,S,S] float32 or undefined for a text-only prompt.
  // Greedy (argmax; ties go to the lowest id, as torch.argmax).
  GenerationResult generate(const torch::Tensor& input_ids, const torch::Tensor& pixel_values,
                            const GenerationOptions& options);

  // Continuous batching: start() sequences while has_free_slot(), step() while in_flight(), and
  // collect what finished with take_finished().
  //
  // Starts a sequence tagged `tag`: its vision, its prefill into a free slot and its first token
  // (it may finish there: a one-token answer). Throws on the sequence's errors (bad options, a
  // prompt over capacity, a device error); it then holds no slot.
  void start(uint64_t tag, const torch::Tensor& input_ids, const torch::Tensor& pixel_values,
             const GenerationOptions& options);
  // start() in two pieces, so that the images can be encoded ahead (on other streams) while other
  // sequences run: encode_images(), then start() with its result. The ids are the same as start()
  // with the pixels.
  //
  // pixel_values [N,3,S,S] (any device; undefined or N = 0: no image) through vision and
  // projector, queued on the devices' current streams (nothing waits for them), with the marks
  // around them. Any thread's current streams may be set (CUDAStreamGuard) for the work to queue
  // there; the result may be used by start() on other streams.
  EncodedImages encode_images(const torch::Tensor& pixel_values);
  // start() on images encode_images() made: the embedding device's current stream waits for
  // `images.ready` (no host wait) and `images.embeds` is marked as used there (device_handoff.h's
  // record_use_on_current_stream). The same checks as start() come first (check_start).
  void start(uint64_t tag, const torch::Tensor& input_ids, const EncodedImages& images,
             const GenerationOptions& options);
  // What start() checks before any device work: the options valid, a free slot, and the prompt of
  // `input_tokens` plus options.max_new_tokens within capacity(). UserError (InternalError for the
  // slot) as start() throws them.
  void check_start(int64_t input_tokens, const GenerationOptions& options) const;
  // One decode step of every sequence in flight. When it throws (a device error), every sequence
  // that was in flight is dropped and its tag is in dropped().
  void step();
  struct Finished {
    uint64_t tag = 0;
    GenerationResult result;
  };
  // The sequences that finished since the last call, in the order they finished.
  std::vector<Finished> take_finished();
  // The tags of the sequences the last failed step() dropped.
  const std::vector<uint64_t>& dropped() const { return dropped_; }

  int64_t batch() const { return cache_.slots(); }
  int64_t in_flight() const;
  bool has_free_slot() const { return in_flight() < batch(); }

  // Logits [V] float32 of the last position after running all of `input_ids` from position 0
  // without reusing any cache: the reference for the cached path.
  torch::Tensor full_forward_logits(const torch::Tensor& input_ids,
                                    const torch::Tensor& pixel_values);

  const ModelForward& forward() const { return forward_; }
  int64_t capacity() const { return forward_.capacity(); }
  const KvCache& kv_cache() const { return cache_; }
  const DecodeStep& decode_step() const { return step_; }
  // Tile counts whose vision call is replayed from a captured graph (0 when vision is eager).
  int vision_graphs_captured() const { return vision_graphs_ ? vision_graphs_->captured() : 0; }
  // Prefill lengths replayed from captured graphs, over the CUDA segments (0 when eager).
  int prefill_graphs_captured() const { return prefill_graphs_ ? prefill_graphs_->captured() : 0; }

 private:
  struct Sequence {
    uint64_t tag = 0;
    GenerationOptions options;
    GenerationResult result;
    int64_t pos = 0;      // the position of the token decoded next
    int64_t next_id = 0;  // that token
    std::optional<StageMark> vision_start, vision_end;
    std::optional<StageMark> prefill_start, prefill_end;
    Stopwatch decode_watch;
  };
  // Takes the token a step (or the prefill) gave slot `slot`: records it, and either finishes the
  // sequence (its slot becomes free) or leaves it in flight for the next step.
  void accept(int64_t slot, int64_t id, const torch::Tensor& logits_row);
  // The prefill of a checked sequence (check_start) into a free slot, its first token accepted.
  void prefill(uint64_t tag, const ModelForward::PromptTokens& prompt, const EncodedImages& images,
               const GenerationOptions& options);

  ModelForward forward_;
  KvCache cache_;
  DecodeStep step_;                              // after forward_ and cache_, which it points at
  std::unique_ptr<VisionGraphs> vision_graphs_;  // after forward_; null: vision runs eagerly
  // After forward_ and cache_; null: every prefill runs eagerly.
  std::unique_ptr<PrefillGraphs> prefill_graphs_;
  std::vector<std::optional<Sequence>> slots_;  // one per cache row; empty: free
  std::vector<Finished> finished_;
  std::vector<uint64_t> dropped_;
};

}  // namespace vlm
