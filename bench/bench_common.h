// Pieces shared by the benchmarks in bench/ (header-only; each bench/*.cpp is one executable).
#pragma once

#include <algorithm>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

namespace vlm::bench {

// Median of the values (0 for none).
inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// A deterministic photo-like w x h JPEG (quality 90): smooth gradients, two shapes and noise from
// OpenCV's default RNG. The item the GPU benchmarks time (1024x768: 3x2 tiles + thumbnail).
inline std::string make_test_jpeg(int w, int h) {
  cv::Mat img(h, w, CV_8UC3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      img.at<cv::Vec3b>(y, x) =
          cv::Vec3b(static_cast<uchar>((x * 255) / w), static_cast<uchar>((y * 255) / h),
                    static_cast<uchar>(((x + y) * 3) % 256));
  cv::circle(img, {w / 3, h / 2}, h / 5, {30, 200, 90}, -1);
  cv::rectangle(img, {w / 2, h / 4}, {w * 4 / 5, h * 3 / 4}, {220, 40, 40}, -1);
  cv::Mat noise(h, w, CV_8UC3);
  cv::randu(noise, 0, 24);
  img += noise;
  std::vector<uchar> buf;
  cv::imencode(".jpg", img, buf, {cv::IMWRITE_JPEG_QUALITY, 90});
  return std::string(buf.begin(), buf.end());
}

}  // namespace vlm::bench
