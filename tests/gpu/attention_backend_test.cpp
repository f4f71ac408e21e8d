// LoadOptions::cudnn_attention (issue 19 part 1): loading a model holds
// scaled_dot_product_attention to flash attention for a prefill, unless asked for LibTorch's own
// choice, which on Hopper is cuDNN's kernel (an execution plan built for every new query length:
// tens of ms an item on varied data). The kernel a prefill of the 8B shape would get is asked of
// LibTorch itself (at::_fused_sdp_choice), after each load.
#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <gtest/gtest.h>
#include <torch/version.h>

#include <cstdint>

#include "common/gpu_test.h"
#include "common/test_paths.h"
#include "vlm/model/loaded_model.h"
#include "vlm/model/manifest.h"
#include "vlm/model/placement_plan.h"

namespace vlm {
namespace {

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 5)
constexpr int64_t kFlash = 1;  // sdp::SDPBackend::flash_attention
constexpr int64_t kCudnn = 3;  // sdp::SDPBackend::cudnn_attention

// The backend LibTorch picks for a causal bf16 prefill of the InternVL2-8B shape: 32 heads of 128,
// 1900 tokens (7 tiles and a question).
int64_t prefill_choice() {
  auto opts = torch::TensorOptions().dtype(torch::kBFloat16).device(torch::kCUDA);
  torch::Tensor q = torch::randn({1, 32, 1900, 128}, opts);
  return at::_fused_sdp_choice(q, q, q, {}, 0.0, /*is_causal=*/true, std::nullopt, false);
}

// Loads the tiny model onto cuda:0 with `cudnn`, and says what a prefill gets afterwards.
int64_t choice_after_load(bool cudnn) {
  const Manifest manifest = load_manifest(testing::tiny_model_dir());
  LoadOptions options;
  options.cudnn_attention = cudnn;
  options.verify = false;
  auto model =
      LoadedModel::load(manifest, PlacementPlan::all_on(manifest, c10::Device("cuda:0")), options);
  EXPECT_EQ(at::globalContext().userEnabledCuDNNSDP(), cudnn);
  return prefill_choice();
}

class GpuAttentionBackend : public testing::GpuTest {};

TEST_F(GpuAttentionBackend, LoadHoldsAPrefillToFlashUnlessAskedForCudnn) {
  const int64_t with_cudnn = choice_after_load(true);
  EXPECT_TRUE(with_cudnn == kCudnn || with_cudnn == kFlash) << with_cudnn;
  EXPECT_EQ(choice_after_load(false), kFlash);  // last: the default, for the tests after this one
  if (with_cudnn != kCudnn)
    GTEST_SKIP() << "LibTorch does not pick cuDNN's attention on this device by itself";
}
#else
TEST(GpuAttentionBackend, LoadHoldsAPrefillToFlashUnlessAskedForCudnn) {
  GTEST_SKIP() << "LibTorch " << TORCH_VERSION << " has no cuDNN attention to hold back";
}
#endif

}  // namespace
}  // namespace vlm
