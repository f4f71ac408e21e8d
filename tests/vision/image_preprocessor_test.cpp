#include "vlm/vision/image_preprocessor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "preprocess_reference.h"
#include "vlm/core/error.h"
#include "vlm/vision/image_decode.h"
#include "vlm/vision/pil_resize.h"

namespace vlm {
namespace {

// Match counts over 8-bit values.
struct Parity {
  int64_t values = 0;
  int64_t equal = 0;
  int max_diff = 0;
  int tiles = 0;

  double equal_percent() const { return values ? 100.0 * equal / values : 0.0; }
  void add(const Parity& o) {
    values += o.values;
    equal += o.equal;
    max_diff = std::max(max_diff, o.max_diff);
    tiles += o.tiles;
  }
  std::string summary() const {
    return std::to_string(tiles) + " tiles, " + std::to_string(values) +
           " values: " + std::to_string(equal_percent()) + "% equal (" +
           std::to_string(values - equal) + " differ), max diff " + std::to_string(max_diff);
  }
};

Parity compare_tiles(const std::vector<cv::Mat>& ours, const cv::Mat& stacked) {
  Parity p;
  for (size_t t = 0; t < ours.size(); ++t) {
    const cv::Mat expected = stacked(cv::Rect(0, 448 * static_cast<int>(t), 448, 448));
    const cv::Mat& tile = ours[t];
    EXPECT_EQ(tile.type(), CV_8UC3);
    EXPECT_EQ(tile.size(), expected.size());
    if (tile.type() != CV_8UC3 || tile.size() != expected.size()) continue;
    for (int y = 0; y < 448; ++y) {
      const uint8_t* a = tile.ptr<uint8_t>(y);
      const uint8_t* b = expected.ptr<uint8_t>(y);
      for (int x = 0; x < 448 * 3; ++x) {
        const int d = std::abs(static_cast<int>(a[x]) - static_cast<int>(b[x]));
        p.equal += d == 0;
        p.max_diff = std::max(p.max_diff, d);
      }
      p.values += 448 * 3;
    }
    ++p.tiles;
  }
  return p;
}

// Every reference image, max_num 6 and 12: the grid, the tile count and the 8-bit tiles (after
// decode, resize and crop, thumbnail last) against InternVL2's recipe run on Pillow.
// PNG inputs decode losslessly, so they test our resize alone: every value must be equal. JPEG
// inputs also depend on OpenCV and Pillow decoding with the same libjpeg-turbo (true on Debian 12):
// >= 99.9% equal and none off by more than 2.
TEST(ImagePreprocessor, TilesMatchPillow) {
  const nlohmann::json index = testing::load_preprocess_index();
  const ImagePreprocessor preprocessor;
  Parity png, jpeg;
  int images = 0;
  for (const auto& entry : index.at("images")) {
    const std::string name = entry.at("name");
    const cv::Mat image =
        read_image_file(testing::preprocess_reference_dir() / entry.at("file").get<std::string>());
    ASSERT_EQ(image.cols, entry.at("width").get<int>()) << name;
    ASSERT_EQ(image.rows, entry.at("height").get<int>()) << name;
    ++images;
    for (const auto& [max_num, run] : entry.at("runs").items()) {
      const ImageTiles ours = preprocessor.make_tiles(image, std::stoi(max_num));
      const TileGrid expected{run.at("grid").at(0).get<int>(), run.at("grid").at(1).get<int>()};
      EXPECT_EQ(ours.grid, expected)
          << name << " max " << max_num << ": got " << ours.grid.cols << "x" << ours.grid.rows;
      const int n = run.at("num_tiles");
      ASSERT_EQ(static_cast<int>(ours.tiles.size()), n) << name << " max " << max_num;
      const cv::Mat stacked = testing::read_reference_png(run.at("tiles"));
      ASSERT_EQ(stacked.rows, 448 * n) << name;
      const Parity p = compare_tiles(ours.tiles, stacked);
      if (p.equal != p.values)
        std::cout << "  " << name << " max " << max_num << ": " << p.summary() << "\n";
      (entry.at("format") == "PNG" ? png : jpeg).add(p);
    }
  }
  Parity all = png;
  all.add(jpeg);
  std::cout << "Pillow parity, " << images << " images: all " << all.summary() << "\n"
            << "  from PNG:  " << png.summary() << "\n"
            << "  from JPEG: " << jpeg.summary() << "\n";
  RecordProperty("equal_percent", std::to_string(all.equal_percent()));
  RecordProperty("max_diff", all.max_diff);
  EXPECT_GE(images, 36);
  EXPECT_GT(png.tiles, 100);
  EXPECT_GT(jpeg.tiles, 100);
  EXPECT_EQ(png.equal, png.values) << png.summary();
  EXPECT_GE(jpeg.equal_percent(), 99.9) << jpeg.summary();
  EXPECT_LE(jpeg.max_diff, 2) << jpeg.summary();
}

// pixel_values against ToTensor + Normalize done by torch on Pillow's tiles.
TEST(ImagePreprocessor, PixelValuesMatchTorchvision) {
  const nlohmann::json index = testing::load_preprocess_index();
  const ImagePreprocessor preprocessor;
  int compared = 0;
  for (const auto& entry : index.at("images")) {
    if (!entry.contains("normalized")) continue;
    const cv::Mat image =
        read_image_file(testing::preprocess_reference_dir() / entry.at("file").get<std::string>());
    for (const auto& [max_num, ref] : entry.at("normalized").items()) {
      const PreprocessedImage ours = preprocessor.preprocess(image, std::stoi(max_num));
      std::vector<int64_t> shape = ref.at("shape").get<std::vector<int64_t>>();
      ASSERT_EQ(ours.pixel_values.sizes().vec(), shape) << entry.at("name");
      EXPECT_EQ(ours.pixel_values.scalar_type(), torch::kFloat32);
      EXPECT_TRUE(ours.pixel_values.is_contiguous());
      EXPECT_EQ(ours.num_tiles, shape[0]);
      const auto path = testing::preprocess_reference_dir() / ref.at("file").get<std::string>();
      std::ifstream in(path, std::ios::binary);
      ASSERT_TRUE(in) << path;
      torch::Tensor expected = torch::empty(shape, torch::kFloat32);
      in.read(reinterpret_cast<char*>(expected.data_ptr<float>()),
              static_cast<std::streamsize>(expected.numel() * sizeof(float)));
      ASSERT_TRUE(in) << path;
      const double diff = (ours.pixel_values - expected).abs().max().item<double>();
      std::cout << "  " << entry.at("name").get<std::string>() << " max " << max_num
                << ": max |ours - torch| = " << diff << "\n";
      EXPECT_LE(diff, 1e-6) << entry.at("name");
      ++compared;
    }
  }
  EXPECT_GE(compared, 2);
}

TEST(ImagePreprocessor, ThumbnailOnlyWithSeveralTiles) {
  const ImagePreprocessor preprocessor;
  const cv::Mat square(448, 448, CV_8UC3, cv::Scalar(10, 20, 30));
  const PreprocessedImage one = preprocessor.preprocess(square, 12);
  EXPECT_EQ(one.num_tiles, 1);
  EXPECT_EQ(one.pixel_values.sizes().vec(), (std::vector<int64_t>{1, 3, 448, 448}));
  const cv::Mat wide(1080, 1920, CV_8UC3, cv::Scalar(10, 20, 30));
  const PreprocessedImage three = preprocessor.preprocess(wide, 6);  // (2,1) + thumbnail
  EXPECT_EQ(three.num_tiles, 3);
  EXPECT_EQ(three.grid, (TileGrid{2, 1}));
}

// num_tiles (the host's count for the device path) is the count make_tiles makes, thumbnail and
// tile limit included, with and without the thumbnail.
TEST(ImagePreprocessor, NumTilesIsTheCountMakeTilesMakes) {
  PreprocessOptions no_thumbnail;
  no_thumbnail.use_thumbnail = false;
  PreprocessOptions small;
  small.image_size = 64;
  small.min_tiles = 2;
  for (const PreprocessOptions& o : {PreprocessOptions{}, no_thumbnail, small}) {
    const ImagePreprocessor preprocessor(o);
    for (const auto& [w, h] : std::vector<std::pair<int, int>>{
             {448, 448}, {1920, 1080}, {300, 1200}, {1000, 90}, {37, 41}, {640, 480}}) {
      for (int max_tiles : {1, 2, 6, 12}) {
        if (max_tiles < o.min_tiles) continue;
        const cv::Mat image(h, w, CV_8UC3, cv::Scalar(1, 2, 3));
        EXPECT_EQ(preprocessor.num_tiles(w, h, max_tiles),
                  static_cast<int>(preprocessor.make_tiles(image, max_tiles).tiles.size()))
            << w << "x" << h << " max " << max_tiles << " thumbnail " << o.use_thumbnail;
      }
    }
  }
  const ImagePreprocessor preprocessor;
  EXPECT_EQ(preprocessor.num_tiles(1920, 1080, 6), 3);  // (2,1) + thumbnail
  EXPECT_EQ(preprocessor.num_tiles(1920, 1080, 1), 1);
}

TEST(ImagePreprocessor, RejectsBadOptionsAndImages) {
  PreprocessOptions bad;
  bad.image_size = 0;
  EXPECT_THROW(ImagePreprocessor{bad}, UserError);
  const ImagePreprocessor preprocessor;
  EXPECT_THROW(preprocessor.preprocess(cv::Mat(), 6), UserError);
  EXPECT_THROW(preprocessor.preprocess(cv::Mat(10, 10, CV_8UC1), 6), UserError);
}

TEST(PilResize, SameSizeIsACopy) {
  const cv::Mat image(5, 7, CV_8UC3, cv::Scalar(1, 2, 3));
  const cv::Mat out = pil_resize_bicubic(image, 7, 5);
  EXPECT_NE(out.data, image.data);
  EXPECT_EQ(cv::norm(out, image, cv::NORM_INF), 0.0);
  EXPECT_THROW(pil_resize_bicubic(image, 0, 5), UserError);
  EXPECT_THROW(pil_resize_bicubic(cv::Mat(), 3, 3), UserError);
}

}  // namespace
}  // namespace vlm
