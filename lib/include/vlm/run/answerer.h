// What the run loop answers its items with: a prompt in, its answer (ids, text, stage times) out,
// several prompts in flight at once (continuous batching). ModelSession (run/model_session.h) is
// the real one; the loop's unit tests drive the loop with a fake (tests/run/loop/fake_answerer.h)
// through run_evaluation's AnswererProviders (run/evaluation.h).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <exception>
#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "vlm/core/timer.h"
#include "vlm/data/prompt.h"
#include "vlm/run/model_config.h"

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

// The device work an answerer queued ahead for a prepared prompt (Answerer::prepare_ahead): opaque
// outside the answerer that made it (ModelSession's is defined in run/model_session.cpp).
struct DeviceAhead;

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
  // What prepare_ahead() queued for it, taken by start() instead of doing that work itself; null
  // when nothing was queued. Drop it to have start() do the work again (an out-of-memory retry).
  std::shared_ptr<DeviceAhead> ahead;
};

// The loop's view of a model. start() while has_free_slot(), step() while in_flight() > 0: every
// started prompt comes back exactly once, from start() or from a step(), as an Answer.
class Answerer {
 public:
  struct Answer {
    uint64_t tag = 0;          // start()'s tag
    PromptOutput output;       // the answer; with an error, what was done before it
    std::exception_ptr error;  // set when the prompt failed
  };

  virtual ~Answerer() = default;

  // The host half of a prompt (images decoded and tiled, template rendered, tokenized), at most
  // `max_tiles` tiles per image; `what` names the item in errors. Thread-safe: runs on the
  // run-ahead pool's threads, several at once, while the answerer generates.
  virtual PreparedPrompt prepare_host(const Prompt& prompt, int max_tiles,
                                      const std::string& what) const = 0;
  // Prompts in flight at most, and now.
  virtual int64_t batch() const = 0;
  virtual int64_t in_flight() const = 0;
  bool has_free_slot() const { return in_flight() < batch(); }
  // Stop ids are ignored until this many tokens exist (a dataset's min_new_tokens).
  virtual void set_min_new_tokens(int64_t n) = 0;
  // Starts `prepared` under `tag` (unique among those in flight), generating up to
  // `max_new_tokens`; returns the answers that finished (a one-token answer, or the prompt's own
  // error, comes back here).
  virtual std::vector<Answer> start(uint64_t tag, const PreparedPrompt& prepared,
                                    int64_t max_new_tokens) = 0;
  // One decode step of every prompt in flight; the answers that finished.
  virtual std::vector<Answer> step() = 0;
  // Queues the device work of `prepared`, which start() will take later (on a GPU: its image
  // preprocessing, vision and projector, on side streams), so that it overlaps the work in flight;
  // sets prepared.ahead. The answers are identical with or without it, errors included: an error
  // of the queued work is the prompt's, raised by its start(). On the generating thread, between
  // start()/step() calls; at most once per prepared prompt. Default: nothing (prepared.ahead stays
  // null).
  virtual void prepare_ahead(PreparedPrompt& prepared) { (void)prepared; }

 protected:
  Answerer() = default;
  Answerer(const Answerer&) = default;
  Answerer& operator=(const Answerer&) = default;
};

// Where the loop gets the Answerer of one model of the run: made at the first item that needs one
// (the real run loads the model there, evaluation.cpp's LazyModel), then the same one for every
// later dataset of the model.
class AnswererProvider {
 public:
  virtual ~AnswererProvider() = default;
  // The model's config: its run name, tiles per image per dataset, max_new_tokens.
  virtual const ModelConfig& config() const = 0;
  // Whether answerer() has made its Answerer, and how long that took (ms; run.json's "load").
  virtual bool loaded() const = 0;
  virtual double load_ms() const = 0;
  // The Answerer, made on the first call. Its errors are the run's (a model that cannot load).
  virtual Answerer& answerer() = 0;

 protected:
  AnswererProvider() = default;
  AnswererProvider(const AnswererProvider&) = default;
  AnswererProvider& operator=(const AnswererProvider&) = default;
};

}  // namespace vlm
