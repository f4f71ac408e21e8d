// Settings of one generation call.
#pragma once

#include <cstdint>
#include <vector>

namespace vlm {

struct GenerationOptions {
  int64_t max_new_tokens = 1024;  // upper bound on generated tokens (stop id included)
  std::vector<int64_t> stop_ids;  // generation ends after emitting any of these
  int64_t min_new_tokens = 0;     // stop ids are ignored until this many tokens exist (HF's
                                  // min_new_tokens; benchmarks use it for a fixed length)
  bool keep_logits = false;       // keep each step's logits in the result (tests, debugging)

  // Throws UserError naming the field when a value is out of range.
  void validate() const;
};

}  // namespace vlm
