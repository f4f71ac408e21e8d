// One loaded model with everything needed to answer a prompt: tokenizer, chat template,
// image preprocessing and a generator. Shared by `run` (per dataset item) and `generate`.
#pragma once

#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <opencv2/core.hpp>
#include <optional>
#include <string>
#include <vector>

#include "vlm/core/timer.h"
#include "vlm/data/prompt.h"
#include "vlm/generate/generator.h"
#include "vlm/model/loaded_model.h"
#include "vlm/text/chat_template.h"
#include "vlm/text/tokenizer.h"
#include "vlm/vision/device_preprocess.h"
#include "vlm/vision/image_preprocessor.h"

namespace vlm {

// Everything one prompt produced.
struct PromptOutput {
  std::string query;                 // the templated text before <image> expansion
  std::vector<int> tiles_per_image;  // tiles (thumbnail included) of each image, in order
  std::vector<int64_t> input_ids;    // the tokenized prompt, image tokens included
  std::vector<int64_t> output_ids;   // generated ids (stop id included when hit)
  std::string stop_reason;           // "stop_id" | "max_new_tokens"
  std::string prediction;            // decoded, cut at the separator, stripped
  StageTimes times;                  // ms: image_decode, preprocess, tokenize, vision, prefill,
                                     //     decode, total
};

// A prompt made ready for the model: pixels and ids (answer() = prepare + generate + decode).
// prepare_host() makes it on any thread; prepare_device() finishes it on the generating thread.
struct PreparedPrompt {
  std::string query;                 // the templated text before <image> expansion
  std::vector<int> tiles_per_image;  // tiles (thumbnail included) of each image, in order
  std::vector<int64_t> input_ids;    // the tokenized prompt, image tokens included
  // [tiles, 3, S, S], undefined without images: float32 on the CPU, or already in the model dtype
  // on the vision unit's device when that is a GPU (the device path, bit-identical before the
  // cast; see vision/device_preprocess.h). Undefined on the device path until prepare_device().
  torch::Tensor pixel_values;
  // The device path between prepare_host() and prepare_device(): the decoded RGB images, in order,
  // and the tile limit they are tiled with. Empty otherwise.
  std::vector<cv::Mat> images;
  int max_tiles = 0;
  StageTimes times;    // ms: image_decode, preprocess, tokenize
  double host_ms = 0;  // ms: prepare_host() from start to end (a part of answer()'s "total")
};

class ModelSession {
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

  // Continuous batching over prepared prompts (the run loop): start() while has_free_slot(),
  // step() while in_flight() > 0. Every started prompt comes back exactly once, from start() or
  // from a step(), as an Answer: what answer_prepared() would have returned, or the error it would
  // have thrown with its `partial`.
  struct Answer {
    uint64_t tag = 0;
    PromptOutput output;       // the answer; with an error, what was done before it
    std::exception_ptr error;  // set when the prompt failed
  };
  // Starts `prepared` (prepare_device(), vision, prefill, first token) under `tag`; returns the
  // answers that finished (a one-token answer, or the prompt's own error, comes back here).
  std::vector<Answer> start(uint64_t tag, const PreparedPrompt& prepared, int64_t max_new_tokens);
  // One decode step of every prompt in flight; the answers that finished. A device error in the
  // step fails every prompt that was in flight with it.
  std::vector<Answer> step();
  int64_t batch() const { return batch_; }
  int64_t in_flight() const { return static_cast<int64_t>(flight_.size()); }
  bool has_free_slot() const { return in_flight() < batch_; }

  // The first half of answer(): prepare_host() then prepare_device().
  PreparedPrompt prepare(const Prompt& prompt, int max_tiles, const std::string& what) const;
  // The host half of prepare(): images decoded and tiled, template rendered, tokenized; on a host
  // vision device also resized and normalised (pixel_values). Touches no GPU (no CUDA call at all)
  // and reads only immutable state: safe on any thread, several at once, while the session
  // generates. Errors as answer()'s (LibTorch errors as DeviceErrors of "preprocessing").
  PreparedPrompt prepare_host(const Prompt& prompt, int max_tiles, const std::string& what) const;
  // The device half: on a GPU vision device, the held images preprocessed there into
  // pixel_values and "preprocess" timed; nothing otherwise. On the thread that generates.
  void prepare_device(PreparedPrompt& prepared) const;
  // The second half without the text: greedy generation on a prepared prompt.
  GenerationResult generate(const PreparedPrompt& prepared, int64_t max_new_tokens);

  // Stop ids are ignored until this many tokens exist (benchmarks: answers of a fixed length).
  void set_min_new_tokens(int64_t n) { min_new_tokens_ = n; }

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
  };
  GenerationOptions generation_options(int64_t max_new_tokens) const;
  // The answers of the sequences the generator finished, completed into PromptOutputs.
  std::vector<Answer> collect_finished();
  // Fails the started prompt `tag` with the exception being handled (within a catch block).
  Answer failed(uint64_t tag);

  std::unique_ptr<Generator> generator_;
  bool cuda_graphs_;
  int64_t batch_;
  int64_t min_new_tokens_ = 0;
  std::map<uint64_t, InFlight> flight_;
};

// The manifest's "preprocess" block as PreprocessOptions; errors name the field.
PreprocessOptions preprocess_options_from_json(const nlohmann::json& j);

}  // namespace vlm
