// One greedy decode step over the whole placement, eager or replayed from CUDA graphs.
//
// A step is the new token's embedding, every decoder layer, the final norm, the head and the
// argmax. The units are cut into segments: runs of consecutive units on one device. A segment on a
// CUDA device is captured as a CUDA graph at its first step (warmed up on a side stream, captured
// there, kept for the session) and replayed for every later step: its static input, its position
// (a device tensor filled before each replay) and its outputs are the only things that change, and
// every call inside it takes its lengths from device tensors or from the fixed cache capacity
// (ModelForward::attend_length), so the replay is exact for any position. Segments on the CPU, and
// every segment when graphs are off, run the same calls eagerly: both paths launch the same
// kernels on the same shapes and give identical ids. Hand-offs between segments stay outside the
// graphs (hand_off, ordered on each device's current stream).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "vlm/model/kv_cache.h"
#include "vlm/model/model_forward.h"

namespace vlm {

class DecodeStep {
 public:
  // `forward` and `cache` must outlive this object: captured graphs hold their tensors'
  // addresses. cuda_graphs = false runs every segment eagerly (`--no-cuda-graphs`).
  DecodeStep(const ModelForward& forward, KvCache& cache, bool cuda_graphs);
  ~DecodeStep();
  DecodeStep(const DecodeStep&) = delete;
  DecodeStep& operator=(const DecodeStep&) = delete;

  struct Output {
    torch::Tensor next_id;  // [1,1] int64 on the head's device: argmax of the logits
    torch::Tensor logits;   // [1,1,V] float32 on the head's device
  };
  // Runs the step for `id` ([1,1] int64, any device), the token at position `pos`: writes its
  // keys and values at `pos` and returns the next token. A captured segment's outputs live in its
  // graph's buffers and are overwritten by the next call: read or copy them before.
  Output run(const torch::Tensor& id, int64_t pos);

  bool cuda_graphs() const { return cuda_graphs_; }
  // Segments replayed from a captured graph so far (0 on the CPU or with graphs off).
  int captured_segments() const;

 private:
  struct Segment;
  Output run_eager(Segment& s, const torch::Tensor& input, int64_t pos);
  Output body(Segment& s, const torch::Tensor& input, const torch::Tensor& positions,
              int64_t attend);
  void capture(Segment& s, const torch::Tensor& input, int64_t pos);

  const ModelForward& forward_;
  KvCache& cache_;
  bool cuda_graphs_;
  std::vector<std::unique_ptr<Segment>> segments_;
};

}  // namespace vlm
