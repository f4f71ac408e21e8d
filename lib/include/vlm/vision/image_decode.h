// Image decoding that gives the pixels PIL's Image.open(...).convert('RGB') gives.
#pragma once

#include <filesystem>
#include <opencv2/core.hpp>
#include <string>

namespace vlm {

// Decodes encoded image bytes (JPEG, PNG, BMP, WebP, TIFF: what OpenCV's imgcodecs reads) into an
// 8-bit RGB image, CV_8UC3 in R,G,B channel order, as PIL's convert('RGB') gives it: grayscale is
// replicated to three channels, alpha (RGBA, LA, transparent palette entries) is dropped without
// compositing, palette images take their palette colours, EXIF orientation is NOT applied.
// Empty or undecodable bytes throw UserError; the message starts with `what` (e.g. "item 12").
cv::Mat decode_image(const std::string& bytes, const std::string& what);

// Reads and decodes an image file as decode_image does; errors name the path.
cv::Mat read_image_file(const std::filesystem::path& path);

}  // namespace vlm
