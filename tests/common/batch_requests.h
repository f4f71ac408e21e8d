// Generation requests over a tiny model's golden prompts that finish at different steps, and a
// continuous-batching driver for them: the batch tests of tests/generate and tests/gpu.
#pragma once

#include <torch/types.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "vlm/generate/generator.h"
#include "vlm/generate/golden_check.h"

namespace vlm::testing {

struct Request {
  torch::Tensor ids, pixels;
  GenerationOptions options;
};

// Seven requests over the golden prompts of the model at `dir` (an image prompt and a text prompt,
// alternately), each keeping its logits: some end at a stop id met at a known step (the golden
// greedy ids say which id comes when), some at their max_new_tokens, one after its first token.
inline std::vector<Request> staggered_requests(const std::filesystem::path& dir) {
  std::ifstream in(dir / "golden.json");
  const nlohmann::json golden = nlohmann::json::parse(in);
  const int64_t max_new[] = {9, 1, 14, 6, 11, 3, 12};
  const int stop_at[] = {4, -1, -1, 2, 7, -1, 5};
  std::vector<Request> out;
  for (size_t k = 0; k < 7; ++k) {
    const auto& c = golden["cases"][k % golden["cases"].size()];
    Request r;
    r.ids = torch::tensor(c["input_ids"].get<std::vector<int64_t>>(), torch::kInt64).unsqueeze(0);
    r.pixels = golden_pixel_values(c["num_tiles"].get<int64_t>(), 448);
    r.options.max_new_tokens = max_new[k];
    r.options.keep_logits = true;
    const auto greedy = c["greedy_ids"].get<std::vector<int64_t>>();
    if (stop_at[k] >= 0 && stop_at[k] < static_cast<int>(greedy.size()))
      r.options.stop_ids = {greedy[static_cast<size_t>(stop_at[k])]};
    out.push_back(r);
  }
  return out;
}

struct BatchRun {
  std::vector<GenerationResult> results;  // per request, in request order
  int64_t most_in_flight = 0;
  int64_t steps = 0;               // batched decode steps
  bool finished_at_start = false;  // a request ended at its first token
};

// Runs `requests` through `gen` as `run` does: a new request starts whenever a slot is free, one
// decode step serves every request in flight.
inline BatchRun run_batched(Generator& gen, const std::vector<Request>& requests) {
  BatchRun run;
  std::map<uint64_t, GenerationResult> got;
  size_t next = 0;
  while (next < requests.size() || gen.in_flight() > 0) {
    while (gen.has_free_slot() && next < requests.size()) {
      const Request& r = requests[next];
      gen.start(next, r.ids, r.pixels, r.options);
      ++next;
      for (auto& f : gen.take_finished()) {
        run.finished_at_start = true;
        got[f.tag] = std::move(f.result);
      }
    }
    run.most_in_flight = std::max(run.most_in_flight, gen.in_flight());
    if (gen.in_flight() == 0) continue;
    gen.step();
    ++run.steps;
    for (auto& f : gen.take_finished()) got[f.tag] = std::move(f.result);
  }
  for (auto& [tag, r] : got) run.results.push_back(std::move(r));
  return run;
}

}  // namespace vlm::testing
