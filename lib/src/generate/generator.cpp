#include "vlm/generate/generator.h"

#include <ATen/record_function.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>

#include "vlm/core/error.h"
#include "vlm/model/device_handoff.h"
#include "vlm/model/profile_trace.h"

namespace vlm {

int64_t Generator::checked_batch(int64_t batch) {
  check_user(batch >= 1 && batch <= ModelForward::kDecodeRows,
             "batch size " + std::to_string(batch) + " is outside 1.." +
                 std::to_string(ModelForward::kDecodeRows));
  return batch;
}

Generator::Generator(std::shared_ptr<const LoadedModel> model, int64_t capacity, bool cuda_graphs,
                     int64_t batch)
    : forward_(model, capacity),
      cache_(*model, capacity, checked_batch(batch)),
      step_(forward_, cache_, cuda_graphs),
      vision_graphs_(cuda_graphs && VisionGraphs::applies(*model)
                         ? std::make_unique<VisionGraphs>(forward_)
                         : nullptr),
      prefill_graphs_(cuda_graphs && PrefillGraphs::applies(*model)
                          ? std::make_unique<PrefillGraphs>(forward_, cache_)
                          : nullptr),
      slots_(static_cast<size_t>(batch)) {}

int64_t Generator::in_flight() const {
  return std::count_if(slots_.begin(), slots_.end(), [](const auto& s) { return s.has_value(); });
}

void Generator::check_start(int64_t input_tokens, const GenerationOptions& options) const {
  options.validate();
  check_internal(has_free_slot(), "Generator::start without a free slot");
  check_user(input_tokens + options.max_new_tokens <= capacity(),
             "prompt of " + std::to_string(input_tokens) + " tokens + max_new_tokens " +
                 std::to_string(options.max_new_tokens) + " exceeds the KV-cache capacity " +
                 std::to_string(capacity()));
}

EncodedImages Generator::encode_images(const torch::Tensor& pixel_values) {
  EncodedImages out;
  if (!pixel_values.defined() || pixel_values.size(0) == 0) return out;
  c10::InferenceMode inference;
  const LoadedModel& model = forward_.model();
  RECORD_USER_SCOPE(kStageScopeVision);
  out.vision_start = StageMark::on(model.vision().device);
  out.embeds =
      vision_graphs_ ? vision_graphs_->encode(pixel_values) : forward_.encode_images(pixel_values);
  out.vision_end =
      StageMark::on(model.projector().device, model.projector().device != model.vision().device);
  out.ready = StageMark::on(model.embedding().device);
  return out;
}

void Generator::start(uint64_t tag, const torch::Tensor& input_ids,
                      const torch::Tensor& pixel_values, const GenerationOptions& options) {
  check_start(input_ids.size(1), options);
  c10::InferenceMode guard;
  // The ids go to the device before vision is queued, without waiting for it: from vision to the
  // first token's stop check nothing synchronises with the host.
  const ModelForward::PromptTokens prompt = forward_.stage_prompt(input_ids);
  prefill(tag, prompt, encode_images(pixel_values), options);
}

void Generator::start(uint64_t tag, const torch::Tensor& input_ids, const EncodedImages& images,
                      const GenerationOptions& options) {
  check_start(input_ids.size(1), options);
  c10::InferenceMode guard;
  const ModelForward::PromptTokens prompt = forward_.stage_prompt(input_ids);
  prefill(tag, prompt, images, options);
}

void Generator::prefill(uint64_t tag, const ModelForward::PromptTokens& prompt,
                        const EncodedImages& images, const GenerationOptions& options) {
  auto free = std::find_if(slots_.begin(), slots_.end(), [](const auto& s) { return !s; });
  check_internal(free != slots_.end(), "Generator::start without a free slot");
  const int64_t slot = free - slots_.begin();
  const LoadedModel& model = forward_.model();
  Sequence seq;
  seq.tag = tag;
  seq.options = options;
  seq.result.input_tokens = prompt.ids.size(1);
  seq.vision_start = images.vision_start;
  seq.vision_end = images.vision_end;
  // The embeddings may come from other streams (encoded ahead): this device's stream waits for
  // them on the device, and the allocator keeps their memory until this stream is done with it.
  if (images.ready) images.ready->block_current_stream();
  if (images.embeds.defined()) record_use_on_current_stream(images.embeds);

  // Stage times: CUDA events where a stage starts and ends on one device, so that nothing waits
  // for the GPU before the first stop check (see stage_clock.h).
  const c10::Device embed_device = model.embedding().device;
  const c10::Device head_device = model.head().device;
  // The prefill runs alone, at the prompt's own length (or rounded up to options.prefill_bucket,
  // zero embeddings after the prompt), into this sequence's row of the cache.
  const int64_t tokens = seq.result.input_tokens;
  const int64_t length = forward_.prefill_length(tokens, options.prefill_bucket, capacity());
  torch::Tensor logits;
  int64_t id = 0;
  {
    RECORD_USER_SCOPE(kStageScopePrefill);
    seq.prefill_start = StageMark::on(embed_device);
    torch::Tensor hidden = forward_.embed(prompt, images.embeds);
    if (length > tokens)
      hidden = torch::cat({hidden, hidden.new_zeros({1, length - tokens, hidden.size(2)})}, 1);
    hidden = prefill_graphs_ &&
                     prefill_graphs_wanted(step_.cuda_graphs(), options.prefill_bucket) &&
                     length > 1
                 ? prefill_graphs_->layers(hidden, slot)
                 : forward_.decode_layers(hidden, cache_, 0, slot);
    logits = forward_.head_logits(hidden, tokens - 1);  // [1,1,V]
    const torch::Tensor next = logits.argmax(-1);       // [1,1]: ties to the lowest id
    seq.prefill_end = StageMark::on(head_device, head_device != embed_device);
    // Reading the first token for its stop check is the prefill's one host synchronisation.
    id = next.item<int64_t>();
  }
  seq.pos = seq.result.input_tokens;
  *free = std::move(seq);
  accept(slot, id, logits);
}

void Generator::accept(int64_t slot, int64_t id, const torch::Tensor& logits_row) {
  Sequence& q = *slots_[static_cast<size_t>(slot)];
  const GenerationOptions& o = q.options;
  const int64_t step = static_cast<int64_t>(q.result.ids.size());
  if (o.keep_logits) q.result.logits.push_back(logits_row.reshape({-1}).to(torch::kCPU).clone());
  if (step == 0) q.decode_watch.restart();
  q.result.ids.push_back(id);
  const bool stop = step + 1 >= o.min_new_tokens &&
                    std::find(o.stop_ids.begin(), o.stop_ids.end(), id) != o.stop_ids.end();
  if (!stop && step + 1 < o.max_new_tokens) {
    q.next_id = id;
    return;
  }
  GenerationResult& r = q.result;
  r.stop_reason = stop ? "stop_id" : "max_new_tokens";
  if (q.vision_start) r.times["vision"] = StageMark::elapsed_ms(*q.vision_start, *q.vision_end);
  r.times["prefill"] = StageMark::elapsed_ms(*q.prefill_start, *q.prefill_end);
  r.times["decode"] = q.decode_watch.elapsed_ms();
  r.decode_steps = static_cast<int64_t>(r.ids.size()) - 1;
  finished_.push_back({q.tag, std::move(r)});
  slots_[static_cast<size_t>(slot)].reset();
}

void Generator::step() {
  c10::InferenceMode guard;
  dropped_.clear();
  const size_t n = slots_.size();
  DecodeStep::Rows rows;
  rows.ids.assign(n, 0);
  rows.positions.assign(n, 0);
  rows.active.assign(n, 0);
  for (size_t i = 0; i < n; ++i) {
    if (!slots_[i]) continue;
    rows.ids[i] = slots_[i]->next_id;
    rows.positions[i] = slots_[i]->pos;
    rows.active[i] = 1;
  }
  DecodeStep::Output out;
  torch::Tensor ids;
  try {
    RECORD_USER_SCOPE(kStageScopeDecodeStep);
    out = step_.run(rows);
    // The step's one host synchronisation: every sequence's next id, for the stop checks.
    ids = out.next_id.reshape({-1}).to(torch::kCPU);
  } catch (...) {
    for (auto& s : slots_) {
      if (s) dropped_.push_back(s->tag);
      s.reset();
    }
    throw;
  }
  const int64_t* next = ids.data_ptr<int64_t>();
  for (size_t i = 0; i < n; ++i) {
    if (!rows.active[i]) continue;
    ++slots_[i]->pos;
    accept(static_cast<int64_t>(i), next[i],
           slots_[i]->options.keep_logits ? out.logits[static_cast<int64_t>(i)] : torch::Tensor());
  }
}

std::vector<Generator::Finished> Generator::take_finished() {
  std::vector<Finished> out;
  out.swap(finished_);
  return out;
}

GenerationResult Generator::generate(const torch::Tensor& input_ids,
                                     const torch::Tensor& pixel_values,
                                     const GenerationOptions& options) {
  check_internal(in_flight() == 0 && finished_.empty(),
                 "Generator::generate while sequences are in flight");
  start(0, input_ids, pixel_values, options);
  while (in_flight() > 0) step();
  std::vector<Finished> done = take_finished();
  check_internal(done.size() == 1, "Generator::generate: one sequence in, one out");
  return std::move(done.front().result);
}

torch::Tensor Generator::full_forward_logits(const torch::Tensor& input_ids,
                                             const torch::Tensor& pixel_values) {
  c10::InferenceMode guard;
  torch::Tensor image_embeds;
  if (pixel_values.defined() && pixel_values.size(0) > 0)
    image_embeds = forward_.encode_images(pixel_values);
  KvCache fresh(forward_.model(), input_ids.size(1));
  torch::Tensor hidden = forward_.embed(forward_.stage_prompt(input_ids), image_embeds);
  hidden = forward_.decode_layers(hidden, fresh, 0);
  return forward_.last_logits(hidden).to(torch::kCPU);
}

}  // namespace vlm
