// Image decoding that gives the pixels PIL's Image.open(...).convert('RGB') gives.
#pragma once

#include <cstdint>
#include <filesystem>
#include <opencv2/core.hpp>
#include <string>

namespace vlm {

// Bounds on what one encoded image may make the decoder allocate.
struct ImageLimits {
  // Pillow's decompression-bomb rule (Image._decompression_bomb_check): an image over
  // 2 * MAX_IMAGE_PIXELS (2 * 89478485 = 178956970) pixels is refused (DecompressionBombError),
  // one over MAX_IMAGE_PIXELS gets a warning. <= 0: no bound.
  int64_t max_pixels = 2 * int64_t{89478485};
  int64_t warn_pixels = 89478485;
};

// Decodes encoded image bytes (JPEG, PNG, BMP, WebP, TIFF: what OpenCV's imgcodecs reads) into an
// 8-bit RGB image, CV_8UC3 in R,G,B channel order, as PIL's convert('RGB') gives it: grayscale is
// replicated to three channels, alpha (RGBA, LA, transparent palette entries) is dropped without
// compositing, palette images take their palette colours, EXIF orientation is NOT applied.
// Empty or undecodable bytes throw UserError; the message starts with `what` (e.g. "item 12").
// The declared size is read from the header first (read_image_header) and an image over
// limits.max_pixels is refused before anything is allocated for its pixels; bytes whose format
// the header reader does not know (anything but PNG, JPEG, BMP, WebP, TIFF, PNM) are refused too,
// so that no decoder runs on an image of unknown size.
cv::Mat decode_image(const std::string& bytes, const std::string& what,
                     const ImageLimits& limits = {});

// Reads and decodes an image file as decode_image does; errors name the path.
cv::Mat read_image_file(const std::filesystem::path& path);

}  // namespace vlm
