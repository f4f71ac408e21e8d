// The GPU tests' fixture: skipped where there is no CUDA device, and float32 exact on one (no TF32
// in cuDNN convolutions or cuBLAS matmuls), so that the GPU's results can be held to the CPU's and
// to each other. A fixture deriving from it calls GpuTest::SetUp() first and returns when
// IsSkipped().
#pragma once

#include <ATen/Context.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>

namespace vlm::testing {

class GpuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
    at::globalContext().setAllowTF32CuDNN(false);
    at::globalContext().setAllowTF32CuBLAS(false);
  }
};

}  // namespace vlm::testing
