#include "vlm/generate/decode_step.h"

#include <utility>

#include "vlm/core/error.h"
#include "vlm/model/device_handoff.h"

#ifdef VLM_WITH_CUDA
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace vlm {

struct DecodeStep::Segment {
  c10::Device device = c10::kCPU;
  bool embedding = false;                  // starts with the embedding: its input is the id
  size_t first_layer = 0, last_layer = 0;  // decoder layers [first, last)
  bool norm = false, head = false;         // ends with the final norm / the head (+ argmax)
  // A captured segment: its graph and static buffers (kept for the session).
#ifdef VLM_WITH_CUDA
  std::unique_ptr<at::cuda::CUDAGraph> graph;
#endif
  torch::Tensor in, positions;
  Output out;
};

namespace {

// Runs before the capture, on the capture's stream, with the capture's shapes: the TorchScript
// executor settles its plan (it profiles the first call and optimises the second), and cuBLAS and
// the caching allocator make their workspaces, so that nothing is planned or allocated outside
// the graph's pool during the capture (../shared/reference/fast-decoding.md §1.3, §1.5).
constexpr int kWarmups = 3;

}  // namespace

DecodeStep::DecodeStep(const ModelForward& forward, KvCache& cache, bool cuda_graphs)
    : forward_(forward), cache_(cache), cuda_graphs_(cuda_graphs) {
  const LoadedModel& m = forward.model();
  auto segment_on = [&](c10::Device d) -> Segment& {
    if (segments_.empty() || segments_.back()->device != d) {
      segments_.push_back(std::make_unique<Segment>());
      segments_.back()->device = d;
    }
    return *segments_.back();
  };
  segment_on(m.embedding().device).embedding = true;
  const auto& layers = m.layers();
  for (size_t i = 0; i < layers.size(); ++i) {
    Segment& s = segment_on(layers[i]->device);
    if (s.first_layer == s.last_layer) s.first_layer = i;
    s.last_layer = i + 1;
  }
  segment_on(m.norm().device).norm = true;
  segment_on(m.head().device).head = true;
}

DecodeStep::~DecodeStep() = default;

int DecodeStep::captured_segments() const {
  int n = 0;
#ifdef VLM_WITH_CUDA
  for (const auto& s : segments_) n += s->graph != nullptr;
#endif
  return n;
}

DecodeStep::Output DecodeStep::body(Segment& s, const torch::Tensor& input,
                                    const torch::Tensor& positions, int64_t attend) {
  const LoadedModel& m = forward_.model();
  torch::Tensor x = input;
  Output out;
  if (s.embedding) x = run_unit(m.embedding(), {x}).toTensor();  // [1,1] ids -> [1,1,H]
  x = forward_.step_layers(x, cache_, positions, attend, s.first_layer, s.last_layer);
  if (s.norm) x = run_unit(m.norm(), {x}).toTensor();
  if (s.head) {
    out.logits = run_unit(m.head(), {x}).toTensor();  // [1,1,V] float32
    x = out.logits.argmax(-1);                        // [1,1]: ties to the lowest id
  }
  out.next_id = x;
  return out;
}

DecodeStep::Output DecodeStep::run_eager(Segment& s, const torch::Tensor& input, int64_t pos) {
  torch::Tensor positions;
  if (s.last_layer > s.first_layer)
    positions = torch::full({1, 1}, pos, torch::dtype(torch::kInt64).device(s.device));
  return body(s, input, positions,
              ModelForward::attend_length(s.device, pos, 1, cache_.capacity()));
}

void DecodeStep::capture(Segment& s, const torch::Tensor& input, int64_t pos) {
#ifdef VLM_WITH_CUDA
  const c10::DeviceIndex index = s.device.index();
  c10::cuda::CUDAGuard device_guard(s.device);
  s.in = input.clone();
  s.positions = torch::full({1, 1}, pos, torch::dtype(torch::kInt64).device(s.device));
  const int64_t attend = ModelForward::attend_length(s.device, pos, 1, cache_.capacity());
  const c10::cuda::CUDAStream current = c10::cuda::getCurrentCUDAStream(index);
  const c10::cuda::CUDAStream side = c10::cuda::getStreamFromPool(false, index);
  at::cuda::CUDAEvent ready;
  ready.record(current);
  ready.block(side);
  {
    c10::cuda::CUDAStreamGuard stream_guard(side);
    // Every warm-up writes this step's keys and values at `pos` from the same input: the same
    // bytes the replay writes, so repeating them changes nothing.
    for (int i = 0; i < kWarmups; ++i) body(s, s.in, s.positions, attend);
    auto graph = std::make_unique<at::cuda::CUDAGraph>();
    graph->capture_begin();
    try {
      s.out = body(s, s.in, s.positions, attend);
    } catch (...) {
      try {
        graph->capture_end();
      } catch (...) {
      }
      throw;
    }
    graph->capture_end();
    s.graph = std::move(graph);
  }
  at::cuda::CUDAEvent done;
  done.record(side);
  done.block(current);
#else
  (void)s;
  (void)input;
  (void)pos;
  throw InternalError("CUDA graphs in a build without CUDA");
#endif
}

DecodeStep::Output DecodeStep::run(const torch::Tensor& id, int64_t pos) {
  check_user(pos < cache_.capacity(), "position " + std::to_string(pos) +
                                          " exceeds the KV-cache capacity " +
                                          std::to_string(cache_.capacity()));
  torch::Tensor x = id;
  Output out;
  for (auto& seg : segments_) {
    Segment& s = *seg;
    x = hand_off(x, s.device);
#ifdef VLM_WITH_CUDA
    if (cuda_graphs_ && s.device.is_cuda()) {
      if (!s.graph) {
        capture(s, x, pos);
      } else {
        s.in.copy_(x);
      }
      s.positions.fill_(pos);
      s.graph->replay();
      out = s.out;
    } else {
      out = run_eager(s, x, pos);
    }
#else
    out = run_eager(s, x, pos);  // no CUDA device can hold a segment in this build
#endif
    x = out.next_id;
  }
  return out;
}

}  // namespace vlm
