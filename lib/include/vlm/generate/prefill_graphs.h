// The prefill's decoder layers replayed from CUDA graphs, one graph per prompt length.
//
// A prefill is every decoder layer once over the whole prompt: a few hundred TorchScript ops whose
// shapes depend on the length alone. On a small model the host's dispatch of them, not the GPU,
// sets the prefill's time (README: 10.2 ms on the host against 1.8 ms of GPU work for the 1B shape
// cut to 8 layers). Layers are cut into segments, runs of consecutive layers on one device; the
// first prefill of a CUDA segment at a length T is warmed up on a side stream, captured there
// (ModelForward::prefill_layers: the cache row is a device tensor, so one graph serves every
// slot), and every prefill at T, the first included, replays it. A CPU segment runs eagerly
// (ModelForward::decode_layers). The outputs and the cache are bitwise decode_layers' (a GPU test
// holds them to it).
//
// Only lengths met again are worth a capture, so the generator replays graphs only for prefills
// rounded up to a bucket (GenerationOptions::prefill_bucket): a few lengths over a run instead of
// a new one at almost every item. A segment's graphs share one memory pool and one static input
// and output of the capacity's length, so they hold the activations of the longest prefill, not
// the sum; the placement plan reserves them beside the decode step's (PlanCapacity::
// prefill_graphs). Sharing is safe because no two replays overlap: each is ordered after the one
// before it on the device (an event), and its output is copied out before the next is queued.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "vlm/model/kv_cache.h"
#include "vlm/model/model_forward.h"

namespace vlm {

class PrefillGraphs {
 public:
  // Whether graphs apply to `model`: some decoder layer on a CUDA device, in a CUDA build
  // (prefill_graphs_apply, model/placement_plan.h).
  static bool applies(const LoadedModel& model);

  // `forward` and `cache` must outlive this object, and applies(forward.model()) must hold.
  PrefillGraphs(const ModelForward& forward, KvCache& cache);
  ~PrefillGraphs();
  PrefillGraphs(const PrefillGraphs&) = delete;
  PrefillGraphs& operator=(const PrefillGraphs&) = delete;

  // ModelForward::decode_layers(hidden, cache, 0, slot) for hidden [1,T,H] (T > 1) on the
  // embedding unit's device, queued on the current streams (nothing waits on the host), each CUDA
  // segment replayed from its graph of length T (captured at the first prefill of that length).
  torch::Tensor layers(const torch::Tensor& hidden, int64_t slot);

  // Graphs captured so far, over all segments.
  int captured() const;

 private:
  struct Segment;  // a run of layers on one device; on CUDA its graphs, pool and streams
  const ModelForward& forward_;
  KvCache& cache_;
  std::vector<std::unique_ptr<Segment>> segments_;
};

}  // namespace vlm
