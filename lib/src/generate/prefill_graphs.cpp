#include "vlm/generate/prefill_graphs.h"

#include <map>
#include <utility>

#include "vlm/core/error.h"
#include "vlm/model/device_handoff.h"
#include "vlm/model/placement_plan.h"

#ifdef VLM_WITH_CUDA
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "vlm/generate/graph_capture.h"
#endif

namespace vlm {

#ifdef VLM_WITH_CUDA
namespace {

// A CUDA segment's graphs, one per prefill length, and what they share.
struct SegmentGraphs {
  explicit SegmentGraphs(c10::Device d)
      : pool(at::cuda::graph_pool_handle()),
        capture_stream(c10::cuda::getStreamFromPool(/*isHighPriority=*/false, d.index())) {}
  GraphPool pool;
  // Warm-ups and captures only: the graphs' cuBLAS workspace is this stream's.
  c10::cuda::CUDAStream capture_stream;
  // Recorded after each replay's output is copied out; the next replay's stream waits for it.
  at::cuda::CUDAEvent replayed;
  std::map<int64_t, std::unique_ptr<at::cuda::CUDAGraph>> by_length;
  // The static input and output [1, capacity, H] (a graph of length T reads and writes their
  // first T positions) and the cache row to write, int64 [1].
  torch::Tensor in, out, slot;
};

}  // namespace
#endif

struct PrefillGraphs::Segment {
  c10::Device device = c10::kCPU;
  size_t first = 0, last = 0;  // decoder layers [first, last)
#ifdef VLM_WITH_CUDA
  std::unique_ptr<SegmentGraphs> graphs;  // on a CUDA device only
#endif
};

bool PrefillGraphs::applies(const LoadedModel& model) {
  std::vector<c10::Device> devices;
  for (const auto& layer : model.layers()) devices.push_back(layer->device);
  return prefill_graphs_apply(devices);
}

PrefillGraphs::PrefillGraphs(const ModelForward& forward, KvCache& cache)
    : forward_(forward), cache_(cache) {
  check_internal(applies(forward.model()), "PrefillGraphs on a placement it does not apply to");
  const auto& layers = forward.model().layers();
  for (size_t i = 0; i < layers.size(); ++i) {
    if (segments_.empty() || segments_.back()->device != layers[i]->device) {
      auto s = std::make_unique<Segment>();
      s->device = layers[i]->device;
      s->first = i;
#ifdef VLM_WITH_CUDA
      if (s->device.is_cuda()) s->graphs = std::make_unique<SegmentGraphs>(s->device);
#endif
      segments_.push_back(std::move(s));
    }
    segments_.back()->last = i + 1;
  }
}

PrefillGraphs::~PrefillGraphs() {
#ifdef VLM_WITH_CUDA
  // A replay queued on any stream may still read the graphs' buffers, which go back to the
  // allocator here: wait for the last one (and its copy-out) first.
  for (auto& s : segments_) {
    try {
      if (s->graphs) s->graphs->replayed.synchronize();
    } catch (const c10::Error&) {  // a device already in error: nothing left to wait for
    }
  }
#endif
}

int PrefillGraphs::captured() const {
  int n = 0;
#ifdef VLM_WITH_CUDA
  for (const auto& s : segments_)
    if (s->graphs) n += static_cast<int>(s->graphs->by_length.size());
#endif
  return n;
}

torch::Tensor PrefillGraphs::layers(const torch::Tensor& hidden, int64_t slot) {
  check_internal(slot >= 0 && slot < cache_.slots(), "PrefillGraphs: no such cache slot");
  const int64_t t = hidden.size(1);
  check_internal(hidden.dim() == 3 && hidden.size(0) == 1 && t > 1,
                 "PrefillGraphs takes one prompt [1,T,H] of more than one token");
  torch::Tensor x = hidden;
  for (auto& seg : segments_) {
    Segment& s = *seg;
    if (!s.device.is_cuda()) {
      x = forward_.decode_layers(x, cache_, 0, slot, s.first, s.last);
      continue;
    }
#ifdef VLM_WITH_CUDA
    SegmentGraphs& g = *s.graphs;
    x = hand_off(x, s.device);
    const c10::cuda::CUDAGuard device_guard(s.device);
    const c10::cuda::CUDAStream current = c10::cuda::getCurrentCUDAStream(s.device.index());
    if (!g.in.defined()) {
      const int64_t capacity = cache_.capacity();
      g.in = torch::zeros({1, capacity, x.size(2)}, x.options());
      g.out = torch::zeros({1, capacity, x.size(2)}, x.options());
      g.slot = torch::zeros({1}, torch::dtype(torch::kInt64).device(s.device));
    }
    check_user(t <= g.in.size(1), "sequence of " + std::to_string(t) +
                                      " tokens exceeds the KV-cache capacity " +
                                      std::to_string(g.in.size(1)));
    // The previous replay (on any stream) is done with the shared buffers before they are
    // refilled, and before a capture's warm-ups run beside it on the capture stream's workspace.
    g.replayed.block(current);
    g.in.narrow(1, 0, t).copy_(x);
    g.slot.fill_(slot);
    auto it = g.by_length.find(t);
    if (it == g.by_length.end()) {
      // Every warm-up writes this prefill's keys and values into row `slot` from the same input:
      // the bytes the replay writes again.
      const torch::Tensor in = g.in.narrow(1, 0, t);
      const torch::Tensor out = g.out.narrow(1, 0, t);
      auto graph = warm_up_and_capture(
          g.capture_stream, forward_.model().layers()[s.first]->jit_optimize,
          [&] { out.copy_(forward_.prefill_layers(in, cache_, g.slot, s.first, s.last)); }, g.pool);
      it = g.by_length.emplace(t, std::move(graph)).first;
    }
    it->second->replay();
    x = g.out.narrow(1, 0, t).clone();
    g.replayed.record(current);
#else
    throw InternalError("CUDA graphs in a build without CUDA");
#endif
  }
  return x;
}

}  // namespace vlm
