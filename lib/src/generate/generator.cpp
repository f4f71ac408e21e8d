#include "vlm/generate/generator.h"

#include <algorithm>
#include <cstdint>
#include <optional>

#include "vlm/core/error.h"
#include "vlm/model/device_handoff.h"
#include "vlm/model/stage_clock.h"

namespace vlm {
Generator::Generator(std::shared_ptr<const LoadedModel> model, int64_t capacity, bool cuda_graphs)
    : forward_(model, capacity), cache_(*model, capacity), step_(forward_, cache_, cuda_graphs) {}

GenerationResult Generator::generate(const torch::Tensor& input_ids,
                                     const torch::Tensor& pixel_values,
                                     const GenerationOptions& options) {
  options.validate();
  c10::InferenceMode guard;
  const LoadedModel& model = forward_.model();
  GenerationResult result;
  result.input_tokens = input_ids.size(1);
  check_user(result.input_tokens + options.max_new_tokens <= capacity(),
             "prompt of " + std::to_string(result.input_tokens) + " tokens + max_new_tokens " +
                 std::to_string(options.max_new_tokens) + " exceeds the KV-cache capacity " +
                 std::to_string(capacity()));

  // Stage times: CUDA events where a stage starts and ends on one device, so that nothing waits
  // for the GPU before the first stop check (see stage_clock.h).
  const c10::Device embed_device = model.embedding().device;
  const c10::Device head_device = model.head().device;
  // The ids go to the device before vision is queued, without waiting for it: from vision to the
  // first token's stop check nothing synchronises with the host.
  const ModelForward::PromptTokens prompt = forward_.stage_prompt(input_ids);
  std::optional<StageMark> vision_start, vision_end;
  torch::Tensor image_embeds;
  if (pixel_values.defined() && pixel_values.size(0) > 0) {
    vision_start = StageMark::on(model.vision().device);
    image_embeds = forward_.encode_images(pixel_values);
    vision_end =
        StageMark::on(model.projector().device, model.projector().device != model.vision().device);
  }

  const StageMark prefill_start = StageMark::on(embed_device);
  torch::Tensor hidden = forward_.embed(prompt, image_embeds);
  hidden = forward_.decode_layers(hidden, cache_, 0);
  torch::Tensor logits = forward_.head_logits(hidden);  // [1,1,V]
  torch::Tensor next_dev = logits.argmax(-1);           // [1,1]: ties to the lowest id
  const StageMark prefill_end = StageMark::on(head_device, head_device != embed_device);
  int64_t pos = result.input_tokens;

  Stopwatch decode_watch;
  for (int64_t step = 0; step < options.max_new_tokens; ++step) {
    if (options.keep_logits) result.logits.push_back(logits.reshape({-1}).to(torch::kCPU).clone());
    // The next id stays on the device; reading it for the stop check is the loop's one host
    // synchronisation.
    const int64_t next = next_dev.item<int64_t>();
    if (step == 0) decode_watch.restart();
    result.ids.push_back(next);
    if (step + 1 >= options.min_new_tokens &&
        std::find(options.stop_ids.begin(), options.stop_ids.end(), next) !=
            options.stop_ids.end()) {
      result.stop_reason = "stop_id";
      break;
    }
    if (step + 1 == options.max_new_tokens) {
      result.stop_reason = "max_new_tokens";
      break;
    }
    const DecodeStep::Output out = step_.run(next_dev, pos);
    logits = out.logits;
    next_dev = out.next_id;
    ++pos;
  }
  if (vision_start) result.times["vision"] = StageMark::elapsed_ms(*vision_start, *vision_end);
  result.times["prefill"] = StageMark::elapsed_ms(prefill_start, prefill_end);
  result.times["decode"] = decode_watch.elapsed_ms();
  result.decode_steps = static_cast<int64_t>(result.ids.size()) - 1;
  return result;
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
