// One loaded model with everything needed to answer a prompt: tokenizer, chat template,
// image preprocessing and a generator. Shared by `run` (per dataset item, as its Answerer,
// run/answerer.h, which also defines PromptOutput and PreparedPrompt) and `generate`.
#pragma once

#include <c10/core/Stream.h>

#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <opencv2/core.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "vlm/core/timer.h"
#include "vlm/data/prompt.h"
#include "vlm/generate/generator.h"
#include "vlm/model/loaded_model.h"
#include "vlm/model/stage_clock.h"
#include "vlm/run/answerer.h"
#include "vlm/text/chat_template.h"
#include "vlm/text/tokenizer.h"
#include "vlm/vision/device_preprocess.h"
#include "vlm/vision/image_preprocessor.h"

namespace vlm {

class ModelSession final : public Answerer {
 public:
  // cuda_graphs: decode steps on CUDA devices replayed from CUDA graphs (generate/decode_step.h).
  // batch: prompts in flight at once (continuous batching, generate/generator.h), from 1 to
  // ModelForward::kDecodeRows; the answers do not depend on it.
  explicit ModelSession(std::shared_ptr<const LoadedModel> model, bool cuda_graphs = true,
                        int64_t batch = 1);

  const LoadedModel& model() const { return *model_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  const ChatTemplate& chat_template() const { return template_; }

  // Makes sure prompts of up to `capacity` positions (prompt + new tokens) fit; (re)allocates the
  // KV cache when it grows. A failed allocation is a DeviceError.
  void reserve(int64_t capacity);
  int64_t capacity() const { return generator_ ? generator_->capacity() : 0; }
  // Bytes of the KV cache per device ("cuda:0" -> bytes); empty before reserve().
  std::map<std::string, int64_t> kv_cache_bytes() const;

  // Decodes the prompt's images, tiles each with at most `max_tiles` tiles, renders the chat
  // template, expands <image>, tokenizes, generates and decodes. `what` names the item in errors.
  // LibTorch errors leave as DeviceErrors naming the unit or stage and the device. When it throws
  // and `partial` is set, that holds what was done before the error: the tiles and input ids once
  // the prompt was prepared, the times of the stages that finished, and "total".
  PromptOutput answer(const Prompt& prompt, int max_tiles, int64_t max_new_tokens,
                      const std::string& what, PromptOutput* partial = nullptr);

  // answer() on a prompt that prepare_host() made (on this thread or another): prepare_device(),
  // generation and decoding, with answer()'s errors and `partial`; "total" includes host_ms.
  PromptOutput answer_prepared(const PreparedPrompt& prepared, int64_t max_new_tokens,
                               PromptOutput* partial = nullptr);

  // Continuous batching over prepared prompts (the run loop, Answerer): start() while
  // has_free_slot(), step() while in_flight() > 0. Every started prompt comes back exactly once,
  // from start() or from a step(), as an Answer: what answer_prepared() would have returned, or
  // the error it would have thrown with its `partial`.
  // Starts `prepared` (prepare_device(), vision, prefill, first token) under `tag`; returns the
  // answers that finished (a one-token answer, or the prompt's own error, comes back here).
  std::vector<Answer> start(uint64_t tag, const PreparedPrompt& prepared,
                            int64_t max_new_tokens) override;
  // One decode step of every prompt in flight; the answers that finished. A device error in the
  // step fails every prompt that was in flight with it.
  std::vector<Answer> step() override;
  // When the vision, projector and embedding units are all on CUDA devices and `prepared` has
  // images: its device preprocessing, vision and projector queued on this session's side streams
  // (one high-priority pool stream per device involved, taken once), so that they overlap the
  // prompts in flight; start() then waits for them on the device, not the host. Nothing
  // otherwise. An error of that work is kept and raised by start() where the work would have
  // raised it (same error, same `partial`). Needs reserve().
  void prepare_ahead(PreparedPrompt& prepared) override;
  int64_t batch() const override { return batch_; }
  int64_t in_flight() const override { return static_cast<int64_t>(flight_.size()); }

  // The first half of answer(): prepare_host() then prepare_device().
  PreparedPrompt prepare(const Prompt& prompt, int max_tiles, const std::string& what) const;
  // The host half of prepare(): images decoded and tiled, template rendered, tokenized; on a host
  // vision device also resized and normalised (pixel_values). Touches no GPU (no CUDA call at all)
  // and reads only immutable state: safe on any thread, several at once, while the session
  // generates. Errors as answer()'s (LibTorch errors as DeviceErrors of "preprocessing").
  PreparedPrompt prepare_host(const Prompt& prompt, int max_tiles,
                              const std::string& what) const override;
  // The device half: on a GPU vision device, the held images preprocessed there into
  // pixel_values and "preprocess" timed; nothing otherwise. On the thread that generates.
  void prepare_device(PreparedPrompt& prepared) const;
  // The second half without the text: greedy generation on a prepared prompt.
  GenerationResult generate(const PreparedPrompt& prepared, int64_t max_new_tokens);

  // Stop ids are ignored until this many tokens exist (benchmarks: answers of a fixed length).
  void set_min_new_tokens(int64_t n) override { min_new_tokens_ = n; }
  // GenerationOptions::prefill_bucket of every later prompt (`--prefill-bucket`; 0: none).
  void set_prefill_bucket(int64_t bucket) { prefill_bucket_ = bucket; }

 private:
  std::shared_ptr<const LoadedModel> model_;
  std::unique_ptr<Tokenizer> tokenizer_;
  ChatTemplate template_;
  ImagePreprocessor preprocessor_;
  DevicePreprocessor device_preprocessor_;
  // A started prompt until its answer is out: what it got to, and its clock.
  struct InFlight {
    PromptOutput output;
    double host_ms = 0;
    Stopwatch total;
    // The answer's "total": its host half plus its time since start().
    double total_ms() const { return host_ms + total.elapsed_ms(); }
  };
  GenerationOptions generation_options(int64_t max_new_tokens) const;
  // The answers of the sequences the generator finished, completed into PromptOutputs.
  std::vector<Answer> collect_finished();
  // Fails the started prompt `tag` with the exception being handled (within a catch block).
  Answer failed(uint64_t tag);
  // The device half without its time: the held images preprocessed into pixel_values on the
  // vision device's current stream (nothing waits), images cleared; returns the marks around the
  // work ("preprocess" is the time between them). Only with a CUDA vision device.
  std::pair<StageMark, StageMark> queue_preprocess(PreparedPrompt& prepared) const;
  // start()'s device work before the generator's: prepare_device(), or the preprocessing that
  // prepare_ahead() queued (its error rethrown, its time read).
  void finish_device_half(PreparedPrompt& p) const;
  // start()'s generator call: on the pixels, or on the images prepare_ahead() encoded (the
  // generator's checks first, then the encoding's error, as start() on the pixels raises them).
  void start_generator(uint64_t tag, const PreparedPrompt& p, int64_t max_new_tokens);

  std::unique_ptr<Generator> generator_;
  bool cuda_graphs_;
  int64_t batch_;
  int64_t min_new_tokens_ = 0;
  int64_t prefill_bucket_ = 0;
  std::map<uint64_t, InFlight> flight_;
  // prepare_ahead(): whether the vision side is all on CUDA, and its side streams (one per CUDA
  // device of vision, projector and embedding; taken at the first prepare_ahead()).
  bool ahead_on_cuda_ = false;
  std::vector<c10::Stream> ahead_streams_;
};

// The manifest's "preprocess" block as PreprocessOptions; errors name the field.
PreprocessOptions preprocess_options_from_json(const nlohmann::json& j);

}  // namespace vlm
