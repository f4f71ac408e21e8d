#include "vlm/vision/device_preprocess.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "vlm/core/error.h"
#include "vlm/vision/pil_resize.h"

namespace vlm {
namespace {

// A host buffer as a tensor on `device`: a plain copy for the CPU, a pinned staging tensor and a
// non-blocking copy for CUDA (the caching host allocator keeps the staging block alive until the
// copy has run).
torch::Tensor to_device(const void* data, std::vector<int64_t> shape, torch::ScalarType dtype,
                        c10::Device device) {
  const bool cuda = device.is_cuda();
  torch::Tensor host = torch::empty(shape, torch::TensorOptions().dtype(dtype).pinned_memory(cuda));
  std::memcpy(host.data_ptr(), data, host.nbytes());
  if (!cuda) return device.is_cpu() ? host : host.to(device);
  return host.to(device, /*non_blocking=*/true);
}

// Outputs per block of the banded coefficient matrix.
constexpr int kBlock = 16;

// One pass's coefficient matrix, stored by its nonzero band: outputs in blocks of kBlock; block n
// reads the `band` consecutive inputs starting at first_n (its first output's window start).
struct BandedPass {
  int blocks = 0;
  int band = 0;
  torch::Tensor index;    // [blocks * band] int64: input index first_n + l (clamped; weight 0 past)
  torch::Tensor weights;  // [blocks, kBlock, band] float64: Pillow's integer coefficients
};

// The pass's coefficients on `device`, for an input of in_size values whose window starts are
// bounds[2i] - shift.
BandedPass banded_pass(const PilResizeCoefficients& c, int shift, int in_size, c10::Device device) {
  const int out = c.out_size;
  BandedPass p;
  p.blocks = (out + kBlock - 1) / kBlock;
  std::vector<int64_t> first(static_cast<size_t>(p.blocks) * kBlock, 0);
  for (int i = 0; i < out; ++i) {
    first[i] = c.bounds[2 * i] - shift;
    check_internal(first[i] >= 0 && first[i] + c.bounds[2 * i + 1] <= in_size,
                   "device resize: a window leaves the input");
    // The exactness bound of the header: every partial sum of a row stays below 2^53.
    double abs_sum = 0;
    for (int k = 0; k < c.ksize; ++k)
      abs_sum += std::abs(static_cast<double>(c.kk[static_cast<size_t>(i) * c.ksize + k]));
    check_internal(255.0 * abs_sum < 9007199254740992.0,
                   "device resize: coefficient sum too large for exact float64");
  }
  // Band width: the widest span of inputs any block reads (windows start in nondecreasing order).
  std::vector<int64_t> offset(first.size(), 0);  // window start relative to the block's start
  for (int n = 0; n < p.blocks; ++n) {
    const int64_t lo = first[static_cast<size_t>(n) * kBlock];
    for (int b = 0; b < kBlock; ++b) {
      const int i = n * kBlock + b;
      if (i >= out) break;
      check_internal(first[i] >= lo, "device resize: windows out of order");
      offset[i] = first[i] - lo;
      p.band = std::max<int>(p.band, static_cast<int>(offset[i]) + c.bounds[2 * i + 1]);
    }
  }
  std::vector<int64_t> index(static_cast<size_t>(p.blocks) * p.band);
  for (int n = 0; n < p.blocks; ++n)
    for (int l = 0; l < p.band; ++l)
      index[static_cast<size_t>(n) * p.band + l] =
          std::min<int64_t>(first[static_cast<size_t>(n) * kBlock] + l, in_size - 1);
  std::vector<int32_t> kk(static_cast<size_t>(p.blocks) * kBlock * c.ksize, 0);
  std::copy(c.kk.begin(), c.kk.end(), kk.begin());

  const auto i64 = torch::TensorOptions().dtype(torch::kInt64).device(device);
  p.index = to_device(index.data(), {p.blocks * p.band}, torch::kInt64, device);
  const torch::Tensor coeffs =
      to_device(kk.data(), {p.blocks * kBlock, c.ksize}, torch::kInt32, device).to(torch::kFloat64);
  const torch::Tensor columns =
      to_device(offset.data(), {p.blocks * kBlock, 1}, torch::kInt64, device) +
      torch::arange(c.ksize, i64);
  // Row i holds kk[i, k] at column offset_i + k; columns past the band only ever receive the zero
  // weights past a window's count (and padding outputs past out_size are all zero).
  torch::Tensor dense = torch::zeros({p.blocks * kBlock, p.band + c.ksize},
                                     torch::TensorOptions().dtype(torch::kFloat64).device(device));
  dense.scatter_(1, columns, coeffs);
  p.weights = dense.narrow(1, 0, p.band).reshape({p.blocks, kBlock, p.band});
  return p;
}

// Pillow's clip8 of a float64 tensor of exact int32 sums: clamp((S + 2^21) >> 22, 0, 255).
torch::Tensor round_to_8bit(torch::Tensor sums) {
  constexpr double half = static_cast<double>(int64_t{1} << (kPilPrecisionBits - 1));
  constexpr double inv_one = 1.0 / static_cast<double>(int64_t{1} << kPilPrecisionBits);
  return sums.add_(half).mul_(inv_one).floor_().clamp_(0.0, 255.0);
}

}  // namespace

DevicePreprocessor::DevicePreprocessor(PreprocessOptions options) : checked_(std::move(options)) {}

torch::Tensor DevicePreprocessor::upload(const cv::Mat& image8, c10::Device device) {
  check_user(!image8.empty() && image8.depth() == CV_8U && image8.channels() <= 4,
             "device preprocessing needs a non-empty 8-bit image");
  const cv::Mat packed = image8.isContinuous() ? image8 : image8.clone();
  const torch::Tensor bytes =
      to_device(packed.data, {packed.rows, packed.cols, packed.channels()}, torch::kUInt8, device);
  // [H, W, C] uint8 -> [C, H, W] float64 (exact), on the device.
  return bytes.permute({2, 0, 1}).to(torch::kFloat64).contiguous();
}

torch::Tensor DevicePreprocessor::resize(const torch::Tensor& planar, int out_w, int out_h) {
  check_user(planar.defined() && planar.dim() == 3 && planar.scalar_type() == torch::kFloat64 &&
                 planar.size(1) > 0 && planar.size(2) > 0,
             "device resize: need a planar float64 image [C, H, W]");
  check_user(out_w > 0 && out_h > 0, "device resize: output size must be positive, got " +
                                         std::to_string(out_w) + "x" + std::to_string(out_h));
  const int in_h = static_cast<int>(planar.size(1));
  const int in_w = static_cast<int>(planar.size(2));
  if (out_w == in_w && out_h == in_h) return planar;
  const c10::Device device = planar.device();
  const bool need_horizontal = out_w != in_w;
  const bool need_vertical = out_h != in_h;
  const PilResizeCoefficients horiz = pil_bicubic_coefficients(in_w, out_w);
  const PilResizeCoefficients vert = pil_bicubic_coefficients(in_h, out_h);
  // Rows of the input the vertical pass reads (ImagingResampleInner's ybox).
  const int ybox_first = vert.bounds[0];
  const int ybox_last = vert.bounds[2 * out_h - 2] + vert.bounds[2 * out_h - 1];

  torch::Tensor current = planar;
  int vertical_shift = 0;
  if (need_horizontal) {
    vertical_shift = ybox_first;
    const int64_t channels = planar.size(0), rows = ybox_last - ybox_first;
    const BandedPass pass = banded_pass(horiz, 0, in_w, device);
    // [C, rows, W] -> gathered bands [blocks, C*rows, band] @ [blocks, band, kBlock]
    const torch::Tensor bands = planar.narrow(1, ybox_first, rows)
                                    .index_select(2, pass.index)
                                    .view({channels, rows, pass.blocks, pass.band})
                                    .permute({2, 0, 1, 3})
                                    .reshape({pass.blocks, channels * rows, pass.band});
    const torch::Tensor sums =
        round_to_8bit(torch::matmul(bands, pass.weights.transpose(1, 2)));  // [blocks, C*rows, B]
    current = sums.view({pass.blocks, channels, rows, kBlock})
                  .permute({1, 2, 0, 3})
                  .reshape({channels, rows, pass.blocks * kBlock})
                  .narrow(2, 0, out_w)
                  .contiguous();  // [C, rows, out_w]
  }
  if (need_vertical) {
    const int64_t channels = current.size(0), cols = current.size(2);
    const BandedPass pass =
        banded_pass(vert, vertical_shift, static_cast<int>(current.size(1)), device);
    // [C, H', cols] -> gathered bands [C, blocks, band, cols]; [blocks, kBlock, band] @ that
    const torch::Tensor bands =
        current.index_select(1, pass.index).view({channels, pass.blocks, pass.band, cols});
    const torch::Tensor sums =
        round_to_8bit(torch::matmul(pass.weights, bands));  // [C, blocks, B, cols]
    current = sums.view({channels, pass.blocks * kBlock, cols}).narrow(1, 0, out_h).contiguous();
  }
  return current;
}

DeviceTiles DevicePreprocessor::make_tiles(const cv::Mat& rgb8, int max_tiles,
                                           c10::Device device) const {
  check_user(!rgb8.empty() && rgb8.type() == CV_8UC3,
             "image preprocessing needs a non-empty 8-bit RGB image");
  const PreprocessOptions& o = options();
  const int size = o.image_size;
  torch::NoGradGuard no_grad;
  DeviceTiles result;
  result.grid = choose_tile_grid(rgb8.cols, rgb8.rows, o.min_tiles, max_tiles, size);
  const TileGrid& grid = result.grid;
  const torch::Tensor image = upload(rgb8, device);
  const torch::Tensor resized = resize(image, size * grid.cols, size * grid.rows);
  // [3, rows*S, cols*S] -> [rows, cols, 3, S, S] -> row-major tiles.
  torch::Tensor tiles = resized.view({3, grid.rows, size, grid.cols, size})
                            .permute({1, 3, 0, 2, 4})
                            .reshape({grid.count(), 3, size, size});
  if (o.use_thumbnail && grid.count() != 1)
    tiles = torch::cat({tiles, resize(image, size, size).unsqueeze(0)}, 0);
  result.tiles = tiles.contiguous();
  return result;
}

torch::Tensor DevicePreprocessor::to_pixel_values(const torch::Tensor& tiles,
                                                  c10::ScalarType dtype) const {
  const int size = options().image_size;
  check_user(tiles.defined() && tiles.dim() == 4 && tiles.size(1) == 3 && tiles.size(2) == size &&
                 tiles.size(3) == size,
             "to_pixel_values: need tiles [N, 3, " + std::to_string(size) + ", " +
                 std::to_string(size) + "]");
  torch::NoGradGuard no_grad;
  const PreprocessOptions& o = options();
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(tiles.device());
  // Device tensors, not scalars (see the header, point 5).
  const torch::Tensor d255 = torch::full({1}, 255.0f, f32);
  const float mean_values[3] = {static_cast<float>(o.mean[0]), static_cast<float>(o.mean[1]),
                                static_cast<float>(o.mean[2])};
  const float std_values[3] = {static_cast<float>(o.std_dev[0]), static_cast<float>(o.std_dev[1]),
                               static_cast<float>(o.std_dev[2])};
  const torch::Tensor mean = to_device(mean_values, {1, 3, 1, 1}, torch::kFloat32, tiles.device());
  const torch::Tensor std_dev =
      to_device(std_values, {1, 3, 1, 1}, torch::kFloat32, tiles.device());
  torch::Tensor x = tiles.to(torch::kFloat32).div(d255);
  x.sub_(mean).div_(std_dev);
  return x.to(dtype).contiguous();
}

PreprocessedImage DevicePreprocessor::preprocess(const cv::Mat& rgb8, int max_tiles,
                                                 c10::Device device, c10::ScalarType dtype) const {
  DeviceTiles tiles = make_tiles(rgb8, max_tiles, device);
  PreprocessedImage out;
  out.pixel_values = to_pixel_values(tiles.tiles, dtype);
  out.num_tiles = static_cast<int>(tiles.tiles.size(0));
  out.grid = tiles.grid;
  return out;
}

}  // namespace vlm
