#include "vlm/generate/golden_check.h"

#include <algorithm>
#include <cmath>

#include "vlm/core/error.h"

namespace vlm {

torch::Tensor golden_pixel_values(int64_t tiles, int64_t image_size) {
  if (tiles == 0) return torch::Tensor();
  torch::Tensor i = torch::arange(tiles * 3 * image_size * image_size, torch::kInt64);
  torch::Tensor v = ((i * 7919) % 2003).to(torch::kFloat32) / 1001.5 - 1.0;
  return v.reshape({tiles, 3, image_size, image_size});
}

std::vector<GoldenCaseResult> check_golden(Generator& gen, const nlohmann::json& golden,
                                           int64_t image_size, const std::string& where) {
  std::vector<GoldenCaseResult> results;
  try {
    for (const auto& c : golden.at("cases")) {
      GoldenCaseResult r;
      r.name = c.value("name", "case " + std::to_string(results.size()));
      const auto input_ids = c.at("input_ids").get<std::vector<int64_t>>();
      r.ref_ids = c.at("greedy_ids").get<std::vector<int64_t>>();
      const auto& step_logits = c.at("step_logits");
      check_user(step_logits.size() == r.ref_ids.size(),
                 where + ": case " + r.name + ": step_logits and greedy_ids differ in length");
      GenerationOptions opt;
      opt.max_new_tokens = static_cast<int64_t>(r.ref_ids.size());
      opt.keep_logits = true;
      const torch::Tensor ids = torch::tensor(input_ids, torch::kInt64).unsqueeze(0);
      const GenerationResult g =
          gen.generate(ids, golden_pixel_values(c.at("num_tiles").get<int64_t>(), image_size), opt);
      r.ids = g.ids;
      r.steps = static_cast<int64_t>(g.logits.size());
      for (int64_t s = 0; s < r.steps; ++s) {
        const torch::Tensor ref =
            torch::tensor(step_logits[s].get<std::vector<float>>(), torch::kFloat32);
        check_user(ref.numel() == g.logits[s].numel(),
                   where + ": case " + r.name + ": step " + std::to_string(s) + " has " +
                       std::to_string(ref.numel()) + " logits, the model " +
                       std::to_string(g.logits[s].numel()));
        r.max_abs_dlogit = std::max(
            r.max_abs_dlogit, (g.logits[s].to(torch::kFloat32) - ref).abs().max().item<double>());
        r.max_abs_logit = std::max(r.max_abs_logit, ref.abs().max().item<double>());
        // Past a differing id the two continue from different prefixes: stop comparing there.
        if (r.ids[s] != r.ref_ids[s]) {
          r.first_id_mismatch = s;
          r.steps = s + 1;
          break;
        }
      }
      results.push_back(std::move(r));
    }
  } catch (const nlohmann::json::exception& e) {
    throw UserError(where + ": " + e.what());
  }
  return results;
}

}  // namespace vlm
