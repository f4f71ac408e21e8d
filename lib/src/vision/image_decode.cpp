#include "vlm/vision/image_decode.h"

#include <fstream>
#include <iterator>
#include <climits>
#include <cstdint>
#include <optional>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "vlm/core/error.h"
#include "vlm/core/log.h"
#include "vlm/vision/image_header.h"

namespace vlm {

cv::Mat decode_image(const std::string& bytes, const std::string& what,
                     const ImageLimits& limits) {
  if (bytes.empty()) throw UserError(what + ": image is empty (0 bytes)");
  const std::string undecodable =
      what + ": image is not a decodable JPEG/PNG (" + std::to_string(bytes.size()) + " bytes)";
  const std::optional<ImageHeader> header = read_image_header(bytes);
  if (!header) {
    throw UserError(undecodable + ": no PNG, JPEG, BMP, WebP, TIFF or PNM header");
  }
  if (header->width <= 0 || header->height <= 0)
    throw UserError(undecodable + ": the " + header->format + " header declares " +
                    std::to_string(header->width) + "x" + std::to_string(header->height) +
                    " pixels");
  // Both are below 2^32, so the product fits in 64 bits unsigned; saturate for int64.
  const uint64_t product =
      static_cast<uint64_t>(header->width) * static_cast<uint64_t>(header->height);
  const int64_t pixels = product > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX
                                                                    : static_cast<int64_t>(product);
  const std::string size_text = header->format + " of " + std::to_string(header->width) + "x" +
                                std::to_string(header->height) + " = " + std::to_string(pixels) +
                                " pixels";
  if (limits.max_pixels > 0 && pixels > limits.max_pixels) {
    throw UserError(what + ": image is a " + size_text + ", over the limit of " +
                    std::to_string(limits.max_pixels) +
                    " pixels (Pillow's decompression-bomb rule); not decoded");
  }
  if (limits.warn_pixels > 0 && pixels > limits.warn_pixels) {
    log::warning(what + ": image is a " + size_text + ", over Pillow's MAX_IMAGE_PIXELS (" +
                 std::to_string(limits.warn_pixels) + "): a possible decompression bomb");
  }
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
  // The decoder follows the header it was given; this holds the bound should it not.
  if (limits.max_pixels > 0 && static_cast<int64_t>(bgr.rows) * bgr.cols > limits.max_pixels)
    throw UserError(what + ": image decodes to " + std::to_string(bgr.cols) + "x" +
                    std::to_string(bgr.rows) + " pixels, over the limit of " +
                    std::to_string(limits.max_pixels));
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
