// The device path of the preprocessing on cuda:0: bit for bit the CPU path (ImagePreprocessor,
// which the vision tests check against Pillow), in float32 and after the cast to bfloat16.
// Inputs: synthetic images made here (sizes that hit every pass combination, grids of 1..12
// tiles, content that drives the bicubic overshoot into both clamps), plus the Pillow reference
// images when the preprocess fixture has been made in this build folder.
#include "vlm/vision/device_preprocess.h"

#include <gtest/gtest.h>
#include <torch/cuda.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "vision/preprocess_reference.h"
#include "vlm/vision/image_decode.h"
#include "vlm/vision/image_preprocessor.h"
#include "vlm/vision/pil_resize.h"

namespace vlm {
namespace {

bool same_bits(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.sizes() != b.sizes() || a.scalar_type() != b.scalar_type()) return false;
  const torch::Tensor ac = a.contiguous().cpu(), bc = b.contiguous().cpu();
  return std::memcmp(ac.data_ptr(), bc.data_ptr(), ac.nbytes()) == 0;
}

// A photo-like RGB image: smooth gradients, a hard-edged checkerboard patch, noise.
cv::Mat synthetic_rgb(int w, int h, uint32_t seed) {
  std::mt19937 rng(seed);
  cv::Mat image(h, w, CV_8UC3);
  for (int y = 0; y < h; ++y) {
    uint8_t* row = image.ptr<uint8_t>(y);
    for (int x = 0; x < w; ++x) {
      const bool checker = x < w / 3 && y < h / 3;
      for (int c = 0; c < 3; ++c) {
        int v = checker ? (((x + y) % 2) ? 255 : 0)
                        : (x * 255 / std::max(1, w - 1) + c * 60 + y * 97 / std::max(1, h)) % 256;
        if (!checker && x > 2 * w / 3) v = static_cast<int>(rng() & 0xff);
        row[3 * x + c] = static_cast<uint8_t>(v);
      }
    }
  }
  return image;
}

class GpuDevicePreprocess : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  }
  const c10::Device gpu_{"cuda:0"};
  const ImagePreprocessor cpu_path_;
  const DevicePreprocessor device_path_;

  // Compares one image at one max_num; returns false (with failures recorded) on a mismatch.
  void check(const cv::Mat& image, int max_tiles, const std::string& name) {
    const PreprocessedImage expected = cpu_path_.preprocess(image, max_tiles);
    const PreprocessedImage ours = device_path_.preprocess(image, max_tiles, gpu_);
    ASSERT_TRUE(ours.pixel_values.is_cuda()) << name;
    EXPECT_EQ(ours.grid, expected.grid) << name << " max " << max_tiles;
    EXPECT_EQ(ours.num_tiles, expected.num_tiles) << name << " max " << max_tiles;
    EXPECT_TRUE(same_bits(ours.pixel_values, expected.pixel_values))
        << name << " max " << max_tiles << ": max |gpu - cpu| = "
        << (ours.pixel_values.sizes() == expected.pixel_values.sizes()
                ? (ours.pixel_values.cpu() - expected.pixel_values).abs().max().item<double>()
                : -1.0);
    const PreprocessedImage bf16 =
        device_path_.preprocess(image, max_tiles, gpu_, torch::kBFloat16);
    EXPECT_TRUE(same_bits(bf16.pixel_values, expected.pixel_values.to(torch::kBFloat16)))
        << name << " max " << max_tiles << " (bfloat16)";
  }
};

TEST_F(GpuDevicePreprocess, MatchesCpuPathOnSyntheticImages) {
  struct Size {
    int w, h;
  };
  // 1024x768: the RealWorldQA-like case (3x2 + thumbnail at max 6); the others cover upscale,
  // downscale, one-pass-only (448-wide or 448-high), 1-pixel sides and long strips.
  const std::vector<Size> sizes = {
      {1024, 768}, {1, 1},       {5, 3},     {448, 448}, {448, 1000}, {1000, 448},  {1, 300},
      {300, 1},    {1920, 1080}, {777, 333}, {333, 777}, {2000, 300}, {4000, 3000}, {63, 17}};
  uint32_t seed = 7;
  for (const Size& s : sizes) {
    const cv::Mat image = synthetic_rgb(s.w, s.h, seed++);
    for (int max_tiles : {6, 12})
      check(image, max_tiles, std::to_string(s.w) + "x" + std::to_string(s.h));
  }
}

TEST_F(GpuDevicePreprocess, ResizeMatchesPilResize) {
  std::mt19937 rng(99);
  const std::vector<std::vector<int>> cases = {
      {1, 1, 7, 3}, {640, 3, 5, 9}, {97, 89, 448, 448}, {1000, 10, 37, 448}, {2000, 31, 448, 448}};
  for (const auto& c : cases) {
    cv::Mat image(c[1], c[0], CV_8UC3);
    cv::randu(image, 0, 256);
    const cv::Mat expected = pil_resize_bicubic(image, c[2], c[3]);
    const torch::Tensor ours =
        DevicePreprocessor::resize(DevicePreprocessor::upload(image, gpu_), c[2], c[3]);
    const torch::Tensor hwc = ours.to(torch::kUInt8).permute({1, 2, 0}).contiguous().cpu();
    const cv::Mat got(c[3], c[2], CV_8UC3, hwc.data_ptr<uint8_t>());
    EXPECT_EQ(cv::norm(got, expected, cv::NORM_INF), 0.0)
        << c[0] << "x" << c[1] << " -> " << c[2] << "x" << c[3];
  }
}

// The Pillow reference images, when this build folder has them (fixture.preprocess_reference;
// `ctest -L gpu` alone does not make them: run `ctest -R fixture.preprocess_reference` first).
TEST_F(GpuDevicePreprocess, MatchesCpuPathOnPillowReferences) {
  if (!std::filesystem::exists(testing::preprocess_reference_dir() / "index.json"))
    GTEST_SKIP() << "no Pillow reference in " << testing::preprocess_reference_dir();
  const nlohmann::json index = testing::load_preprocess_index();
  int runs = 0;
  for (const auto& entry : index.at("images")) {
    const cv::Mat image =
        read_image_file(testing::preprocess_reference_dir() / entry.at("file").get<std::string>());
    for (const auto& [max_num, run] : entry.at("runs").items()) {
      check(image, std::stoi(max_num), entry.at("name").get<std::string>());
      ++runs;
    }
  }
  std::cout << runs << " Pillow reference runs compared on cuda:0\n";
  EXPECT_GE(runs, 72);
}

}  // namespace
}  // namespace vlm
