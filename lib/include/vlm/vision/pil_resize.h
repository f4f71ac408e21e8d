// Pillow's Image.resize(size, BICUBIC) for 8-bit images, bit for bit.
#pragma once

#include <cstdint>
#include <opencv2/core.hpp>
#include <vector>

namespace vlm {

// Bits of fraction in Pillow's 8-bit fixed-point resample coefficients (Resample.c:
// PRECISION_BITS = 32 - 8 - 2). A pass computes, per output value, the int32 sum
// 2^(PRECISION_BITS-1) + sum_k pixel_k * kk_k and keeps clamp(sum >> PRECISION_BITS, 0, 255).
constexpr int kPilPrecisionBits = 32 - 8 - 2;

// One pass's coefficients as Pillow's precompute_coeffs + normalize_coeffs_8bpc make them for
// BICUBIC over the box [0, in_size): output i reads the inputs bounds[2i] .. bounds[2i] +
// bounds[2i+1] - 1 with weights kk[i * ksize + 0 ..]; kk entries past bounds[2i+1] are 0.
struct PilResizeCoefficients {
  int in_size = 0;
  int out_size = 0;
  int ksize = 0;
  std::vector<int> bounds;  // [out_size, 2]: first input index (xmin), number of inputs
  std::vector<int32_t> kk;  // [out_size, ksize]: fixed-point weights (kPilPrecisionBits)
};

// Throws UserError unless in_size > 0 and out_size > 0.
PilResizeCoefficients pil_bicubic_coefficients(int in_size, int out_size);

// Resizes an 8-bit image (CV_8UC1..CV_8UC4, channels independent) to out_w x out_h exactly as
// Pillow's ImagingResample does with BICUBIC (a = -0.5; support widened by the downscale factor;
// 22-bit fixed-point coefficients; horizontal pass, then vertical; rounding and clamping to 8 bits
// after each pass; a pass whose size is unchanged is skipped). Same size gives a copy.
// Throws UserError on an empty image, another depth, or a non-positive output size.
cv::Mat pil_resize_bicubic(const cv::Mat& image8, int out_w, int out_h);

}  // namespace vlm
