// A model-free Answerer (run/answerer.h) for the loop's unit tests: deterministic answers read from
// the prompt text, so that a test's TSV decides what each item gets.
//
// In an item's prompt text (its question):
//   "say:X"          the prediction is X (default: "A")
//   "steps:N"        the answer has N tokens: it comes back from start() when N is 1, else from its
//                    (N-1)th step() (default: 1 + the text's length % 4, so that items of one batch
//                    finish at different steps); max_new_tokens caps it
//   "fail:prepare"   prepare_host() throws a UserError (on the run-ahead pool's thread)
//   "fail:start"     start() returns the prompt's UserError
//   "fail:step"      its last step() returns the prompt's UserError
//   "fail:oom"       its first start() returns an out-of-memory DeviceError (the loop tries once
//                    more), a later start() answers
// prepare_ahead() marks the prompt (prepared.ahead set to a token it never reads); the answers do
// not depend on it. Every call is logged in order (FakeLog::calls) for the tests of --overlap.
// The stop reason is "stop_id" (or "max_new_tokens" when capped); times are fixed, so that records
// are the same whatever the batch.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "vlm/core/error.h"
#include "vlm/run/answerer.h"

namespace vlm::testing {

// One call of the loop to a FakeAnswerer.
struct FakeCall {
  std::string kind;    // "ahead" (prepare_ahead), "start" or "step"
  std::string query;   // the prompt text (ahead, start); empty for a step
  bool ahead = false;  // start(): its prepared prompt came with prepare_ahead's mark
};

// What a FakeAnswerer saw, shared with the test (the run owns the answerer).
struct FakeLog {
  std::vector<FakeCall> calls;       // prepare_ahead(), start() and step(), in order
  std::atomic<int> prepared{0};      // prepare_host() calls
  int loads = 0;                     // answerers made (FakeProvider::answerer())
  std::vector<std::string> started;  // the prompt text of each start(), in order
  int steps = 0;                     // step() calls
  int64_t max_in_flight = 0;         // the most prompts in flight at once
  int64_t min_new_tokens = -1;       // the last set_min_new_tokens()
};

class FakeAnswerer final : public Answerer {
 public:
  FakeAnswerer(int64_t batch, std::shared_ptr<FakeLog> log) : batch_(batch), log_(std::move(log)) {}

  PreparedPrompt prepare_host(const Prompt& prompt, int max_tiles,
                              const std::string& what) const override {
    ++log_->prepared;
    if (has(prompt.text, "fail:prepare")) throw UserError(what + ": fake: cannot prepare");
    PreparedPrompt p;
    p.query = prompt.text;
    p.tiles_per_image.assign(prompt.images.size(), max_tiles);
    for (unsigned char c : prompt.text) p.input_ids.push_back(c);
    p.times["tokenize"] = 1;
    p.host_ms = 1;
    return p;
  }
  int64_t batch() const override { return batch_; }
  int64_t in_flight() const override { return static_cast<int64_t>(flight_.size()); }
  void set_min_new_tokens(int64_t n) override { log_->min_new_tokens = n; }

  void prepare_ahead(PreparedPrompt& prepared) override {
    check_internal(!prepared.ahead, "fake: prepare_ahead() twice on one prepared prompt");
    log_->calls.push_back({"ahead", prepared.query, false});
    // A non-null token of the opaque type (never dereferenced): an aliasing shared_ptr.
    auto owner = std::make_shared<int>(0);
    prepared.ahead =
        std::shared_ptr<DeviceAhead>(owner, reinterpret_cast<DeviceAhead*>(owner.get()));
  }

