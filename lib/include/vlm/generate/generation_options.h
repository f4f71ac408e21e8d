// Settings of one generation call.
#pragma once

#include <cstdint>
#include <vector>

namespace vlm {

// The largest GenerationOptions::prefill_bucket.
constexpr int64_t kMaxPrefillBucket = 4096;

struct GenerationOptions {
  int64_t max_new_tokens = 1024;  // upper bound on generated tokens (stop id included)
  std::vector<int64_t> stop_ids;  // generation ends after emitting any of these
  int64_t min_new_tokens = 0;     // stop ids are ignored until this many tokens exist (HF's
                                  // min_new_tokens; benchmarks use it for a fixed length)
  bool keep_logits = false;       // keep each step's logits in the result (tests, debugging)
  // The prefill's length rounded up to a multiple of this many tokens, the extra positions
  // zero embeddings after the prompt (ModelForward::prefill_length decides; 0: the prompt's own
  // length). Causal attention keeps the prompt's rows blind to them, and each decode step writes
  // its position before reading it, so their keys are never read; what changes is that the
  // matmuls see a few row counts instead of a new one at almost every item (`--prefill-bucket`).
  int64_t prefill_bucket = 0;

  // Throws UserError naming the field when a value is out of range.
  void validate() const;
};

// Whether prefills at `prefill_bucket` are replayed from CUDA graphs where a placement allows them
// (prefill_graphs_apply, model/placement_plan.h): only with graphs on and a bucket, since without
// one almost every item brings a new length to capture. The one rule, for the generator and for
// the plan's reserve in `run`.
inline bool prefill_graphs_wanted(bool cuda_graphs, int64_t prefill_bucket) {
  return cuda_graphs && prefill_bucket > 0;
}

}  // namespace vlm
