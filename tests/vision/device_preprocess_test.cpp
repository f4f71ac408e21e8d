// The device path of the preprocessing (tensor ops), run on the CPU device: bit for bit the CPU
// path (itself checked against Pillow in image_preprocessor_test.cpp) and Pillow's own tiles.
#include "vlm/vision/device_preprocess.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "preprocess_reference.h"
#include "vlm/core/error.h"
#include "vlm/vision/image_decode.h"
#include "vlm/vision/image_preprocessor.h"
#include "vlm/vision/pil_resize.h"

namespace vlm {
namespace {

const c10::Device kCpu(c10::kCPU);

// Bitwise equality of two float tensors (equal bit patterns, not just ==).
bool same_bits(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.sizes() != b.sizes() || a.scalar_type() != b.scalar_type()) return false;
  const torch::Tensor ac = a.contiguous().cpu(), bc = b.contiguous().cpu();
  return std::memcmp(ac.data_ptr(), bc.data_ptr(), ac.nbytes()) == 0;
}

// The device tiles [N,3,S,S] (float64 bytes) as the stacked HWC uint8 image the fixture stores.
cv::Mat stacked_rgb(const torch::Tensor& tiles) {
  const torch::Tensor hwc = tiles.to(torch::kUInt8).permute({0, 2, 3, 1}).contiguous().cpu();
  const int n = static_cast<int>(tiles.size(0)), s = static_cast<int>(tiles.size(2));
  cv::Mat out(n * s, s, CV_8UC3);
  std::memcpy(out.data, hwc.data_ptr<uint8_t>(), hwc.nbytes());
  return out;
}

// Every Pillow reference image at max_num 6 and 12: grid, tile count and pixel_values equal to
// the CPU path bit for bit; for lossless (PNG) inputs the 8-bit tiles also equal Pillow's.
TEST(DevicePreprocess, CpuDeviceMatchesCpuPathOnPillowReferences) {
  const nlohmann::json index = testing::load_preprocess_index();
  const ImagePreprocessor cpu_path;
  const DevicePreprocessor device_path;
  int runs = 0, png_runs = 0;
  for (const auto& entry : index.at("images")) {
    const std::string name = entry.at("name");
    const cv::Mat image =
        read_image_file(testing::preprocess_reference_dir() / entry.at("file").get<std::string>());
    for (const auto& [max_num, run] : entry.at("runs").items()) {
      const int m = std::stoi(max_num);
      const PreprocessedImage expected = cpu_path.preprocess(image, m);
      const DeviceTiles tiles = device_path.make_tiles(image, m, kCpu);
      const TileGrid pillow_grid{run.at("grid").at(0).get<int>(), run.at("grid").at(1).get<int>()};
      EXPECT_EQ(tiles.grid, pillow_grid) << name << " max " << m;
      ASSERT_EQ(tiles.tiles.size(0), run.at("num_tiles").get<int64_t>()) << name << " max " << m;
      if (entry.at("format") == "PNG") {
        const cv::Mat pillow = testing::read_reference_png(run.at("tiles"));
        EXPECT_EQ(cv::norm(stacked_rgb(tiles.tiles), pillow, cv::NORM_INF), 0.0)
            << name << " max " << m << ": 8-bit tiles differ from Pillow's";
        ++png_runs;
      }
      const torch::Tensor ours = device_path.to_pixel_values(tiles.tiles);
      EXPECT_EQ(ours.scalar_type(), torch::kFloat32);
      EXPECT_TRUE(ours.is_contiguous());
      EXPECT_TRUE(same_bits(ours, expected.pixel_values))
          << name << " max " << m << ": max |device - cpu| = "
          << (ours.sizes() == expected.pixel_values.sizes()
                  ? (ours - expected.pixel_values).abs().max().item<double>()
                  : -1.0);
      ++runs;
    }
  }
  std::cout << "device path on cpu: " << runs << " runs bit-identical checked (" << png_runs
            << " against Pillow's tiles)\n";
  EXPECT_GE(runs, 72);
  EXPECT_GT(png_runs, 30);
}

// preprocess() with the model dtype: the float32 result cast at the end.
TEST(DevicePreprocess, DtypeCastIsLast) {
  const nlohmann::json index = testing::load_preprocess_index();
  const ImagePreprocessor cpu_path;
  const DevicePreprocessor device_path;
  for (const auto& entry : index.at("images")) {
    if (entry.at("name") != "xga1024x768") continue;
    const cv::Mat image =
        read_image_file(testing::preprocess_reference_dir() / entry.at("file").get<std::string>());
    const PreprocessedImage expected = cpu_path.preprocess(image, 6);
    const PreprocessedImage ours = device_path.preprocess(image, 6, kCpu, torch::kBFloat16);
    EXPECT_EQ(ours.num_tiles, 7);
    EXPECT_EQ(ours.grid, (TileGrid{3, 2}));
    EXPECT_EQ(ours.pixel_values.scalar_type(), torch::kBFloat16);
    EXPECT_TRUE(same_bits(ours.pixel_values, expected.pixel_values.to(torch::kBFloat16)));
    return;
  }
  FAIL() << "xga1024x768 not in the reference";
}

// The resize alone against pil_resize_bicubic on sizes the grids never produce: extreme down- and
// upscales, one pass only, 1-pixel sides, 1 and 4 channels, content that drives the cubic's
// overshoot into both clamps.
TEST(DevicePreprocess, ResizeMatchesPilResizeOnOddSizes) {
  std::mt19937 rng(1234);
  struct Case {
    int w, h, out_w, out_h, channels;
  };
  const std::vector<Case> cases = {
      {1, 1, 7, 3, 3},         {7, 3, 1, 1, 3},        {13, 11, 13, 29, 3},
      {13, 11, 40, 11, 3},     {640, 3, 5, 9, 3},      {3, 640, 9, 5, 1},
      {97, 89, 448, 448, 4},   {1000, 10, 37, 448, 3}, {255, 257, 896, 1344, 3},
      {2000, 31, 448, 448, 2}, {33, 65, 33, 64, 3}};
  int checked = 0;
  for (const Case& c : cases) {
    cv::Mat image(c.h, c.w, CV_8UC(c.channels));
    for (int y = 0; y < c.h; ++y) {
      uint8_t* row = image.ptr<uint8_t>(y);
      for (int x = 0; x < c.w * c.channels; ++x) {
        // Alternating 0/255 columns and rows on half the image (ringing to both clamps), noise on
        // the rest.
        row[x] = (y < c.h / 2) ? (((x / c.channels + y) % 2) ? 255 : 0)
                               : static_cast<uint8_t>(rng() & 0xff);
      }
    }
    const cv::Mat expected = pil_resize_bicubic(image, c.out_w, c.out_h);
    const torch::Tensor ours =
        DevicePreprocessor::resize(DevicePreprocessor::upload(image, kCpu), c.out_w, c.out_h);
    ASSERT_EQ(ours.sizes().vec(), (std::vector<int64_t>{c.channels, c.out_h, c.out_w}));
    const torch::Tensor hwc = ours.to(torch::kUInt8).permute({1, 2, 0}).contiguous();
    EXPECT_TRUE(ours.eq(hwc.permute({2, 0, 1}).to(torch::kFloat64)).all().item<bool>())
        << "values are not bytes";
    const cv::Mat got(c.out_h, c.out_w, CV_8UC(c.channels), hwc.data_ptr<uint8_t>());
    EXPECT_EQ(cv::norm(got, expected, cv::NORM_INF), 0.0)
        << c.w << "x" << c.h << " -> " << c.out_w << "x" << c.out_h << " (" << c.channels << " ch)";
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(cases.size()));
}

TEST(DevicePreprocess, RejectsBadOptionsAndImages) {
  PreprocessOptions bad;
  bad.std_dev[1] = 0;
  EXPECT_THROW(DevicePreprocessor{bad}, UserError);
  const DevicePreprocessor preprocessor;
  EXPECT_THROW(preprocessor.preprocess(cv::Mat(), 6, kCpu), UserError);
  EXPECT_THROW(preprocessor.preprocess(cv::Mat(10, 10, CV_8UC1), 6, kCpu), UserError);
  EXPECT_THROW(preprocessor.preprocess(cv::Mat(10, 10, CV_8UC3), 0, kCpu), UserError);
  EXPECT_THROW(DevicePreprocessor::resize(torch::zeros({3, 4, 4}, torch::kFloat64), 0, 4),
               UserError);
  EXPECT_THROW(DevicePreprocessor::resize(torch::zeros({4, 4}, torch::kFloat64), 2, 2), UserError);
}

}  // namespace
}  // namespace vlm
