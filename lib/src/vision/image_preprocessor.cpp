#include "vlm/vision/image_preprocessor.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include "vlm/core/error.h"
#include "vlm/vision/pil_resize.h"

namespace vlm {

ImagePreprocessor::ImagePreprocessor(PreprocessOptions options) : options_(std::move(options)) {
  check_user(options_.image_size > 0,
             "preprocess.image_size must be > 0, got " + std::to_string(options_.image_size));
  check_user(options_.min_tiles >= 1, "preprocess.min_dynamic_patch must be >= 1, got " +
                                          std::to_string(options_.min_tiles));
  for (int c = 0; c < 3; ++c) {
    check_user(options_.std_dev[c] > 0, "preprocess.std[" + std::to_string(c) +
                                            "] must be > 0, got " +
                                            std::to_string(options_.std_dev[c]));
  }
}

ImageTiles ImagePreprocessor::make_tiles(const cv::Mat& rgb8, int max_tiles) const {
  check_user(!rgb8.empty() && rgb8.type() == CV_8UC3,
             "image preprocessing needs a non-empty 8-bit RGB image");
  const int size = options_.image_size;
  ImageTiles result;
  result.grid = choose_tile_grid(rgb8.cols, rgb8.rows, options_.min_tiles, max_tiles, size);
  const TileGrid& grid = result.grid;
  const cv::Mat resized = pil_resize_bicubic(rgb8, size * grid.cols, size * grid.rows);
  for (int i = 0; i < grid.count(); ++i) {
    const cv::Rect box((i % grid.cols) * size, (i / grid.cols) * size, size, size);
    result.tiles.push_back(resized(box).clone());
  }
  if (options_.use_thumbnail && result.tiles.size() != 1)
    result.tiles.push_back(pil_resize_bicubic(rgb8, size, size));
  return result;
}

int ImagePreprocessor::num_tiles(int width, int height, int max_tiles) const {
  const TileGrid grid =
      choose_tile_grid(width, height, options_.min_tiles, max_tiles, options_.image_size);
  return grid.count() + (options_.use_thumbnail && grid.count() != 1 ? 1 : 0);
}

torch::Tensor ImagePreprocessor::to_pixel_values(const std::vector<cv::Mat>& tiles) const {
  const int size = options_.image_size;
  const int64_t n = static_cast<int64_t>(tiles.size());
  torch::Tensor bytes = torch::empty({n, size, size, 3}, torch::kUInt8);  // [N, H, W, C]
  const size_t tile_bytes = static_cast<size_t>(size) * size * 3;
  for (int64_t i = 0; i < n; ++i) {
    const cv::Mat& tile = tiles[i];
    check_internal(tile.type() == CV_8UC3 && tile.rows == size && tile.cols == size,
                   "to_pixel_values: tile " + std::to_string(i) + " is not " +
                       std::to_string(size) + "x" + std::to_string(size) + " RGB");
    const cv::Mat packed = tile.isContinuous() ? tile : tile.clone();
    std::memcpy(bytes.data_ptr<uint8_t>() + i * tile_bytes, packed.data, tile_bytes);
  }
  // torchvision: ToTensor = to(float32).div(255); Normalize = sub_(mean).div_(std), in float32.
  const torch::Tensor mean =
      torch::tensor({static_cast<float>(options_.mean[0]), static_cast<float>(options_.mean[1]),
                     static_cast<float>(options_.mean[2])})
          .view({1, 3, 1, 1});
  const torch::Tensor std_dev = torch::tensor({static_cast<float>(options_.std_dev[0]),
                                               static_cast<float>(options_.std_dev[1]),
                                               static_cast<float>(options_.std_dev[2])})
                                    .view({1, 3, 1, 1});
  torch::Tensor x = bytes.permute({0, 3, 1, 2}).contiguous().to(torch::kFloat32).div(255);
  return x.sub_(mean).div_(std_dev);
}

PreprocessedImage ImagePreprocessor::preprocess(const cv::Mat& rgb8, int max_tiles) const {
  ImageTiles tiles = make_tiles(rgb8, max_tiles);
  PreprocessedImage out;
  out.pixel_values = to_pixel_values(tiles.tiles);
  out.num_tiles = static_cast<int>(tiles.tiles.size());
  out.grid = tiles.grid;
  return out;
}

}  // namespace vlm
