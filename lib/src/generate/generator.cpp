#include "vlm/generate/generator.h"

#include <algorithm>
#include <cstdint>

#include "vlm/core/error.h"
#include "vlm/model/device_handoff.h"

namespace vlm {
namespace {

// Waits for queued device work so that stage times are real (no-op on the CPU).
void sync(const LoadedUnit& unit) {
  if (unit.device.is_cuda()) torch::empty({1}, torch::TensorOptions().device(unit.device)).cpu();
}

}  // namespace

Generator::Generator(std::shared_ptr<const LoadedModel> model, int64_t capacity)
    : forward_(model, capacity), cache_(*model, capacity) {}

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

  Stopwatch watch;
  torch::Tensor image_embeds;
  if (pixel_values.defined() && pixel_values.size(0) > 0) {
    image_embeds = forward_.encode_images(pixel_values);
    sync(model.embedding());
    result.times["vision"] = watch.elapsed_ms();
  }

  watch.restart();
  torch::Tensor hidden = forward_.embed(input_ids, image_embeds);
  hidden = forward_.decode_layers(hidden, cache_, 0);
  torch::Tensor logits = forward_.last_logits(hidden);
  int64_t pos = result.input_tokens;

  const c10::Device embed_device = model.embedding().device;
  for (int64_t step = 0; step < options.max_new_tokens; ++step) {
    if (options.keep_logits) result.logits.push_back(logits.to(torch::kCPU).clone());
    // The stop check is the loop's one host synchronisation.
    const int64_t next = logits.argmax().item<int64_t>();
    if (step == 0) {
      result.times["prefill"] = watch.elapsed_ms();
      watch.restart();
    }
    result.ids.push_back(next);
    if (std::find(options.stop_ids.begin(), options.stop_ids.end(), next) !=
        options.stop_ids.end()) {
      result.stop_reason = "stop_id";
      break;
    }
    if (step + 1 == options.max_new_tokens) {
      result.stop_reason = "max_new_tokens";
      break;
    }
    torch::Tensor ids = torch::full({1, 1}, next, torch::TensorOptions().dtype(torch::kInt64));
    hidden = forward_.embed_tokens(hand_off(ids, embed_device));
    hidden = forward_.decode_layers(hidden, cache_, pos);
    logits = forward_.last_logits(hidden);
    ++pos;
  }
  result.times["decode"] = watch.elapsed_ms();
  return result;
}

torch::Tensor Generator::full_forward_logits(const torch::Tensor& input_ids,
                                             const torch::Tensor& pixel_values) {
  c10::InferenceMode guard;
  torch::Tensor image_embeds;
  if (pixel_values.defined() && pixel_values.size(0) > 0)
    image_embeds = forward_.encode_images(pixel_values);
  KvCache fresh(forward_.model(), input_ids.size(1));
  torch::Tensor hidden = forward_.embed(input_ids, image_embeds);
  hidden = forward_.decode_layers(hidden, fresh, 0);
  return forward_.last_logits(hidden).to(torch::kCPU);
}

}  // namespace vlm
