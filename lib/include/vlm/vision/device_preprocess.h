// InternVL2's load_image as tensor ops on a torch device (cuda:N or cpu), bit-identical to the
// CPU path (ImagePreprocessor), which is itself bit-identical to Pillow.
//
// What runs where: the decoded 8-bit RGB image is uploaded once (from pinned host memory with a
// non-blocking copy when the device is CUDA); everything after that runs on the device: the
// Pillow-bicubic resize to the grid, the crops (views of the resized image), the thumbnail's
// resize, ToTensor (/255) and Normalize ((x - mean) / std) in float32, and the cast to the model
// dtype.
//
// Why the result is bit-identical (the exactness argument):
// 1. Each resize pass is Pillow's own arithmetic written as a matrix product. A pass's output value
//    is, in Pillow, the int32 sum S = sum_k p_k * kk_k of 8-bit pixels p_k times the pass's
//    fixed-point integer coefficients kk_k (pil_bicubic_coefficients: the same function that
//    pil_resize_bicubic uses), then clamp((S + 2^21) >> 22, 0, 255). Here the pass is the product
//    of the pass's coefficient matrix (kk in each output's window, zero elsewhere) with the image,
//    in float64. The matrix is applied by its band: outputs in blocks of 16, each block's rows
//    restricted to the span of inputs the block reads (gathered), all blocks one batched matmul;
//    only entries that are zero are left out.
//    Every operand is an integer: |p_k| <= 255 and |kk_k| < 2^23 (a normalised bicubic weight is
//    below 1.2), so each product is an integer below 2^31 in magnitude, and every partial sum, in
//    whatever order or blocking the BLAS (MKL, OpenBLAS, cuBLAS, with or without FMA, split-K or
//    tensor cores) adds them, is an integer of magnitude <= 255 * sum_k |kk_k| < 255 * 2^23 *
//    ksize, far below 2^53 (ksize = 2 * ceil(2 * in/out) + 1 would have to reach 2^22). An integer
//    below 2^53 is a float64 exactly, so every addition is exact and the product equals Pillow's
//    int32 sum exactly (which does not overflow in Pillow either: the same bound is < 2^31 there).
//    The zeros in a band add exactly 0 (float64 matmuls never use TF32). The bound is checked at
//    run time for every coefficient row (InternalError if it ever failed).
// 2. Pillow's rounding in float64: (S + 2^21) is exact (integers < 2^53), * 2^-22 is exact (a power
//    of two, no underflow), floor() of that equals the arithmetic shift S >> 22 (floor division),
//    and the clamp to [0, 255] is exact. The result is an integer-valued float64 = Pillow's byte.
// 3. Pass order and rows as Pillow's ImagingResampleInner: horizontal first when both passes are
//    needed, over only the input rows the vertical pass reads (ybox_first .. ybox_last), with the
//    vertical windows shifted by ybox_first; a pass whose size is unchanged is skipped. The
//    rounding to 8 bits happens after each pass, so the intermediate equals Pillow's 8-bit temp
//    image.
// 4. Crops are slices of the resized image (no arithmetic); the thumbnail is a second resize of
//    the same uploaded image.
// 5. ToTensor and Normalize are the CPU path's float32 ops in its order: (float32)byte (exact),
//    x / 255, x - mean, x / std, each one IEEE-rounded op (a conversion of an integer <= 255 to
//    float32 is exact; float32 division and subtraction are correctly rounded on CPU and CUDA).
//    The divisors are tensors on the device, not scalars: CUDA's div by a CPU scalar computes
//    x * (1/255), which can differ from x / 255 in the last bit.
// 6. The cast to the model dtype (e.g. bfloat16) is the last op: round-to-nearest-even on both.
// Cost: a pass is ~rows * out * (16 * in/out + ksize) float64 multiply-adds (a few times Pillow's
// rows * out * ksize), plus gathers and copies of float64 images: cheap on a GPU; on a CPU it is
// several times slower than the CPU path (which is why that one stays the host default).
#pragma once

#include <torch/torch.h>

#include <opencv2/core.hpp>

#include "vlm/vision/image_preprocessor.h"
#include "vlm/vision/tile_grid.h"

namespace vlm {

// The tiles of one image on a device, before ToTensor.
struct DeviceTiles {
  torch::Tensor tiles;  // [num_tiles, 3, size, size] float64 holding the bytes 0..255, on device
  TileGrid grid;        // the grid chosen for the image
};

class DevicePreprocessor {
 public:
  // Same options and validation as ImagePreprocessor (UserError naming the field).
  explicit DevicePreprocessor(PreprocessOptions options = {});

  // Uploads an 8-bit image (rows x cols x channels, any channel count 1..4) to `device` as a
  // planar float64 tensor [channels, rows, cols]; through pinned memory, non-blocking, for CUDA.
  static torch::Tensor upload(const cv::Mat& image8, c10::Device device);

  // Pillow's Image.resize((out_w, out_h), BICUBIC) of a planar image [C, H, W] of integer-valued
  // float64 in 0..255 (as upload gives), on the image's device: float64 [C, out_h, out_w] with
  // integer values, equal to pil_resize_bicubic. Same size gives the input itself.
  // Throws UserError on a bad tensor or a non-positive size.
  static torch::Tensor resize(const torch::Tensor& planar, int out_w, int out_h);

  // The tiles ImagePreprocessor::make_tiles makes (grid row-major, thumbnail last), on `device`.
  DeviceTiles make_tiles(const cv::Mat& rgb8, int max_tiles, c10::Device device) const;

  // ToTensor + Normalize in float32 as ImagePreprocessor::to_pixel_values, then cast to `dtype`.
  torch::Tensor to_pixel_values(const torch::Tensor& tiles,
                                c10::ScalarType dtype = torch::kFloat32) const;

  // make_tiles + to_pixel_values: pixel_values [N, 3, size, size] of `dtype`, contiguous, on
  // `device`. With dtype float32 it equals ImagePreprocessor::preprocess bit for bit. On CUDA the
  // work is queued on the current stream; nothing waits for it.
  PreprocessedImage preprocess(const cv::Mat& rgb8, int max_tiles, c10::Device device,
                               c10::ScalarType dtype = torch::kFloat32) const;

  const PreprocessOptions& options() const { return checked_.options(); }

 private:
  ImagePreprocessor checked_;  // holds the validated options
};

}  // namespace vlm
