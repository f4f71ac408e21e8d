// InternVL2's load_image: dynamic tiles + thumbnail, ToTensor, Normalize -> pixel_values.
#pragma once

#include <torch/torch.h>

#include <array>
#include <opencv2/core.hpp>
#include <vector>

#include "vlm/vision/tile_grid.h"

namespace vlm {

// Preprocessing constants (the manifest's "preprocess" block). Validated by ImagePreprocessor.
struct PreprocessOptions {
  int image_size = 448;                                // tile side in pixels
  std::array<double, 3> mean{0.485, 0.456, 0.406};     // per-channel mean (R, G, B) of x/255
  std::array<double, 3> std_dev{0.229, 0.224, 0.225};  // per-channel std (R, G, B) of x/255
  int min_tiles = 1;                                   // min_num of dynamic_preprocess
  bool use_thumbnail = true;  // append the whole image resized to one tile when there are > 1 tiles
};

// The 8-bit tiles of one image, before ToTensor.
struct ImageTiles {
  std::vector<cv::Mat>
      tiles;      // CV_8UC3 RGB, image_size x image_size each: grid row-major, thumbnail last
  TileGrid grid;  // the grid chosen for the image
};

// One image ready for the vision model.
struct PreprocessedImage {
  torch::Tensor pixel_values;  // [num_tiles, 3, image_size, image_size] float32, CPU, contiguous
  int num_tiles = 0;           // grid.count(), plus 1 for the thumbnail when grid.count() > 1
  TileGrid grid;               // the grid chosen for the image
};

class ImagePreprocessor {
 public:
  // Throws UserError naming the field (e.g. "preprocess.image_size must be > 0, got 0").
  explicit ImagePreprocessor(PreprocessOptions options = {});

  // Tiles of an RGB CV_8UC3 image as upstream's dynamic_preprocess makes them with max_num =
  // max_tiles: the image resized (Pillow bicubic) to (cols*size, rows*size) and cut row-major,
  // then the ORIGINAL image resized to size x size appended last when there is more than one tile.
  ImageTiles make_tiles(const cv::Mat& rgb8, int max_tiles) const;

  // How many tiles make_tiles (and DevicePreprocessor::make_tiles) makes for a width x height
  // image, thumbnail included, without making them. Throws UserError as choose_tile_grid.
  int num_tiles(int width, int height, int max_tiles) const;

  // ToTensor (x / 255 in float32) then Normalize ((x - mean) / std in float32), as torchvision.
  torch::Tensor to_pixel_values(const std::vector<cv::Mat>& tiles) const;

  // make_tiles + to_pixel_values.
  PreprocessedImage preprocess(const cv::Mat& rgb8, int max_tiles) const;

  const PreprocessOptions& options() const { return options_; }

 private:
  PreprocessOptions options_;
};

}  // namespace vlm
