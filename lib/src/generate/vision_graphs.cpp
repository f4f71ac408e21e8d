#include "vlm/generate/vision_graphs.h"

#include <map>
#include <utility>

#include "vlm/core/error.h"
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

struct TileGraph {
  std::unique_ptr<at::cuda::CUDAGraph> graph;
  torch::Tensor in;   // [N,3,S,S] in the model dtype: filled before each replay
  torch::Tensor out;  // [N,256,H] in the shared pool: copied out after each replay
};

}  // namespace

struct VisionGraphs::State {
  explicit State(c10::Device d)
      : device(d),
        pool(at::cuda::graph_pool_handle()),
        capture_stream(c10::cuda::getStreamFromPool(/*isHighPriority=*/false, d.index())) {}
  c10::Device device;
  GraphPool pool;
  // Warm-ups and captures only: the graphs' cuBLAS workspace is this stream's, and nothing else
  // runs here.
  c10::cuda::CUDAStream capture_stream;
  // Recorded after each replay's output is copied out; the next replay's stream waits for it.
  at::cuda::CUDAEvent replayed;
  std::map<int64_t, TileGraph> by_tiles;
};

bool VisionGraphs::applies(const LoadedModel& model) {
  return vision_graphs_apply(model.vision().device, model.projector().device);
}

VisionGraphs::VisionGraphs(const ModelForward& forward) : forward_(forward) {
  check_internal(applies(forward.model()), "VisionGraphs on a placement it does not apply to");
  state_ = std::make_unique<State>(forward.model().vision().device);
}

VisionGraphs::~VisionGraphs() {
  // A replay queued on any stream may still read the graphs' buffers, which go back to the
  // allocator here: wait for the last one (and its copy-out) first.
  try {
    state_->replayed.synchronize();
  } catch (const c10::Error&) {  // a device already in error: nothing left to wait for
  }
}

int VisionGraphs::captured() const {
  return static_cast<int>(state_->by_tiles.size());
}

torch::Tensor VisionGraphs::encode(const torch::Tensor& pixel_values) {
  State& st = *state_;
  const torch::Tensor tiles = forward_.vision_input(pixel_values);
  const int64_t n = tiles.size(0);
  const c10::cuda::CUDAGuard device_guard(st.device);
  const c10::cuda::CUDAStream current = c10::cuda::getCurrentCUDAStream(st.device.index());
  auto it = st.by_tiles.find(n);
  if (it == st.by_tiles.end()) {
    TileGraph g;
    g.in = torch::empty_like(tiles);
    g.in.copy_(tiles);
    // Earlier replays (on any stream) before this capture's warm-ups: they share no memory, but
    // the warm-ups must not run beside a replay's kernels on the capture stream's workspace.
    st.replayed.block(st.capture_stream);
    g.graph = warm_up_and_capture(
        st.capture_stream, forward_.model().vision().jit_optimize,
        [&] { g.out = forward_.project_tiles(g.in); }, st.pool);
    it = st.by_tiles.emplace(n, std::move(g)).first;
  }
  TileGraph& g = it->second;
  st.replayed.block(current);
  g.in.copy_(tiles);
  g.graph->replay();
  const torch::Tensor out = g.out.clone();
  st.replayed.record(current);
  return forward_.image_embeddings(out);
}

#else  // no CUDA: never applies

struct VisionGraphs::State {};

bool VisionGraphs::applies(const LoadedModel&) {
  return false;
}

VisionGraphs::VisionGraphs(const ModelForward& forward) : forward_(forward) {
  throw InternalError("CUDA graphs in a build without CUDA");
}

VisionGraphs::~VisionGraphs() = default;

int VisionGraphs::captured() const {
  return 0;
}

torch::Tensor VisionGraphs::encode(const torch::Tensor& pixel_values) {
  return forward_.encode_images(pixel_values);
}

#endif

}  // namespace vlm
