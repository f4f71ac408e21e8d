// Decode steps replayed from CUDA graphs give exactly the eager path's ids and logits: on the tiny
// models (float32, the masked attention path), split between cuda:0 and the CPU, and on a
// bfloat16 sdpa export (flash attention's varlen decode over the whole cache); and the batch size
// changes no id and no logit; nor do prefills replayed from their graphs. Vision replayed from its
// graphs (one per tile count, one memory pool) gives exactly the eager embeddings, at tile counts
// met in any order and on any stream.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "common/batch_requests.h"
#include "common/gpu_test.h"
#include "common/scratch_dir.h"
#include "common/test_paths.h"
#include "vlm/generate/generator.h"
#include "vlm/generate/golden_check.h"
#include "vlm/model/loaded_model.h"

#ifdef VLM_WITH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace vlm {
namespace {

namespace fs = std::filesystem;

nlohmann::json read_json(const fs::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

struct Generated {
  std::vector<GenerationResult> results;
  int captured = 0;          // decode segments
  int prefill_captured = 0;  // prefill graphs (lengths over segments)
};

// Every golden case of the model at `dir`, generated 40 steps past its golden ids (no stop ids),
// with one Generator reused across the cases as `run` reuses it.
// prefill_bucket: GenerationOptions::prefill_bucket (with graphs, the prefill is replayed from
// its graphs at bucketed lengths).
Generated run_cases(const fs::path& dir, const std::map<std::string, c10::Device>& where,
                    bool cuda_graphs, int64_t prefill_bucket = 0) {
  const Manifest manifest = load_manifest(dir);
  const nlohmann::json golden = read_json(dir / "golden.json");
  auto model = LoadedModel::load(manifest, PlacementPlan::from_map(manifest, where));
  Generator gen(model, 1024, cuda_graphs);
  Generated run;
  for (const auto& c : golden["cases"]) {
    GenerationOptions opts;
    opts.max_new_tokens = 40;
    opts.keep_logits = true;
    opts.prefill_bucket = prefill_bucket;
    auto ids = torch::tensor(c["input_ids"].get<std::vector<int64_t>>()).unsqueeze(0);
    run.results.push_back(
        gen.generate(ids, golden_pixel_values(c["num_tiles"].get<int64_t>(), 448), opts));
  }
  run.captured = gen.decode_step().captured_segments();
  run.prefill_captured = gen.prefill_graphs_captured();
  return run;
}

std::map<std::string, c10::Device> layout(const fs::path& dir, bool odd_layers_on_cpu) {
  const Manifest manifest = load_manifest(dir);
  std::map<std::string, c10::Device> map;
  for (const auto& u : manifest.units) {
    c10::Device d("cuda:0");
    if (odd_layers_on_cpu && u.kind == UnitKind::kDecoderLayer && u.layer % 2 == 1) d = c10::kCPU;
    map.emplace(u.name, d);
  }
  return map;
}

void expect_identical(const Generated& graphs, const Generated& eager, const std::string& what) {
  ASSERT_EQ(graphs.results.size(), eager.results.size());
  for (size_t k = 0; k < eager.results.size(); ++k) {
    const auto& g = graphs.results[k];
    const auto& e = eager.results[k];
    EXPECT_EQ(g.ids, e.ids) << what << ", case " << k;
    ASSERT_EQ(g.logits.size(), e.logits.size()) << what;
    for (size_t s = 0; s < e.logits.size(); ++s)
      EXPECT_TRUE(torch::equal(g.logits[s], e.logits[s]))
          << what << ", case " << k << " step " << s;
  }
}

class DecodeGraphs : public testing::GpuTest {};

TEST_F(DecodeGraphs, TinyModelsGiveTheEagerIdsAndLogits) {
  for (const char* name :
       {"InternVL2-tiny", "InternVL2-tiny-qwen2", "InternVL2-tiny-phi3", "InternVL2-tiny-llama"}) {
    const fs::path dir = testing::testdata_dir() / "models" / name;
    const Generated eager = run_cases(dir, layout(dir, false), false);
    const Generated graphs = run_cases(dir, layout(dir, false), true);
    EXPECT_EQ(eager.captured, 0) << name;
    EXPECT_EQ(graphs.captured, 1) << name;  // embedding to head: one segment on cuda:0
    expect_identical(graphs, eager, name);
    // and the golden ids (the exporter's eager reference) for the first 20 steps
    const nlohmann::json golden = read_json(dir / "golden.json");
    for (size_t k = 0; k < golden["cases"].size(); ++k) {
      const auto want = golden["cases"][k]["greedy_ids"].get<std::vector<int64_t>>();
      const std::vector<int64_t> got(graphs.results[k].ids.begin(),
                                     graphs.results[k].ids.begin() + want.size());
      EXPECT_EQ(got, want) << name << ", case " << k;
    }
  }
}

TEST_F(DecodeGraphs, SplitWithTheCpuCapturesEachCudaSegment) {
  const fs::path dir = testing::tiny_model_dir();  // 3 layers: 0 and 2 on cuda:0, 1 on the CPU
  const Generated eager = run_cases(dir, layout(dir, true), false);
  const Generated graphs = run_cases(dir, layout(dir, true), true);
  // cuda:0 [embedding, layer 0]; cpu [layer 1]; cuda:0 [layer 2, norm, head]
  EXPECT_EQ(graphs.captured, 2);
  expect_identical(graphs, eager, "split cuda:0/cpu");
}

// The tiny InternLM2 checkpoint exported in bfloat16 with sdpa attention (flash attention's
// varlen decode over the whole cache), once per test process, into a folder of its own: ctest runs
// each test as a process, in parallel with -j, and two of them export it.
const fs::path& bf16_sdpa_export() {
  static const testing::ScratchDir scratch;  // removed when the process exits
  static const fs::path out = [] {
    const fs::path dir = scratch.path() / "export";
    const std::string cmd = testing::python() + " " +
                            (testing::source_dir() / "scripts" / "export_internvl2.py").string() +
                            " --checkpoint " +
                            (testing::testdata_dir() / "checkpoints" / "InternVL2-tiny").string() +
                            " --out " + dir.string() + " --dtype bfloat16 --attention sdpa --quiet";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    return dir;
  }();
  return out;
}

TEST_F(DecodeGraphs, Bfloat16SdpaExportUsesFlashDecodeAndAgrees) {
  const fs::path& out = bf16_sdpa_export();
  const Generated eager = run_cases(out, layout(out, false), false);
  const Generated graphs = run_cases(out, layout(out, false), true);
  EXPECT_EQ(graphs.captured, 1);
  expect_identical(graphs, eager, "bfloat16 sdpa");
}

// Batch invariance on the GPU (issue 14): requests that finish at different steps, decoded
// together at batch sizes 1, 3 and 8 (continuous batching), give every request the same ids and
// bitwise the same logits, with graphs and eagerly; on float32 masked attention, on bfloat16 flash
// decode, and split between cuda:0 and the CPU.
TEST_F(DecodeGraphs, TheBatchSizeChangesNoIdAndNoLogit) {
  struct Case {
    std::string what;
    fs::path dir;
    bool split;
  };
  const fs::path tiny = testing::tiny_model_dir();
  for (const Case& c :
       {Case{"float32", tiny, false}, Case{"bfloat16 sdpa", bf16_sdpa_export(), false},
        Case{"split cuda:0/cpu", tiny, true}}) {
    const Manifest manifest = load_manifest(c.dir);
    auto model =
        LoadedModel::load(manifest, PlacementPlan::from_map(manifest, layout(c.dir, c.split)));
    const std::vector<testing::Request> requests = testing::staggered_requests(c.dir);
    Generator base_gen(model, 1024, true, 1);
    Generated base;
    base.results = testing::run_batched(base_gen, requests).results;
    for (int64_t batch : {3, 8}) {
      for (bool graphs : {true, false}) {
        Generator gen(model, 1024, graphs, batch);
        const testing::BatchRun run = testing::run_batched(gen, requests);
        EXPECT_GE(run.most_in_flight, 3) << c.what;
        Generated got;
        got.results = run.results;
        expect_identical(
            got, base,
            c.what + " at batch " + std::to_string(batch) + (graphs ? " (graphs)" : " (eager)"));
      }
    }
  }
}

// Prefills replayed from their graphs (one per bucketed length and CUDA segment, the cache row a
// device tensor) give exactly the eager prefill's ids and logits at the same bucket: on float32
// masked attention, on bfloat16 sdpa, and split between cuda:0 and the CPU; and at batch 3, where
// prefills land in other cache rows through the same graphs, exactly batch 1's.
TEST_F(DecodeGraphs, PrefillGraphsGiveTheEagerIdsAndLogits) {
  struct Case {
    std::string what;
    fs::path dir;
    bool split;
    int segments;  // CUDA segments with layers
  };
  const fs::path tiny = testing::tiny_model_dir();
  for (const Case& c :
       {Case{"float32", tiny, false, 1}, Case{"bfloat16 sdpa", bf16_sdpa_export(), false, 1},
        Case{"split cuda:0/cpu", tiny, true, 2}}) {
    const Generated eager = run_cases(c.dir, layout(c.dir, c.split), false, 16);
    const Generated graphs = run_cases(c.dir, layout(c.dir, c.split), true, 16);
    EXPECT_EQ(eager.prefill_captured, 0) << c.what;
    std::set<int64_t> lengths;
    for (const auto& r : graphs.results) lengths.insert((r.input_tokens + 15) / 16 * 16);
    EXPECT_EQ(graphs.prefill_captured, static_cast<int>(lengths.size()) * c.segments) << c.what;
    expect_identical(graphs, eager, c.what + ", prefill graphs");
    // Without a bucket the prefill stays eager (a graph per length would be a capture per item).
    EXPECT_EQ(run_cases(c.dir, layout(c.dir, c.split), true, 0).prefill_captured, 0) << c.what;

    const Manifest manifest = load_manifest(c.dir);
    auto model =
        LoadedModel::load(manifest, PlacementPlan::from_map(manifest, layout(c.dir, c.split)));
    std::vector<testing::Request> requests = testing::staggered_requests(c.dir);
    for (auto& r : requests) r.options.prefill_bucket = 16;
    Generator one(model, 1024, false, 1);
    Generated base;
    base.results = testing::run_batched(one, requests).results;
    Generator three(model, 1024, true, 3);
    const testing::BatchRun run = testing::run_batched(three, requests);
    EXPECT_GE(run.most_in_flight, 3) << c.what;
    EXPECT_GT(three.prefill_graphs_captured(), 0) << c.what;
    Generated got;
    got.results = run.results;
    expect_identical(got, base, c.what + ", prefill graphs at batch 3");
  }
}

class VisionGraphsTest : public testing::GpuTest {};

// Embeddings of `tiles` (one call each, in order) from a Generator with and without graphs; every
// other call of the graph side is queued on a side stream, as `run --overlap` queues them.
struct Encoded {
  std::vector<torch::Tensor> embeds;
  int captured = 0;
};

Encoded encode_all(const std::shared_ptr<const LoadedModel>& model, bool cuda_graphs,
                   const std::vector<int64_t>& tiles, int64_t image_size) {
  Generator gen(model, 64, cuda_graphs);
  Encoded out;
  for (size_t k = 0; k < tiles.size(); ++k) {
    const torch::Tensor pixels = golden_pixel_values(tiles[k], image_size);
    EncodedImages e;
#ifdef VLM_WITH_CUDA
    if (k % 2 == 1) {
      const c10::cuda::CUDAStreamGuard on_side(c10::cuda::getStreamFromPool(true, 0));
      e = gen.encode_images(pixels);
    }
#endif
    if (!e.embeds.defined()) e = gen.encode_images(pixels);
    e.ready->block_current_stream();
    out.embeds.push_back(e.embeds.to(torch::kCPU));
  }
  out.captured = gen.vision_graphs_captured();
  return out;
}

TEST_F(VisionGraphsTest, ReplaysGiveTheEagerEmbeddingsAtEveryTileCount) {
  // 1 and 3 come back after other counts were captured into the shared pool.
  const std::vector<int64_t> tiles = {1, 3, 1, 7, 3, 2, 7};
  struct Case {
    std::string what;
    fs::path dir;
  };
  for (const Case& c :
       {Case{"float32", testing::tiny_model_dir()}, Case{"bfloat16 sdpa", bf16_sdpa_export()}}) {
    const Manifest manifest = load_manifest(c.dir);
    auto model =
        LoadedModel::load(manifest, PlacementPlan::from_map(manifest, layout(c.dir, false)));
    ASSERT_TRUE(VisionGraphs::applies(*model));
    const int64_t size = manifest.vision.image_size;
    const Encoded eager = encode_all(model, false, tiles, size);
    const Encoded graphs = encode_all(model, true, tiles, size);
    EXPECT_EQ(eager.captured, 0) << c.what;
    EXPECT_EQ(graphs.captured, 4) << c.what;  // 1, 3, 7 and 2 tiles
    for (size_t k = 0; k < tiles.size(); ++k) {
      EXPECT_EQ(graphs.embeds[k].sizes(), eager.embeds[k].sizes()) << c.what;
      EXPECT_TRUE(torch::equal(graphs.embeds[k], eager.embeds[k]))
          << c.what << ", call " << k << " (" << tiles[k] << " tiles)";
    }
  }
}

TEST_F(VisionGraphsTest, ProjectorOnAnotherDeviceKeepsVisionEager) {
  const fs::path dir = testing::tiny_model_dir();
  const Manifest manifest = load_manifest(dir);
  std::map<std::string, c10::Device> where = layout(dir, false);
  for (const auto& u : manifest.units)
    if (u.kind == UnitKind::kProjector) where.at(u.name) = c10::kCPU;
  auto model = LoadedModel::load(manifest, PlacementPlan::from_map(manifest, where));
  EXPECT_FALSE(VisionGraphs::applies(*model));
  const Encoded graphs = encode_all(model, true, {2}, manifest.vision.image_size);
  EXPECT_EQ(graphs.captured, 0);
}

}  // namespace
}  // namespace vlm
