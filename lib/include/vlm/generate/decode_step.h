// One greedy decode step over the whole placement for every sequence in flight, eager or replayed
// from CUDA graphs.
//
// A step is each sequence's new token's embedding, every decoder layer, the final norm, the head
// and the argmax. The KV cache has one row per slot (a sequence in flight, or a free slot); a step
// takes one token per slot. The units are cut into segments: runs of consecutive units on one
// device.
//
// - A segment on a CUDA device runs all slots at once, padded to ModelForward::kDecodeRows rows
//   (model format version 3's padding rows), so that every kernel of the step has one shape
//   whatever the number of sequences in flight: a sequence's ids do not depend on its neighbours
//   or on the batch size. With CUDA graphs it is captured at its first step (warmed up on a side
//   stream, captured there, kept for the session) and replayed for every later step: its static
//   input, its positions (device tensors filled before each replay) and its outputs are the only
//   things that change, and every call inside it takes its lengths from device tensors or from
//   the fixed cache capacity (ModelForward::attend_length), so the replay is exact for any
//   positions. With graphs off (`--no-cuda-graphs`) the same calls run eagerly on the same shapes:
//   the same kernels, identical ids.
// - A segment on the CPU runs each sequence in flight on its own, as a batch of one over the live
//   prefix of its cache row: the same computation as an unbatched run, so the CPU is batch
//   invariant by construction (and a CPU placement's results are those of batch size 1).
//
// Hand-offs between segments stay outside the graphs (hand_off, ordered on each device's current
// stream).
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

  // The step's input, one entry per cache slot.
  struct Rows {
    std::vector<int64_t> ids;        // the token each slot decodes (any valid id when idle)
    std::vector<int64_t> positions;  // its position (0 when idle)
    std::vector<char> active;        // whether the slot holds a sequence in flight
  };
  struct Output {
    torch::Tensor next_id;  // [slots,1] int64 on the head's device: argmax of the logits
    torch::Tensor logits;   // [slots,1,V] float32 on the head's device
  };
  // Runs the step: writes each active slot's keys and values at its position and returns every
  // slot's next token (an idle slot's row is meaningless). A captured segment's outputs live in
  // its graph's buffers and are overwritten by the next call: read or copy them before.
  Output run(const Rows& rows);

  bool cuda_graphs() const { return cuda_graphs_; }
  // Segments replayed from a captured graph so far (0 on the CPU or with graphs off).
  int captured_segments() const;

 private:
  struct Segment;
  Output run_cuda(Segment& s, const torch::Tensor& input, const Rows& rows);
  Output run_per_row(Segment& s, const torch::Tensor& input, const Rows& rows);
  Output body(Segment& s, const torch::Tensor& input, const torch::Tensor& positions,
              int64_t attend, int64_t slot);
  void capture(Segment& s, int64_t attend);

  const ModelForward& forward_;
  KvCache& cache_;
  bool cuda_graphs_;
  std::vector<std::unique_ptr<Segment>> segments_;
};

}  // namespace vlm
