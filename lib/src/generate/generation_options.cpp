#include "vlm/generate/generation_options.h"

#include <string>

#include "vlm/core/error.h"

namespace vlm {

void GenerationOptions::validate() const {
  check_user(max_new_tokens > 0,
             "generation.max_new_tokens must be > 0, got " + std::to_string(max_new_tokens));
  check_user(prefill_bucket >= 0 && prefill_bucket <= kMaxPrefillBucket,
             "generation.prefill_bucket must be 0 to " + std::to_string(kMaxPrefillBucket) +
                 ", got " + std::to_string(prefill_bucket));
}

}  // namespace vlm