  std::vector<Answer> start(uint64_t tag, const PreparedPrompt& prepared,
                            int64_t max_new_tokens) override {
    check_internal(has_free_slot() && flight_.count(tag) == 0, "fake: start() without a slot");
    log_->calls.push_back({"start", prepared.query, prepared.ahead != nullptr});
    log_->started.push_back(prepared.query);
    InFlight f;
    f.out.query = prepared.query;
    f.out.tiles_per_image = prepared.tiles_per_image;
    f.out.input_ids = prepared.input_ids;
    f.out.times = prepared.times;
    const int64_t wanted = number_after(prepared.query, "steps:", 1 + prepared.query.size() % 4);
    f.length = std::min(wanted, max_new_tokens);
    f.out.stop_reason = f.length < wanted ? "max_new_tokens" : "stop_id";
    f.out.prediction = word_after(prepared.query, "say:", "A");
    f.out.output_ids.push_back(1000);
    if (has(prepared.query, "fail:start")) return {failed(tag, f)};
    if (has(prepared.query, "fail:oom") && out_of_memory_once_.insert(prepared.query).second)
      return {failed(tag, f,
                     std::make_exception_ptr(DeviceError("fake: out of memory", "fake:0",
                                                         /*out_of_memory=*/true)))};
    flight_[tag] = f;
    log_->max_in_flight = std::max(log_->max_in_flight, in_flight());
    return collect();
  }

  std::vector<Answer> step() override {
    ++log_->steps;
    log_->calls.push_back({"step", "", false});
    for (auto& [tag, f] : flight_)
      f.out.output_ids.push_back(1000 + static_cast<int64_t>(f.out.output_ids.size()));
    return collect();
  }

 private:
  struct InFlight {
    PromptOutput out;
    int64_t length = 1;
  };
  static bool has(const std::string& text, const std::string& key) {
    return text.find(key) != std::string::npos;
  }
  static std::string word_after(const std::string& text, const std::string& key,
                                const std::string& fallback) {
    const size_t at = text.find(key);
    if (at == std::string::npos) return fallback;
    const size_t from = at + key.size();
    const size_t end = text.find_first_of(" \n;", from);
    return text.substr(from, end == std::string::npos ? std::string::npos : end - from);
  }
  static int64_t number_after(const std::string& text, const std::string& key, int64_t fallback) {
    const std::string w = word_after(text, key, "");
    return w.empty() ? fallback : std::stoll(w);
  }
  Answer failed(uint64_t tag, const InFlight& f,
                std::exception_ptr error =
                    std::make_exception_ptr(UserError("fake: failed on purpose"))) const {
    PromptOutput partial = f.out;
    partial.output_ids.clear();
    partial.prediction.clear();
    partial.times["total"] = 2;
    return {tag, partial, std::move(error)};
  }
  // The answers whose tokens are all out, in tag order.
  std::vector<Answer> collect() {
    std::vector<Answer> done;
    for (auto it = flight_.begin(); it != flight_.end();) {
      InFlight& f = it->second;
      if (static_cast<int64_t>(f.out.output_ids.size()) < f.length) {
        ++it;
        continue;
      }
      if (has(f.out.query, "fail:step")) {
        done.push_back(failed(it->first, f));
      } else {
        f.out.times["decode"] = static_cast<double>(f.length);
        f.out.times["total"] = 1 + static_cast<double>(f.length);
        done.push_back({it->first, f.out, nullptr});
      }
      it = flight_.erase(it);
    }
    return done;
  }

  int64_t batch_;
  std::shared_ptr<FakeLog> log_;
  std::map<uint64_t, InFlight> flight_;
  std::set<std::string> out_of_memory_once_;  // "fail:oom" prompts that failed their first start
};

// The run's provider of FakeAnswerers: `config` names the model (its name is the run name) and its
// tiles and max_new_tokens; the answerer is made at the first item that needs one.
class FakeProvider final : public AnswererProvider {
 public:
  FakeProvider(ModelConfig config, int64_t batch, std::shared_ptr<FakeLog> log)
      : config_(std::move(config)), batch_(batch), log_(std::move(log)) {}
  const ModelConfig& config() const override { return config_; }
  bool loaded() const override { return answerer_ != nullptr; }
  double load_ms() const override { return 0; }
  Answerer& answerer() override {
    if (!answerer_) {
      ++log_->loads;
      answerer_ = std::make_unique<FakeAnswerer>(batch_, log_);
    }
    return *answerer_;
  }

 private:
  ModelConfig config_;
  int64_t batch_;
  std::shared_ptr<FakeLog> log_;
  std::unique_ptr<FakeAnswerer> answerer_;
};

}  // namespace vlm::testing
