// GenerationOptions::prefill_bucket (`run --prefill-bucket N`): a prefill run at its prompt's
// length rounded up to a multiple of N, zero embeddings after the prompt, gives the ids and the
// logits of the prefill at the prompt's own length, first token and every decode step after it
// (the padding's keys sit past each step's position, written over before they are read).
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/batch_requests.h"
#include "common/test_paths.h"
#include "vlm/core/error.h"
#include "vlm/generate/generator.h"
#include "vlm/model/kv_cache.h"
#include "vlm/model/loaded_model.h"
#include "vlm/model/model_forward.h"

namespace vlm {
namespace {

using testing::Request;

std::shared_ptr<const LoadedModel> load_tiny(const std::string& name) {
  const Manifest manifest = load_manifest(testing::testdata_dir() / "models" / name);
  return LoadedModel::load(manifest, PlacementPlan::all_on(manifest, c10::kCPU));
}

class PrefillBucketTest : public ::testing::TestWithParam<std::string> {};

TEST_P(PrefillBucketTest, PaddedPrefillGivesTheIdsAndLogitsOfThePromptsOwnLength) {
  const auto model = load_tiny(GetParam());
  const std::vector<Request> requests =
      testing::staggered_requests(testing::testdata_dir() / "models" / GetParam());
  Generator exact(model, 1024);
  std::vector<GenerationResult> want;
  for (const Request& r : requests) want.push_back(exact.generate(r.ids, r.pixels, r.options));
  const ModelForward forward(model, 1024);
  int padded = 0;
  for (int64_t bucket : {7, 64}) {
    Generator gen(model, 1024, /*cuda_graphs=*/true, /*batch=*/2);
    for (size_t k = 0; k < requests.size(); ++k) {
      SCOPED_TRACE("bucket " + std::to_string(bucket) + ", request " + std::to_string(k));
      const Request& r = requests[k];
      GenerationOptions options = r.options;
      options.prefill_bucket = bucket;
      const GenerationResult got = gen.generate(r.ids, r.pixels, options);
      padded += forward.prefill_length(r.ids.size(1), bucket, 1024) > r.ids.size(1);
      EXPECT_EQ(got.ids, want[k].ids);
      EXPECT_EQ(got.stop_reason, want[k].stop_reason);
      ASSERT_EQ(got.logits.size(), want[k].logits.size());
      for (size_t s = 0; s < got.logits.size(); ++s)
        EXPECT_TRUE(torch::equal(got.logits[s], want[k].logits[s]))
            << "step " << s << ": largest difference "
            << (got.logits[s] - want[k].logits[s]).abs().max().item<float>();
    }
  }
  EXPECT_GT(padded, 0) << "no request was padded: the test shows nothing";
}

// ModelForward::prefill_layers (what the prefill graphs capture: each layer's keys and values in a
// scratch of the prompt's length, copied into the cache row a device tensor names) gives the
// outputs and writes the cache of decode_layers, bitwise, into any row and over any layer range.
TEST_P(PrefillBucketTest, PrefillLayersWriteTheCacheOfDecodeLayers) {
  const auto model = load_tiny(GetParam());
  const ModelForward forward(model, 256);
  const size_t n = model->layers().size();
  ASSERT_GE(n, 2u);
  torch::manual_seed(7);
  const int64_t hidden = model->manifest().llm.hidden_size;
  const torch::Tensor x = torch::randn({1, 37, hidden}).to(model->manifest().dtype);
  for (int64_t slot : {0, 2}) {
    SCOPED_TRACE("slot " + std::to_string(slot));
    KvCache want_cache(*model, 256, 3), got_cache(*model, 256, 3);
    const torch::Tensor want = forward.decode_layers(x, want_cache, 0, slot);
    // in two ranges, as two CUDA segments would run
    const torch::Tensor row = torch::full({1}, slot, torch::kInt64);
    torch::Tensor got = forward.prefill_layers(x, got_cache, row, 0, 1);
    got = forward.prefill_layers(got, got_cache, row, 1, n);
    EXPECT_TRUE(torch::equal(got, want));
    for (size_t i = 0; i < n; ++i) {
      EXPECT_TRUE(torch::equal(got_cache.keys(i), want_cache.keys(i))) << "layer " << i;
      EXPECT_TRUE(torch::equal(got_cache.values(i), want_cache.values(i))) << "layer " << i;
    }
    EXPECT_GT(got_cache.keys(0)[slot].abs().sum().item<double>(), 0.0);
  }
}

INSTANTIATE_TEST_SUITE_P(Families, PrefillBucketTest,
                         ::testing::Values("InternVL2-tiny", "InternVL2-tiny-phi3"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return testing::tiny_family_name(info.param);
                         });

TEST(PrefillLength, RoundsUpWithinTheCapacity) {
  const ModelForward forward(load_tiny("InternVL2-tiny"), 1024);
  EXPECT_EQ(forward.prefill_length(100, 0, 1024), 100);
  EXPECT_EQ(forward.prefill_length(100, 64, 1024), 128);
  EXPECT_EQ(forward.prefill_length(128, 64, 1024), 128);
  EXPECT_EQ(forward.prefill_length(129, 64, 1024), 192);
  EXPECT_EQ(forward.prefill_length(1000, 64, 1020), 1020);  // never past the cache
  EXPECT_EQ(forward.prefill_length(1020, 64, 1020), 1020);
}

// Phi-3's LongRoPE takes its long factors for a call longer than original_max (68 in the tiny
// checkpoint): a padded call that would cross it keeps the prompt's own length.
TEST(PrefillLength, NeverCrossesTheLongRopeSwitch) {
  const auto model = load_tiny("InternVL2-tiny-phi3");
  ASSERT_EQ(model->manifest()
                .raw.at("llm")
                .at("rope_scaling")
                .value("original_max_position_embeddings", 0),
            68);
  const ModelForward forward(model, 1024);
  EXPECT_EQ(forward.prefill_length(60, 64, 1024), 64);   // both short
  EXPECT_EQ(forward.prefill_length(66, 64, 1024), 66);   // 128 would be long
  EXPECT_EQ(forward.prefill_length(68, 64, 1024), 68);   // 68 is still short
  EXPECT_EQ(forward.prefill_length(70, 64, 1024), 128);  // both long
}

TEST(PrefillLength, BucketOutOfRangeIsAUserError) {
  GenerationOptions options;
  options.prefill_bucket = -1;
  EXPECT_THROW(options.validate(), UserError);
  options.prefill_bucket = kMaxPrefillBucket + 1;
  EXPECT_THROW(options.validate(), UserError);
  options.prefill_bucket = kMaxPrefillBucket;
  EXPECT_NO_THROW(options.validate());
}

}  // namespace
}  // namespace vlm
