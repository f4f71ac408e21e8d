// The size an encoded image declares in its header, read without decoding it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vlm {

struct ImageHeader {
  std::string format;  // "PNG", "JPEG", "BMP", "WebP", "TIFF" or "PNM"
  int64_t width = 0;   // pixels, as declared
  int64_t height = 0;  // pixels, as declared
};

// Reads the declared width and height of a PNG (IHDR), JPEG (first SOFn), BMP (DIB header), WebP
// (VP8/VP8L/VP8X), TIFF (first IFD) or PNM (P1-P6) from its first bytes. nullopt when the bytes
// are none of these formats or the header is cut short or malformed.
std::optional<ImageHeader> read_image_header(std::string_view bytes);

}  // namespace vlm
