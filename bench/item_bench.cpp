// item_bench: one RealWorldQA-like item on an export, stage by stage, with the hardware bounds of
// the device measured in the same process. Writes JSON (figures, never a pass/fail).
//
// The item: a 1024x768 JPEG (made here: gradients, shapes and noise, quality 90) at max 6 tiles:
// InternVL's grid choice for 4:3 is 3x2, plus the thumbnail, 7 tiles; the InternVL2 MCQ prompt with
// 4 options; answers of exactly 1 and of exactly 16 new tokens (stop ids ignored until then). Per
// configuration: `--reps` timed runs after `--warmup` untimed ones, medians of each stage
// (image_decode, preprocess, tokenize, vision, prefill, decode, total), ms per decoded token,
// items/s.
//
// With `--batch N...`: also the decode step with N copies of the item in flight (one session of
// batch N, each copy answering the longest --new-tokens length, at least 2): the median wall time
// of a step (synchronised), and that over N per token.
//
// Hardware bounds (same process, same device): device-to-device copy bandwidth (bytes read +
// written per second, as the GPU notes quote it) and an 8192^3 matmul rate in the model's dtype
// (bf16 for the GPU exports; on a CPU device only with --cpu-hardware, at 256 MiB and 1024^3, as a
// check of the benchmark scripts). From them:
//   decode bound  = weight bytes read per decode step (decoder layers + norm + head) / copy rate
//   prefill bound = prefill FLOPs (2 * params * tokens for the LLM and the ViT, plus attention)
//                   / matmul rate.
#include <torch/cuda.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "vlm/core/error.h"
#include "vlm/core/host_memory.h"
#include "vlm/core/timer.h"
#include "vlm/data/base64.h"
#include "vlm/data/internvl_prompt.h"
#include "vlm/model/device_memory.h"
#include "vlm/model/loaded_model.h"
#include "vlm/model/stage_clock.h"
#include "vlm/run/model_session.h"

#ifdef VLM_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include "bench_common.h"
#include "vlm/run/placement_setup.h"

using nlohmann::json;

