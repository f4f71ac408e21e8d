#include "vlm/vision/image_decode.h"

#include <fstream>
#include <iterator>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "vlm/core/error.h"

namespace vlm {

cv::Mat decode_image(const std::string& bytes, const std::string& what) {
  if (bytes.empty()) throw UserError(what + ": image is empty (0 bytes)");
  const std::string undecodable =
      what + ": image is not a decodable JPEG/PNG (" + std::to_string(bytes.size()) + " bytes)";
  cv::Mat bgr;
  try {
    const cv::Mat buffer(1, static_cast<int>(bytes.size()), CV_8UC1,
                         const_cast<char*>(bytes.data()));
    // IMREAD_COLOR: gray replicated, alpha stripped, palette expanded, 16 bits shifted to 8;
    // PIL applies no EXIF orientation, so neither do we.
    bgr = cv::imdecode(buffer, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
  } catch (const cv::Exception& e) {
    throw UserError(undecodable + ": " + e.what());
  }
  if (bgr.empty() || bgr.type() != CV_8UC3) throw UserError(undecodable);
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

cv::Mat read_image_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError(path.string() + ": cannot open image file");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw UserError(path.string() + ": cannot read image file");
  return decode_image(bytes, path.string());
}

}  // namespace vlm
