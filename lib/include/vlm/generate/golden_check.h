// Checking an export on this machine against reference logits: the exporter's golden.json, or
// the same format written by another implementation (scripts/fixtures/transformers_reference.py writes it
// from transformers' InternVLForConditionalGeneration). See docs/model-format.md, "golden.json".
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "vlm/generate/generator.h"

namespace vlm {

// The golden pixel pattern: ((arange(n*3*s*s) * 7919) % 2003) / 1001.5 - 1.0, computed in int64
// then float32, shaped [n,3,s,s]. Undefined for n == 0.
torch::Tensor golden_pixel_values(int64_t tiles, int64_t image_size);

struct GoldenCaseResult {
  std::string name;
  int64_t steps = 0;               // greedy steps compared (stops at the first differing id)
  double max_abs_dlogit = 0;       // over every step's logits
  double max_abs_logit = 0;        // the reference's largest |logit|, for scale
  int64_t first_id_mismatch = -1;  // step of the first differing greedy id; -1: all equal
  std::vector<int64_t> ids;        // this runtime's greedy ids
  std::vector<int64_t> ref_ids;    // the reference's greedy ids
};

// Runs every case of `golden` (input_ids, num_tiles, greedy_ids, step_logits) through `gen`
// greedily with no stop ids and compares the logits step by step, up to and including the first
// step whose greedy id differs (past it the prefixes differ). Throws
// UserError naming `where` and the field when the file is malformed.
std::vector<GoldenCaseResult> check_golden(Generator& gen, const nlohmann::json& golden,
                                           int64_t image_size, const std::string& where);

}  // namespace vlm
