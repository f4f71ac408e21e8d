#include "vlm/run/model_session.h"

#include <ATen/record_function.h>

#ifdef VLM_WITH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

#include <algorithm>
#include <cstdint>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "vlm/core/error.h"
#include "vlm/model/profile_trace.h"
#include "vlm/model/stage_clock.h"
#include "vlm/model/torch_error.h"
#include "vlm/text/tokenizer_spec.h"
#include "vlm/vision/image_decode.h"

namespace vlm {

// What ModelSession::prepare_ahead() queued for a prompt, taken by its start(): the device
// preprocessing (its marks) and the images encoded by vision and projector, or the error either
// threw (kept for start() to raise at the point where start() would have met it).
struct DeviceAhead {
  std::exception_ptr preprocess_error;  // what the preprocessing threw (nothing else ran then)
  StageMark preprocess_start, preprocess_end;
  EncodedImages images;             // on side streams; images.ready marks their end
  std::exception_ptr encode_error;  // what vision or projector threw
};

PreprocessOptions preprocess_options_from_json(const nlohmann::json& j) {
  PreprocessOptions o;
  try {
    o.image_size = j.value("image_size", o.image_size);
    if (j.contains("mean")) o.mean = j["mean"].get<std::array<double, 3>>();
    if (j.contains("std")) o.std_dev = j["std"].get<std::array<double, 3>>();
    o.min_tiles = j.value("min_dynamic_patch", o.min_tiles);
    o.use_thumbnail = j.value("use_thumbnail", o.use_thumbnail);
  } catch (const nlohmann::json::exception& e) {
    throw UserError(std::string("manifest.json: preprocess: ") + e.what());
  }
  return o;
}

ModelSession::ModelSession(std::shared_ptr<const LoadedModel> model, bool cuda_graphs,
                           int64_t batch)
    : model_(std::move(model)),
      tokenizer_(make_tokenizer(
          TokenizerSpec::from_json(model_->manifest().tokenizer, model_->manifest().dir))),
      template_(ChatTemplate::from_json(model_->manifest().chat_template)),
      preprocessor_(preprocess_options_from_json(model_->manifest().preprocess)),
      device_preprocessor_(preprocess_options_from_json(model_->manifest().preprocess)),
      cuda_graphs_(cuda_graphs),
      batch_(Generator::checked_batch(batch)),
      ahead_on_cuda_(model_->vision().device.is_cuda() && model_->projector().device.is_cuda() &&
                     model_->embedding().device.is_cuda()) {}

void ModelSession::reserve(int64_t capacity) {
  if (generator_ && generator_->capacity() >= capacity) return;
  check_internal(flight_.empty(), "ModelSession::reserve with prompts in flight");
  generator_.reset();  // the old cache goes before the new one is allocated
  const c10::Device first =
      model_->layers().empty() ? model_->embedding().device : model_->layers().front()->device;
  generator_ = with_device_errors(
      "the KV cache of " + std::to_string(capacity) + " positions", first,
      [&] { return std::make_unique<Generator>(model_, capacity, cuda_graphs_, batch_); });
}

std::map<std::string, int64_t> ModelSession::kv_cache_bytes() const {
  return generator_ ? generator_->kv_cache().bytes_by_device() : std::map<std::string, int64_t>{};
}

PreparedPrompt ModelSession::prepare(const Prompt& prompt, int max_tiles,
                                     const std::string& what) const {
  PreparedPrompt p = prepare_host(prompt, max_tiles, what);
  prepare_device(p);
  return p;
}

PreparedPrompt ModelSession::prepare_host(const Prompt& prompt, int max_tiles,
                                          const std::string& what) const {
  // Only const members and the immutable model are read here, and nothing but the host runs: the
  // device path keeps the decoded images for prepare_device().
  const c10::Device vision_device = model_->vision().device;
  return with_device_errors("preprocessing", vision_device, [&] {
    Stopwatch host;
    PreparedPrompt p;
    Stopwatch watch;
    std::vector<cv::Mat> images;
    for (size_t k = 0; k < prompt.images.size(); ++k) {
      const std::string name =
          what + (prompt.images.size() > 1 ? " image " + std::to_string(k + 1) : "");
      images.push_back(decode_image(prompt.images[k].bytes(name), name));
    }
    p.times["image_decode"] = watch.elapsed_ms();

    if (vision_device.is_cuda()) {
      for (const cv::Mat& image : images)
        p.tiles_per_image.push_back(preprocessor_.num_tiles(image.cols, image.rows, max_tiles));
      p.images = std::move(images);
      p.max_tiles = max_tiles;
    } else {
      watch.restart();
      std::vector<torch::Tensor> pixels;
      for (const cv::Mat& image : images) {
        PreprocessedImage pre = preprocessor_.preprocess(image, max_tiles);
        p.tiles_per_image.push_back(pre.num_tiles);
        pixels.push_back(pre.pixel_values);
      }
      if (!pixels.empty()) p.pixel_values = torch::cat(pixels, 0);
      p.times["preprocess"] = watch.elapsed_ms();
    }

    watch.restart();
    p.query = template_.render(prompt.text);
    const std::string expanded = expand_image_tokens(
        p.query, p.tiles_per_image, static_cast<int>(model_->manifest().vision.num_image_token));
    p.input_ids = tokenizer_->encode(expanded);
    p.times["tokenize"] = watch.elapsed_ms();
    p.host_ms = host.elapsed_ms();
    return p;
  });
}

std::pair<StageMark, StageMark> ModelSession::queue_preprocess(PreparedPrompt& p) const {
  const c10::Device vision_device = model_->vision().device;
  // The resize and normalisation run on the GPU, as tensor ops, straight into the model dtype.
  const StageMark start = StageMark::on(vision_device);
  std::vector<torch::Tensor> pixels;
  for (size_t k = 0; k < p.images.size(); ++k) {
    PreprocessedImage pre = device_preprocessor_.preprocess(p.images[k], p.max_tiles, vision_device,
                                                            model_->manifest().dtype);
    check_internal(k < p.tiles_per_image.size() && pre.num_tiles == p.tiles_per_image[k],
                   "device preprocessing made " + std::to_string(pre.num_tiles) +
                       " tiles of an image the host counted otherwise");
    pixels.push_back(pre.pixel_values);
  }
  if (!pixels.empty()) p.pixel_values = torch::cat(pixels, 0);
  p.images.clear();
  return {start, StageMark::on(vision_device)};
}

void ModelSession::prepare_device(PreparedPrompt& p) const {
  const c10::Device vision_device = model_->vision().device;
  if (!vision_device.is_cuda()) return;
  with_device_errors("preprocessing", vision_device, [&] {
    RECORD_USER_SCOPE(kStageScopePreprocess);
    const auto [start, end] = queue_preprocess(p);
    // Its time is the GPU time (events; waits for it here, before any decoding).
    p.times["preprocess"] = StageMark::elapsed_ms(start, end);
  });
}

void ModelSession::prepare_ahead(PreparedPrompt& p) {
  if (!ahead_on_cuda_ || p.ahead || p.images.empty() || !generator_) return;
  auto ahead = std::make_shared<DeviceAhead>();
#ifdef VLM_WITH_CUDA
  if (ahead_streams_.empty()) {
    for (const c10::Device d :
         {model_->vision().device, model_->projector().device, model_->embedding().device}) {
      const bool seen = std::any_of(ahead_streams_.begin(), ahead_streams_.end(),
                                    [&](const c10::Stream& s) { return s.device() == d; });
      // High priority: never the low-priority pool stream a decode step captures on.
      if (!seen)
        ahead_streams_.push_back(c10::cuda::getStreamFromPool(/*isHighPriority=*/true, d.index()));
    }
  }
  std::vector<c10::cuda::CUDAStream> streams;
  for (const c10::Stream& s : ahead_streams_) streams.emplace_back(s);
  const c10::cuda::CUDAMultiStreamGuard on_side_streams(streams);
#endif
  // A copy of what the preprocessing reads: `p` keeps its images for a start() without `ahead`
  // (an out-of-memory retry drops it).
  PreparedPrompt q;
  q.images = p.images;
  q.max_tiles = p.max_tiles;
  q.tiles_per_image = p.tiles_per_image;
  try {
    with_device_errors("preprocessing", model_->vision().device, [&] {
      RECORD_USER_SCOPE(kStageScopePreprocess);
      std::tie(ahead->preprocess_start, ahead->preprocess_end) = queue_preprocess(q);
    });
  } catch (...) {
    ahead->preprocess_error = std::current_exception();
  }
  if (!ahead->preprocess_error) {
    try {
      with_device_errors("generation", model_->embedding().device,
                         [&] { ahead->images = generator_->encode_images(q.pixel_values); });
    } catch (...) {
      ahead->encode_error = std::current_exception();
    }
  }
  p.ahead = std::move(ahead);
}

void ModelSession::finish_device_half(PreparedPrompt& p) const {
  if (!p.ahead) return prepare_device(p);
  const DeviceAhead& ahead = *p.ahead;
  if (ahead.preprocess_error) std::rethrow_exception(ahead.preprocess_error);
  with_device_errors("preprocessing", model_->vision().device, [&] {
    p.times["preprocess"] = StageMark::elapsed_ms(ahead.preprocess_start, ahead.preprocess_end);
  });
}

void ModelSession::start_generator(uint64_t tag, const PreparedPrompt& p, int64_t max_new_tokens) {
  torch::Tensor ids = torch::tensor(p.input_ids, torch::kInt64).unsqueeze(0);
  const GenerationOptions options = generation_options(max_new_tokens);
  with_device_errors("generation", model_->embedding().device, [&] {
    if (!p.ahead) return generator_->start(tag, ids, p.pixel_values, options);
    generator_->check_start(ids.size(1), options);
    if (p.ahead->encode_error) std::rethrow_exception(p.ahead->encode_error);
    generator_->start(tag, ids, p.ahead->images, options);
  });
}

GenerationOptions ModelSession::generation_options(int64_t max_new_tokens) const {
  GenerationOptions gen;
  gen.max_new_tokens = max_new_tokens;
  gen.stop_ids = model_->manifest().stop_ids;
  gen.min_new_tokens = min_new_tokens_;
  gen.prefill_bucket = prefill_bucket_;
  return gen;
}

GenerationResult ModelSession::generate(const PreparedPrompt& prepared, int64_t max_new_tokens) {
  check_internal(generator_ != nullptr, "ModelSession::generate before reserve()");
  torch::Tensor ids = torch::tensor(prepared.input_ids, torch::kInt64).unsqueeze(0);
  return generator_->generate(ids, prepared.pixel_values, generation_options(max_new_tokens));
}

PromptOutput ModelSession::answer(const Prompt& prompt, int max_tiles, int64_t max_new_tokens,
                                  const std::string& what, PromptOutput* partial) {
  Stopwatch total;
  PreparedPrompt host;
  try {
    host = prepare_host(prompt, max_tiles, what);
  } catch (...) {
    if (partial) {
      *partial = PromptOutput{};
      partial->times["total"] = total.elapsed_ms();
    }
    throw;
  }
  return answer_prepared(host, max_new_tokens, partial);
}

PromptOutput ModelSession::answer_prepared(const PreparedPrompt& prepared, int64_t max_new_tokens,
                                           PromptOutput* partial) {
  check_internal(flight_.empty(), "ModelSession::answer_prepared with prompts in flight");
  std::vector<Answer> answers = start(0, prepared, max_new_tokens);
  while (answers.empty()) answers = step();
  check_internal(answers.size() == 1, "ModelSession::answer_prepared: one prompt in, one out");
  Answer& a = answers.front();
  if (a.error) {
    if (partial) *partial = std::move(a.output);
    std::rethrow_exception(a.error);
  }
  return std::move(a.output);
}

ModelSession::Answer ModelSession::failed(uint64_t tag) {
  auto it = flight_.find(tag);
  check_internal(it != flight_.end(), "ModelSession: no prompt in flight under this tag");
  Answer a;
  a.tag = tag;
  a.output = std::move(it->second.output);
  a.output.times["total"] = it->second.total_ms();
  a.error = std::current_exception();
  flight_.erase(it);
  return a;
}

std::vector<ModelSession::Answer> ModelSession::start(uint64_t tag, const PreparedPrompt& prepared,
                                                      int64_t max_new_tokens) {
  check_internal(generator_ != nullptr, "ModelSession::start before reserve()");
  check_internal(has_free_slot() && flight_.count(tag) == 0,
                 "ModelSession::start without a free slot, or with a tag in flight");
  InFlight& f = flight_[tag];
  f.host_ms = prepared.host_ms;
  try {
    PreparedPrompt p = prepared;  // shares the images and tensors; the caller's stays as it was
    finish_device_half(p);
    f.output.query = std::move(p.query);
    f.output.tiles_per_image = p.tiles_per_image;
    f.output.input_ids = p.input_ids;
    f.output.times = p.times;
    start_generator(tag, p, max_new_tokens);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::kInternal) return {failed(tag)};
    flight_.erase(tag);
    throw;
  } catch (...) {
    flight_.erase(tag);
    throw;
  }
  return collect_finished();
}