namespace {

// The question of a RealWorldQA-like MCQ item with four options.
vlm::Item make_item(const std::string& jpeg) {
  vlm::Item item;
  item.index = "0";
  item.question = "Which direction is the red object relative to the green one?";
  item.options = {{'A', "left"}, {'B', "right"}, {'C', "above"}, {'D', "below"}};
  item.answer = "B";
  item.images_b64 = {vlm::base64_encode(jpeg)};
  return item;
}

void sync_if_cuda(c10::Device d) {
  if (d.is_cuda()) torch::cuda::synchronize(d.index());
}

// Device-to-device copy: bytes read + written per second (median of reps).
double copy_bytes_per_s(c10::Device d, int64_t bytes, int reps) {
  auto opt = torch::TensorOptions().dtype(torch::kUInt8).device(d);
  torch::Tensor a = torch::empty({bytes}, opt).fill_(1), b = torch::empty({bytes}, opt);
  std::vector<double> ms;
  for (int r = 0; r < reps + 1; ++r) {
    const auto t0 = vlm::StageMark::on(d);
    b.copy_(a);
    const auto t1 = vlm::StageMark::on(d);
    if (r > 0) ms.push_back(vlm::StageMark::elapsed_ms(t0, t1));
  }
  return 2.0 * static_cast<double>(bytes) / (vlm::bench::median(ms) / 1e3);
}

// n^3 matmul FLOP/s in `dtype` (median of reps).
double matmul_flops_per_s(c10::Device d, c10::ScalarType dtype, int64_t n, int reps) {
  auto opt = torch::TensorOptions().dtype(dtype).device(d);
  torch::Tensor a = torch::randn({n, n}, opt), b = torch::randn({n, n}, opt);
  std::vector<double> ms;
  for (int r = 0; r < reps + 1; ++r) {
    const auto t0 = vlm::StageMark::on(d);
    torch::Tensor c = torch::mm(a, b);
    const auto t1 = vlm::StageMark::on(d);
    if (r > 0) ms.push_back(vlm::StageMark::elapsed_ms(t0, t1));
  }
  return 2.0 * static_cast<double>(n * n * n) / (vlm::bench::median(ms) / 1e3);
}

// The decode step with n copies of the item in flight, for each n of `batches`: warmup + reps
// rounds (at least one untimed: it captures the session's decode graph), each starting n copies
// that answer `steps` tokens and stepping until all are done; every step timed and synchronised.
json time_batched_steps(const std::shared_ptr<const vlm::LoadedModel>& model, bool cuda_graphs,
                        const std::vector<int64_t>& batches, const vlm::Prompt& prompt,
                        int max_tiles, int64_t capacity, const std::vector<int64_t>& new_tokens,
                        int warmup, int reps, c10::Device device) {
  const int64_t steps =
      std::max<int64_t>(2, *std::max_element(new_tokens.begin(), new_tokens.end()));
  json out = json::object();
  for (const int64_t n : batches) {
    vlm::ModelSession session(model, cuda_graphs, n);
    session.reserve(capacity);
    session.set_min_new_tokens(steps);
    const vlm::PreparedPrompt prepared = session.prepare(prompt, max_tiles, "bench item");
    std::vector<double> step_ms;
    uint64_t tag = 0;
    for (int r = 0; r < std::max(1, warmup) + reps; ++r) {
      for (int64_t i = 0; i < n; ++i) session.start(tag++, prepared, steps);
      sync_if_cuda(device);
      while (session.in_flight() > 0) {
        vlm::Stopwatch watch;
        session.step();
        sync_if_cuda(device);
        if (r >= std::max(1, warmup)) step_ms.push_back(watch.elapsed_ms());
      }
    }
    const double median = vlm::bench::median(step_ms);
    out[std::to_string(n)] = {{"ms_per_step", median},
                              {"ms_per_token", median / static_cast<double>(n)},
                              {"steps_timed", step_ms.size()},
                              {"new_tokens", steps}};
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  vlm::use_huge_pages_for_torch();  // before the first CPU tensor (core/host_memory.h)
  CLI::App app{"Per-item stage timings of an export on one device, with hardware bounds"};
  std::string model_dir, device_name = "cuda:0", out_path, label, image_out;
  int reps = 10, warmup = 2, max_tiles = 6;
  std::vector<int64_t> new_tokens = {1, 16};
  std::vector<int64_t> batches;
  bool hardware = true, cpu_hardware = false, freeze = true, jit_optimize = false,
       cuda_graphs = true, cudnn_attention = false;
  int load_threads = 4;
  int64_t prefill_bucket = 0;
  app.add_option("--model-dir", model_dir, "exported model directory")->required();
  app.add_option("--device", device_name, "device for every unit");
  app.add_option("--reps", reps, "timed runs per configuration");
  app.add_option("--warmup", warmup, "untimed runs first");
  app.add_option("--max-tiles", max_tiles, "InternVL2 max_num");
  app.add_option("--new-tokens", new_tokens, "answer lengths to time");
  app.add_option("--label", label, "name of this shape in the JSON");
  app.add_option("--batch", batches,
                 "also time decode steps with N copies of the item in flight (1 to 32)")
      ->check(CLI::Range(1, 32));
  app.add_flag("!--no-hardware", hardware, "skip the copy and matmul measurements");
  app.add_flag("--cpu-hardware", cpu_hardware,
               "measure the bounds on a CPU device too, at small sizes (a check of the "
               "benchmark scripts, not a figure)");
  app.add_flag("!--no-freeze", freeze, "do not torch::jit::freeze the units after loading");
  app.add_flag("--jit-optimize,!--no-jit-optimize", jit_optimize,
               "run units with the graph executor's optimisations (profiling, fusion; default off, "
               "as in run)");
  app.add_flag("--cudnn-attention", cudnn_attention,
               "let LibTorch pick cuDNN's attention kernel (default off, as in run)");
  app.add_flag("!--no-cuda-graphs", cuda_graphs,
               "run decode steps and vision eagerly (no CUDA graphs)");
  app.add_option("--prefill-bucket", prefill_bucket,
                 "run's --prefill-bucket: prefills rounded up to a multiple of N tokens (on CUDA "
                 "replayed from graphs); 0: the prompt's own length")
      ->check(CLI::Range(int64_t{0}, vlm::kMaxPrefillBucket));
  app.add_option("--load-threads", load_threads, "loader threads per device");
  app.add_option("--out", out_path, "JSON file to write")->required();
  app.add_option("--save-image", image_out, "also write the item's JPEG here");
  CLI11_PARSE(app, argc, argv);

  try {
    const c10::Device device(device_name);
    vlm::Manifest manifest = vlm::load_manifest(model_dir);
    json out;
    out["label"] = label.empty() ? manifest.name : label;
    out["model_dir"] = model_dir;
    out["dtype"] = c10::toString(manifest.dtype);
    out["attention"] = manifest.raw.value("attention", "");
    out["torch"] = TORCH_VERSION;
    out["device"] = device.str();

    // Weight bytes: everything, and what one decode step reads (layers, norm, head).
    int64_t total_bytes = 0, step_bytes = 0, llm_bytes = 0, vision_bytes = 0;
    for (const auto& u : manifest.units) {
      total_bytes += u.param_bytes;
      using K = vlm::UnitKind;
      if (u.kind == K::kDecoderLayer || u.kind == K::kNorm || u.kind == K::kHead)
        step_bytes += u.param_bytes;
      if (u.kind == K::kDecoderLayer) llm_bytes += u.param_bytes;
      if (u.kind == K::kVision || u.kind == K::kProjector) vision_bytes += u.param_bytes;
    }
    int64_t head_bytes = 0;
    for (const auto& u : manifest.units)
      if (u.kind == vlm::UnitKind::kHead) head_bytes = u.param_bytes;

    // (a) load: every unit onto the device, one loader.
    vlm::PlacementPlan plan = vlm::PlacementPlan::all_on(manifest, device);
    vlm::Stopwatch load_watch;
    out["options"] = {{"freeze", freeze},
                      {"jit_optimize", jit_optimize},
                      {"load_threads", load_threads},
                      {"cuda_graphs", cuda_graphs},
                      {"cudnn_attention", cudnn_attention}};
    vlm::LoadOptions load_options;
    load_options.threads_per_device = load_threads;
    load_options.freeze = freeze;
    load_options.jit_optimize = jit_optimize;
    load_options.cudnn_attention = cudnn_attention;
    auto model = vlm::LoadedModel::load(manifest, plan, load_options);
    sync_if_cuda(device);
    const double load_s = load_watch.elapsed_ms() / 1e3;
    out["load"] = {{"seconds", load_s},
                   {"bytes", total_bytes},
                   {"gb_per_s", static_cast<double>(total_bytes) / 1e9 / load_s}};

    vlm::ModelSession session(model, cuda_graphs);
    session.set_prefill_bucket(prefill_bucket);
    out["prefill_bucket"] = prefill_bucket;
    const std::string jpeg = vlm::bench::make_test_jpeg(1024, 768);
    if (!image_out.empty()) std::ofstream(image_out, std::ios::binary) << jpeg;
    out["reps"] = reps;
    out["warmup"] = warmup;
    out["max_tiles"] = max_tiles;
    const vlm::Item item = make_item(jpeg);
    vlm::DatasetSpec spec;
    spec.name = "RealWorldQA";
    spec.kind = vlm::DatasetKind::kMcq;
    const vlm::Prompt prompt = vlm::build_internvl_prompt(item, spec);
    // The capacity `run` reserves for an item of one image at max_tiles.
    session.reserve(vlm::run_capacity(manifest, {{1, max_tiles}},
                                      *std::max_element(new_tokens.begin(), new_tokens.end()))
                        .max_sequence);

    json runs = json::array();
    json input_ids;
    for (int64_t n : new_tokens) {
      session.set_min_new_tokens(n);
      std::map<std::string, std::vector<double>> stages;
      std::vector<double> per_token;
      vlm::PreparedPrompt last;
      vlm::GenerationResult last_gen;
      if (device.is_cuda()) torch::cuda::synchronize(device.index());
#ifdef VLM_WITH_CUDA
      if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(device.index());
#endif
      for (int r = 0; r < warmup + reps; ++r) {
        // No text decode: random weights produce ids no tokenizer piece stands for.
        vlm::Stopwatch total;
        last = session.prepare(prompt, max_tiles, "bench item");
        last_gen = session.generate(last, n);
        const double total_ms = total.elapsed_ms();
        if (r < warmup) continue;
        for (const auto& [stage, ms] : last.times) stages[stage].push_back(ms);
        for (const auto& [stage, ms] : last_gen.times) stages[stage].push_back(ms);
        stages["total"].push_back(total_ms);
        if (last_gen.decode_steps > 0)
          per_token.push_back(last_gen.times.at("decode") /
                              static_cast<double>(last_gen.decode_steps));
      }
      json run;
      run["new_tokens"] = n;
      run["generated"] = last_gen.ids.size();
      run["tiles"] = last.tiles_per_image;
      run["input_tokens"] = last.input_ids.size();
      for (const auto& [stage, v] : stages) run["median_ms"][stage] = vlm::bench::median(v);
      if (!per_token.empty()) run["ms_per_decoded_token"] = vlm::bench::median(per_token);
      run["items_per_s"] = 1000.0 / vlm::bench::median(stages["total"]);
      if (auto peak = vlm::device_peak_allocated_bytes(device)) run["peak_bytes"] = *peak;
      runs.push_back(run);
      input_ids = last.input_ids;
    }
    out["runs"] = runs;
    out["input_ids"] = input_ids;  // the transformers side runs exactly these
    // The graph path against the eager one on this shape: the longest answer's ids, each path in
    // its own session (its own cache and, with graphs, its own captured steps).
    if (cuda_graphs && device.is_cuda()) {
      const int64_t n = *std::max_element(new_tokens.begin(), new_tokens.end());
      vlm::ModelSession eager(model, false);
      eager.set_prefill_bucket(prefill_bucket);
      eager.reserve(session.capacity());
      eager.set_min_new_tokens(n);
      session.set_min_new_tokens(n);
      const vlm::PreparedPrompt p = session.prepare(prompt, max_tiles, "bench item");
      const auto graph_ids = session.generate(p, n).ids;
      const auto eager_ids = eager.generate(p, n).ids;
      out["graph_ids_equal_eager"] = graph_ids == eager_ids;
      out["graph_ids"] = graph_ids;
    }
    out["prompt"] = prompt.text;
    if (!batches.empty())
      out["batched"] = time_batched_steps(model, cuda_graphs, batches, prompt, max_tiles,
                                          session.capacity(), new_tokens, warmup, reps, device);

    // (d) hardware bounds.
    if (hardware && (device.is_cuda() || cpu_hardware)) {
      const auto& m = model->manifest();
      // The matmul in the model's dtype (bf16 for the GPU exports).
      const bool small = !device.is_cuda();
      const double copy =
          copy_bytes_per_s(device, small ? int64_t{256} << 20 : int64_t{2} << 30, 5);
      const double mm = matmul_flops_per_s(device, m.dtype, small ? 1024 : 8192, 5);
      const int64_t elt = c10::elementSize(m.dtype);
      const double tokens = static_cast<double>(input_ids.size());
      const double h = static_cast<double>(m.llm.hidden_size);
      const double layers = static_cast<double>(m.llm.num_layers);
      // LLM: 2 flops per weight per token (layers + head on the last token only) + causal
      // attention (QK^T and AV: 2 * T^2 * H per layer, halved for causality, times 2).
      const double llm_flops = 2.0 * static_cast<double>(llm_bytes / elt) * tokens +
                               2.0 * static_cast<double>(head_bytes / elt) +
                               2.0 * tokens * tokens * h * layers;
      // ViT: per tile (patches + CLS) tokens through every weight, plus full attention.
      const double tiles = static_cast<double>(runs[0]["tiles"][0].get<int>());
      const json& vj = m.raw.at("vision");
      const int64_t side = m.vision.image_size / vj.at("patch_size").get<int64_t>();
      const double vt = static_cast<double>(side * side + 1);
      const double vision_flops = tiles * (2.0 * static_cast<double>(vision_bytes / elt) * vt +
                                           4.0 * vt * vt * vj.at("hidden_size").get<double>() *
                                               vj.at("num_layers").get<double>());
      out["hardware"] = {{"copy_bytes_per_s", copy},
                         {"matmul_flops_per_s", mm},
                         {"matmul_dtype", c10::toString(m.dtype)},
                         {"matmul_n", small ? 1024 : 8192},
                         {"decode_step_weight_bytes", step_bytes},
                         {"decode_step_bound_ms", static_cast<double>(step_bytes) / copy * 1e3},
                         {"prefill_flops", llm_flops},
                         {"vision_flops", vision_flops},
                         {"prefill_bound_ms", llm_flops / mm * 1e3},
                         {"vision_bound_ms", vision_flops / mm * 1e3}};
      if (m.dtype == torch::kBFloat16) out["hardware"]["bf16_matmul_flops_per_s"] = mm;
      // The terms of the two FLOP counts above, so that a whole set's bound can be counted from
      // each item's tiles and tokens (bench/dataset_bench_report.py) with these same formulas:
      //   llm(T)    = 2 * llm_params * T + 2 * head_params + 2 * T^2 * llm_hidden * llm_layers
      //   vision(n) = n * (2 * vision_params * vt + 4 * vt^2 * vision_hidden * vision_layers)
      //   a decode token at context c: 2 * (llm_params + head_params) + 4 * c * llm_hidden *
      //   llm_layers FLOPs, reading decode_step_weight_bytes (shared by a batch) and
      //   c * kv_bytes_per_position
      out["hardware"]["flop_terms"] = {
          {"llm_params", llm_bytes / elt},
          {"head_params", head_bytes / elt},
          {"llm_hidden", m.llm.hidden_size},
          {"llm_layers", m.llm.num_layers},
          {"vision_params", vision_bytes / elt},
          {"vision_tokens_per_tile", side * side + 1},
          {"vision_hidden", vj.at("hidden_size").get<int64_t>()},
          {"vision_layers", vj.at("num_layers").get<int64_t>()},
          // K and V of one position in every layer: what a decode step reads per position of
          // its sequence's cache, besides the weights.
          {"kv_bytes_per_position",
           2 * m.llm.num_layers * m.llm.num_kv_heads * m.llm.head_dim * elt}};
    }
    std::ofstream f(out_path);
    f << out.dump(2) << "\n";
    std::cout << out.dump(2) << "\n";
    return 0;
  } catch (const vlm::Error& e) {
    std::cerr << "item_bench: error: " << e.what() << "\n";
    return vlm::exit_code(e.kind());
  }
}
