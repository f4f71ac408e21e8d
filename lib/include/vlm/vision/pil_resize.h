// Pillow's Image.resize(size, BICUBIC) for 8-bit images, bit for bit.
#pragma once

#include <opencv2/core.hpp>

namespace vlm {

// Resizes an 8-bit image (CV_8UC1..CV_8UC4, channels independent) to out_w x out_h exactly as
// Pillow's ImagingResample does with BICUBIC (a = -0.5; support widened by the downscale factor;
// 22-bit fixed-point coefficients; horizontal pass, then vertical; rounding and clamping to 8 bits
// after each pass; a pass whose size is unchanged is skipped). Same size gives a copy.
// Throws UserError on an empty image, another depth, or a non-positive output size.
cv::Mat pil_resize_bicubic(const cv::Mat& image8, int out_w, int out_h);

}  // namespace vlm
