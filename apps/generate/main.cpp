// `generate`: check an export by hand. Prints the prompt's token ids, the generated ids and text.
// Exit codes as `run`: 0 ok, 1 unexpected, 2 user error, 3 internal error.
#include <torch/cuda.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "vlm/core/error.h"
#include "vlm/core/host_memory.h"
#include "vlm/core/log.h"
#include "vlm/data/image_source.h"
#include "vlm/data/internvl_prompt.h"
#include "vlm/generate/golden_check.h"
#include "vlm/run/model_session.h"
#include "vlm/run/placement_setup.h"

#ifndef VLM_DEFAULT_CONFIGS_DIR
#define VLM_DEFAULT_CONFIGS_DIR "configs"
#endif

namespace {

std::string ids_text(const std::vector<int64_t>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? " " : "") + std::to_string(ids[i]);
  return s;
}

// --golden: every case's greedy ids and logits against the reference file.
int check_against(const std::shared_ptr<const vlm::LoadedModel>& model, const std::string& path,
                  double tolerance, bool as_json, bool cuda_graphs) {
  std::ifstream in(path);
  vlm::check_user(static_cast<bool>(in), "cannot read " + path);
  const nlohmann::json ref = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  vlm::check_user(!ref.is_discarded(), path + ": not valid JSON");
  int64_t longest = 0;
  for (const auto& c : ref.value("cases", nlohmann::json::array()))
    longest = std::max<int64_t>(
        longest, static_cast<int64_t>(c.value("input_ids", nlohmann::json::array()).size() +
                                      c.value("greedy_ids", nlohmann::json::array()).size()));
  vlm::Generator gen(model, longest + 1, cuda_graphs);
  const auto results = vlm::check_golden(gen, ref, model->manifest().vision.image_size, path);
  bool ok = true;
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : results) {
    const bool case_ok =
        r.first_id_mismatch < 0 && (tolerance < 0 || r.max_abs_dlogit <= tolerance);
    ok = ok && case_ok;
    out.push_back({{"name", r.name},
                   {"steps", r.steps},
                   {"max_abs_dlogit", r.max_abs_dlogit},
                   {"max_abs_logit", r.max_abs_logit},
                   {"first_id_mismatch", r.first_id_mismatch},
                   {"ids", r.ids},
                   {"ref_ids", r.ref_ids},
                   {"ok", case_ok}});
    if (!as_json)
      std::cout << r.name << ": " << r.steps << " steps, max |dlogit| " << r.max_abs_dlogit
                << " (max |logit| " << r.max_abs_logit << "), greedy ids "
                << (r.first_id_mismatch < 0
                        ? std::string("identical")
                        : "differ from step " + std::to_string(r.first_id_mismatch))
                << (case_ok ? "" : "  FAIL") << "\n";
  }
  if (as_json)
    std::cout << nlohmann::json{{"reference", path},
                                {"dtype", c10::toString(model->manifest().dtype)},
                                {"tolerance", tolerance},
                                {"cases", out},
                                {"ok", ok}}
                     .dump(2)
              << "\n";
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  vlm::use_huge_pages_for_torch();  // before the first CPU tensor (core/host_memory.h)
  CLI::App app{"Generate with an exported InternVL2 model directory"};
  std::string model_dir, prompt_text, device = "auto", placement = "single", configs;
  std::vector<std::string> images;
  int64_t max_new_tokens = 64;
  int max_tiles = 6;
  bool as_json = false;
  bool cuda_graphs = true;
  std::string golden;
  double tolerance = -1;
  app.add_option("--model-dir", model_dir, "exported model directory")->required();
  auto* prompt_opt =
      app.add_option("--prompt", prompt_text, "the question; <image> marks where images go");
  auto* golden_opt = app.add_option(
      "--golden", golden,
      "instead of a prompt: compare with a golden.json-format reference (the export's own "
      "golden.json, or scripts/fixtures/transformers_reference.py's output); exit 1 when a greedy "
      "id "
      "differs or a logit differs by more than --tolerance");
  golden_opt->excludes(prompt_opt);
  app.add_option("--tolerance", tolerance, "with --golden: max |logit difference| allowed");
  app.add_option("--image", images, "image files, in <image> order");
  app.add_option("--max-new-tokens", max_new_tokens, "generation limit");
  app.add_option("--max-tiles", max_tiles, "tiles per image (InternVL2 max_num)");
  app.add_option("--device", device,
                 "device for placements whose devices are [auto]: cpu | cuda | cuda:N | auto");
  app.add_option("--placement", placement,
                 "placement config: NAME (configs/placements) or a .yaml / accelerate .json file");
  app.add_option("--configs", configs, "configs folder (default: the source tree's configs/)");
  app.add_flag("--json", as_json, "print one JSON object");
  app.add_flag(
      "!--no-cuda-graphs", cuda_graphs,
      "run decode steps and vision eagerly instead of replaying them from CUDA graphs (same "
      "ids)");
  CLI11_PARSE(app, argc, argv);
  if (golden.empty() && prompt_text.empty()) {
    std::cerr << "generate: error: --prompt or --golden is required\n";
    return 2;
  }

  const std::filesystem::path configs_dir = configs.empty() ? VLM_DEFAULT_CONFIGS_DIR : configs;
  try {
    vlm::Manifest manifest = vlm::load_manifest(model_dir);
    vlm::PlanCapacity capacity =
        vlm::run_capacity(manifest, {{static_cast<int>(images.size()), max_tiles}}, max_new_tokens);
    capacity.vision_graphs = cuda_graphs;
    vlm::PlacementPlan plan =
        vlm::plan_placement(manifest, placement, device, capacity, configs_dir / "placements",
                            vlm::Shard{}, vlm::current_device_inventory());
    vlm::log::info("placement " + placement + " (" + plan.strategy() + "):\n" + plan.table());
    vlm::check_user(plan.fits(), "placement " + placement + " does not fit:\n" + plan.table());
    vlm::require_devices_present(plan);
    auto model = vlm::LoadedModel::load(std::move(manifest), std::move(plan));
    if (!golden.empty()) return check_against(model, golden, tolerance, as_json, cuda_graphs);
    vlm::ModelSession session(model, cuda_graphs);
    vlm::Prompt prompt;
    prompt.text = prompt_text;
    for (const auto& path : images) prompt.images.push_back(vlm::ImageSource::from_file(path));
    // chat(): the image markers go first when images are given and the question has none.
    if (!images.empty() && prompt.text.find(vlm::kImageMarker) == std::string::npos)
      prompt.text = vlm::reorganize_prompt(prompt.text, images.size());
    session.reserve(capacity.max_sequence);
    vlm::PromptOutput out = session.answer(prompt, max_tiles, max_new_tokens, "prompt");
    if (as_json) {
      nlohmann::json j = {{"query", out.query},
                          {"tiles_per_image", out.tiles_per_image},
                          {"input_ids", out.input_ids},
                          {"output_ids", out.output_ids},
                          {"stop_reason", out.stop_reason},
                          {"text", out.prediction},
                          {"times_ms", out.times}};
      std::cout << j.dump(2) << "\n";
    } else {
      std::cout << "input_ids (" << out.input_ids.size() << "): " << ids_text(out.input_ids) << "\n"
                << "output_ids (" << out.output_ids.size() << ", " << out.stop_reason
                << "): " << ids_text(out.output_ids) << "\n"
                << "text: " << out.prediction << "\n";
    }
    return 0;
  } catch (const vlm::Error& e) {
    std::cerr << "generate: error: " << e.what() << "\n";
    return vlm::exit_code(e.kind());
  } catch (const std::exception& e) {
    std::cerr << "generate: unexpected error: " << e.what() << "\n";
    return 1;
  }
}
