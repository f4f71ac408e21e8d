// Vision and projector replayed from CUDA graphs, one graph per tile count.
//
// An item's vision call (the vision unit and the projector over its N tiles) is a few hundred
// TorchScript ops whose shapes depend on N alone. On a small model the host's dispatch of them,
// not the GPU, sets the call's time, and the prefill's dispatch waits behind it. Where vision and
// projector sit on one CUDA device, the first call at a tile count N is warmed up on a side stream
// (TorchScript's executor, cuDNN's and cuBLAS's plans and workspaces), captured there, and every
// call at that N, the first included, replays the graph: ModelForward::project_tiles' kernels on
// its shapes, so the embeddings are bitwise those of ModelForward::encode_images (a GPU test holds
// them to it).
//
// The graphs share one memory pool, so they hold the activations of the largest N, not the sum;
// the placement plan reserves them beside the layers' (PlanCapacity::vision_graphs). Sharing is
// safe because no two replays overlap: each is ordered after the one before it on the device
// (an event), whatever streams they are queued on, and its output is copied out of the pool
// before the next one is queued.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>

#include "vlm/model/model_forward.h"

namespace vlm {

class VisionGraphs {
 public:
  // Whether graphs apply to `model`: vision and projector on one CUDA device, in a CUDA build
  // (vision_graphs_apply, model/placement_plan.h).
  static bool applies(const LoadedModel& model);

  // `forward` must outlive this object, and applies(forward.model()) must hold.
  explicit VisionGraphs(const ModelForward& forward);
  ~VisionGraphs();
  VisionGraphs(const VisionGraphs&) = delete;
  VisionGraphs& operator=(const VisionGraphs&) = delete;

  // ModelForward::encode_images(pixel_values), queued on the current streams (nothing waits on
  // the host), with the vision unit and the projector replayed from the graph of N tiles (captured
  // at the first call with N).
  torch::Tensor encode(const torch::Tensor& pixel_values);

  // The tile counts captured so far.
  int captured() const;

 private:
  struct State;  // the graphs, their pool, the capture stream and the replay order (CUDA)
  const ModelForward& forward_;
  std::unique_ptr<State> state_;
};

}  // namespace vlm
