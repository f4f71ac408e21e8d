#include "vlm/generate/decode_step.h"

#include <utility>

#include "vlm/core/error.h"
#include "vlm/model/device_handoff.h"

#ifdef VLM_WITH_CUDA
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAStream.h>

#include "vlm/generate/graph_capture.h"
#endif

namespace vlm {

struct DecodeStep::Segment {
  c10::Device device = c10::kCPU;
  bool embedding = false;                  // starts with the embedding: its input is the ids
  size_t first_layer = 0, last_layer = 0;  // decoder layers [first, last)
  bool norm = false, head = false;         // ends with the final norm / the head (+ argmax)
  // A CUDA segment's static buffers, kDecodeRows rows (kept for the session; a captured graph
  // reads and writes exactly these).
#ifdef VLM_WITH_CUDA
  std::unique_ptr<at::cuda::CUDAGraph> graph;
#endif
  torch::Tensor in, positions;
  Output out;
};

namespace {

constexpr int64_t kRows = ModelForward::kDecodeRows;

}  // namespace

DecodeStep::DecodeStep(const ModelForward& forward, KvCache& cache, bool cuda_graphs)
    : forward_(forward), cache_(cache), cuda_graphs_(cuda_graphs) {
  check_internal(cache.slots() <= kRows, "a KV cache of more slots than a decode step has rows");
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
                                    const torch::Tensor& positions, int64_t attend, int64_t slot) {
  const LoadedModel& m = forward_.model();
  torch::Tensor x = input;
  Output out;
  if (s.embedding) x = run_unit(m.embedding(), {x}).toTensor();  // [R,1] ids -> [R,1,H]
  x = forward_.step_layers(x, cache_, positions, attend, s.first_layer, s.last_layer, slot);
  if (s.norm) x = run_unit(m.norm(), {x}).toTensor();
  if (s.head) {
    out.logits = run_unit(m.head(), {x}).toTensor();  // [R,1,V] float32
    x = out.logits.argmax(-1);                        // [R,1]: ties to the lowest id
  }
  out.next_id = x;
  return out;
}

DecodeStep::Output DecodeStep::run_per_row(Segment& s, const torch::Tensor& input,
                                           const Rows& rows) {
  const int64_t n = static_cast<int64_t>(rows.ids.size());
  std::vector<Output> per_slot(n);
  int64_t first_active = -1;
  for (int64_t slot = 0; slot < n; ++slot) {
    if (!rows.active[slot]) continue;
    if (first_active < 0) first_active = slot;
    const int64_t pos = rows.positions[slot];
    const torch::Tensor positions =
        torch::full({1, 1}, pos, torch::dtype(torch::kInt64).device(s.device));
    per_slot[slot] = body(s, input.narrow(0, slot, 1), positions,
                          ModelForward::attend_length(s.device, pos, 1, cache_.capacity()), slot);
  }
  check_internal(first_active >= 0, "a decode step without a sequence in flight");
  // Idle slots get zero rows, so the output has a row per slot, as a CUDA segment's does.
  auto gather = [&](torch::Tensor Output::*field) {
    const torch::Tensor& like = per_slot[first_active].*field;
    if (!like.defined()) return torch::Tensor();
    std::vector<torch::Tensor> parts;
    for (int64_t slot = 0; slot < n; ++slot)
      parts.push_back(rows.active[slot] ? per_slot[slot].*field : torch::zeros_like(like));
    return torch::cat(parts, 0);
  };
  return {gather(&Output::next_id), gather(&Output::logits)};
}

void DecodeStep::capture(Segment& s, int64_t attend) {
#ifdef VLM_WITH_CUDA
  // Every warm-up writes this step's keys and values at the slots' positions from the same input:
  // the same bytes the replay writes, so repeating them changes nothing. A fresh stream and a
  // private pool per segment. Every unit of a model is loaded with one jit_optimize.
  s.graph =
      warm_up_and_capture(c10::cuda::getStreamFromPool(/*isHighPriority=*/false, s.device.index()),
                          forward_.model().embedding().jit_optimize,
                          [&] { s.out = body(s, s.in, s.positions, attend, -1); });
#else
  (void)s;
  (void)attend;
  throw InternalError("CUDA graphs in a build without CUDA");
#endif
}

DecodeStep::Output DecodeStep::run_cuda(Segment& s, const torch::Tensor& input, const Rows& rows) {
  const int64_t n = static_cast<int64_t>(rows.ids.size());
  if (!s.in.defined()) {
    std::vector<int64_t> shape = input.sizes().vec();
    shape[0] = kRows;
    // Padding rows hold zeros (a valid id; a zero hidden state) and position 0, forever.
    s.in = torch::zeros(shape, input.options());
    s.positions = torch::zeros({kRows, 1}, torch::dtype(torch::kInt64).device(s.device));
  }
  s.in.narrow(0, 0, n).copy_(input);
  s.positions.narrow(0, 0, n).copy_(
      upload(torch::tensor(rows.positions, torch::kInt64).view({n, 1}), s.device));
  const int64_t attend = ModelForward::attend_length(s.device, 0, 1, cache_.capacity());
  Output out;
#ifdef VLM_WITH_CUDA
  if (cuda_graphs_) {
    if (!s.graph) capture(s, attend);
    s.graph->replay();
    out = s.out;
  } else {
    out = body(s, s.in, s.positions, attend, -1);
  }
#else
  out = body(s, s.in, s.positions, attend, -1);  // no CUDA device can hold a segment here
#endif
  return {out.next_id.narrow(0, 0, n),
          out.logits.defined() ? out.logits.narrow(0, 0, n) : torch::Tensor()};
}

DecodeStep::Output DecodeStep::run(const Rows& rows) {
  const int64_t n = static_cast<int64_t>(rows.ids.size());
  check_internal(n == cache_.slots() && rows.positions.size() == rows.ids.size() &&
                     rows.active.size() == rows.ids.size(),
                 "DecodeStep::run: one id, position and flag per slot");
  for (int64_t slot = 0; slot < n; ++slot)
    check_user(!rows.active[slot] || rows.positions[slot] < cache_.capacity(),
               "position " + std::to_string(rows.positions[slot]) +
                   " exceeds the KV-cache capacity " + std::to_string(cache_.capacity()));
  torch::Tensor x = torch::tensor(rows.ids, torch::kInt64).view({n, 1});
  Output out;
  for (auto& seg : segments_) {
    Segment& s = *seg;
    if (s.device.is_cuda()) {
      out = run_cuda(s, x.device().is_cpu() ? upload(x, s.device) : hand_off(x, s.device), rows);
    } else {
      out = run_per_row(s, hand_off(x, s.device), rows);
    }
    x = out.next_id;
  }
  return out;
}

}  // namespace vlm
