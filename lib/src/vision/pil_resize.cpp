#include "vlm/vision/pil_resize.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "vlm/core/error.h"

namespace vlm {
namespace {

// Pillow's Resample.c, 8 bits per channel.
constexpr int kPrecisionBits = kPilPrecisionBits;
constexpr double kBicubicSupport = 2.0;

double bicubic_filter(double x) {
  constexpr double a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

using Coefficients = PilResizeCoefficients;

// precompute_coeffs + normalize_coeffs_8bpc.
Coefficients precompute_coeffs(int in_size, float in0, float in1, int out_size) {
  double scale = static_cast<double>(in1 - in0) / out_size;
  double filterscale = scale;
  if (filterscale < 1.0) filterscale = 1.0;
  const double support = kBicubicSupport * filterscale;
  Coefficients c;
  c.in_size = in_size;
  c.out_size = out_size;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.bounds.resize(static_cast<size_t>(out_size) * 2);
  c.kk.assign(static_cast<size_t>(out_size) * c.ksize, 0);
  std::vector<double> k(c.ksize);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = in0 + (xx + 0.5) * scale;
    double ww = 0.0;
    const double ss = 1.0 / filterscale;
    int xmin = static_cast<int>(center - support + 0.5);  // truncation, as C's (int)
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    for (int x = 0; x < xmax; ++x) {
      const double w = bicubic_filter((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (int x = 0; x < xmax; ++x)
      if (ww != 0.0) k[x] /= ww;
    for (int x = xmax; x < c.ksize; ++x) k[x] = 0;
    c.bounds[2 * xx] = xmin;
    c.bounds[2 * xx + 1] = xmax;
    int32_t* out = &c.kk[static_cast<size_t>(xx) * c.ksize];
    for (int x = 0; x < c.ksize; ++x) {
      out[x] = k[x] < 0 ? static_cast<int32_t>(-0.5 + k[x] * (1 << kPrecisionBits))
                        : static_cast<int32_t>(0.5 + k[x] * (1 << kPrecisionBits));
    }
  }
  return c;
}

inline uint8_t clip8(int32_t in) {
  const int32_t v = in >> kPrecisionBits;  // arithmetic shift, as Pillow's lookup index
  return static_cast<uint8_t>(std::min(255, std::max(0, v)));
}

// out rows y = 0..out.rows-1 come from input rows y + row_offset.
void resample_horizontal(const cv::Mat& in, cv::Mat& out, int row_offset, const Coefficients& c) {
  const int channels = in.channels();
  for (int y = 0; y < out.rows; ++y) {
    const uint8_t* src = in.ptr<uint8_t>(y + row_offset);
    uint8_t* dst = out.ptr<uint8_t>(y);
    for (int xx = 0; xx < out.cols; ++xx) {
      const int xmin = c.bounds[2 * xx];
      const int xmax = c.bounds[2 * xx + 1];
      const int32_t* k = &c.kk[static_cast<size_t>(xx) * c.ksize];
      for (int ch = 0; ch < channels; ++ch) {
        int32_t ss = 1 << (kPrecisionBits - 1);
        const uint8_t* s = src + static_cast<size_t>(xmin) * channels + ch;
        for (int x = 0; x < xmax; ++x) ss += static_cast<int32_t>(s[x * channels]) * k[x];
        dst[static_cast<size_t>(xx) * channels + ch] = clip8(ss);
      }
    }
  }
}

void resample_vertical(const cv::Mat& in, cv::Mat& out, const Coefficients& c) {
  const int row_len = in.cols * in.channels();
  std::vector<int32_t> acc(row_len);
  for (int yy = 0; yy < out.rows; ++yy) {
    const int ymin = c.bounds[2 * yy];
    const int ymax = c.bounds[2 * yy + 1];
    const int32_t* k = &c.kk[static_cast<size_t>(yy) * c.ksize];
    std::fill(acc.begin(), acc.end(), 1 << (kPrecisionBits - 1));
    for (int y = 0; y < ymax; ++y) {
      const uint8_t* src = in.ptr<uint8_t>(ymin + y);
      const int32_t w = k[y];
      for (int i = 0; i < row_len; ++i) acc[i] += static_cast<int32_t>(src[i]) * w;
    }
    uint8_t* dst = out.ptr<uint8_t>(yy);
    for (int i = 0; i < row_len; ++i) dst[i] = clip8(acc[i]);
  }
}

}  // namespace

PilResizeCoefficients pil_bicubic_coefficients(int in_size, int out_size) {
  check_user(in_size > 0 && out_size > 0, "pil_bicubic_coefficients: sizes must be positive, got " +
                                              std::to_string(in_size) + " -> " +
                                              std::to_string(out_size));
  return precompute_coeffs(in_size, 0.0f, static_cast<float>(in_size), out_size);
}

cv::Mat pil_resize_bicubic(const cv::Mat& image8, int out_w, int out_h) {
  check_user(!image8.empty(), "pil_resize_bicubic: empty image");
  check_user(image8.depth() == CV_8U && image8.channels() >= 1 && image8.channels() <= 4,
             "pil_resize_bicubic: need an 8-bit image with 1 to 4 channels");
  check_user(out_w > 0 && out_h > 0, "pil_resize_bicubic: output size must be positive, got " +
                                         std::to_string(out_w) + "x" + std::to_string(out_h));
  if (out_w == image8.cols && out_h == image8.rows) return image8.clone();

  const bool need_horizontal = out_w != image8.cols;
  const bool need_vertical = out_h != image8.rows;
  const Coefficients horiz = pil_bicubic_coefficients(image8.cols, out_w);
  Coefficients vert = pil_bicubic_coefficients(image8.rows, out_h);

  // Rows of the input the vertical pass reads.
  const int ybox_first = vert.bounds[0];
  const int ybox_last = vert.bounds[2 * out_h - 2] + vert.bounds[2 * out_h - 1];

  cv::Mat current = image8;
  if (need_horizontal) {
    for (int i = 0; i < out_h; ++i) vert.bounds[2 * i] -= ybox_first;
    cv::Mat temp(ybox_last - ybox_first, out_w, image8.type());
    resample_horizontal(image8, temp, ybox_first, horiz);
    current = temp;
  }
  if (need_vertical) {
    cv::Mat out(out_h, current.cols, image8.type());
    resample_vertical(current, out, vert);
    current = out;
  }
  return current;
}

}  // namespace vlm
