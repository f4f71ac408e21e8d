#include "vlm/generate/generation_options.h"

#include <string>

#include "vlm/core/error.h"

namespace vlm {

void GenerationOptions::validate() const {
  check_user(max_new_tokens > 0,
             "generation.max_new_tokens must be > 0, got " + std::to_string(max_new_tokens));
}

}  // namespace vlm