std::vector<ModelSession::Answer> ModelSession::step() {
  check_internal(generator_ != nullptr && !flight_.empty(),
                 "ModelSession::step with nothing to do");
  try {
    with_device_errors("generation", model_->embedding().device, [&] { generator_->step(); });
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::kInternal) {
      std::vector<Answer> out;
      for (uint64_t tag : generator_->dropped()) out.push_back(failed(tag));
      return out;
    }
    flight_.clear();
    throw;
  } catch (...) {
    flight_.clear();
    throw;
  }
  return collect_finished();
}

std::vector<ModelSession::Answer> ModelSession::collect_finished() {
  std::vector<Answer> out;
  for (Generator::Finished& done : generator_->take_finished()) {
    auto it = flight_.find(done.tag);
    check_internal(it != flight_.end(),
                   "the generator finished a prompt the session never started");
    Answer a;
    a.tag = done.tag;
    a.output = std::move(it->second.output);
    const GenerationResult& r = done.result;
    a.output.output_ids = r.ids;
    a.output.stop_reason = r.stop_reason;
    for (const auto& [stage, ms] : r.times) a.output.times[stage] = ms;
    try {
      a.output.prediction = template_.postprocess_response(
          tokenizer_->decode(a.output.output_ids, /*skip_special=*/true));
    } catch (const Error& e) {  // an id the tokenizer cannot decode: the prompt's own error
      if (e.kind() == ErrorKind::kInternal) throw;
      a.error = std::current_exception();
    }
    a.output.times["total"] = it->second.total_ms();
    flight_.erase(it);
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace vlm
