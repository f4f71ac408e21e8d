#include "vlm/vision/image_header.h"

#include <cstdlib>

namespace vlm {
namespace {

uint32_t be16(std::string_view b, size_t at) {
  return (static_cast<uint32_t>(static_cast<uint8_t>(b[at])) << 8) |
         static_cast<uint8_t>(b[at + 1]);
}
uint32_t be32(std::string_view b, size_t at) { return (be16(b, at) << 16) | be16(b, at + 2); }
uint32_t le16(std::string_view b, size_t at) {
  return static_cast<uint8_t>(b[at]) |
         (static_cast<uint32_t>(static_cast<uint8_t>(b[at + 1])) << 8);
}
uint32_t le24(std::string_view b, size_t at) {
  return le16(b, at) | (static_cast<uint32_t>(static_cast<uint8_t>(b[at + 2])) << 16);
}
uint32_t le32(std::string_view b, size_t at) { return le16(b, at) | (le16(b, at + 2) << 16); }

bool starts_with(std::string_view b, std::string_view prefix) {
  return b.substr(0, prefix.size()) == prefix;
}

std::optional<ImageHeader> png(std::string_view b) {
  // Signature, then the IHDR chunk: length(4) "IHDR" width(4) height(4), big-endian.
  if (b.size() < 24 || b.substr(12, 4) != "IHDR") return std::nullopt;
  return ImageHeader{"PNG", be32(b, 16), be32(b, 20)};
}

std::optional<ImageHeader> jpeg(std::string_view b) {
  size_t i = 2;  // past SOI
  while (i + 1 < b.size()) {
    if (static_cast<uint8_t>(b[i]) != 0xFF) return std::nullopt;
    const uint8_t marker = static_cast<uint8_t>(b[i + 1]);
    if (marker == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    i += 2;
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) continue;  // no length
    if (marker == 0xD9 || i + 2 > b.size()) return std::nullopt;         // EOI, cut short
    const uint32_t length = be16(b, i);
    if (length < 2) return std::nullopt;
    const bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 &&
                     marker != 0xCC;
    if (sof) {
      if (length < 7 || i + 7 > b.size()) return std::nullopt;
      return ImageHeader{"JPEG", be16(b, i + 5), be16(b, i + 3)};  // precision, height, width
    }
    i += length;
  }
  return std::nullopt;
}

std::optional<ImageHeader> bmp(std::string_view b) {
  if (b.size() < 26) return std::nullopt;
  const uint32_t dib = le32(b, 14);
  if (dib == 12) return ImageHeader{"BMP", le16(b, 18), le16(b, 20)};  // BITMAPCOREHEADER
  const int32_t w = static_cast<int32_t>(le32(b, 18));
  const int32_t h = static_cast<int32_t>(le32(b, 22));  // negative: top-down rows
  return ImageHeader{"BMP", std::abs(static_cast<int64_t>(w)), std::abs(static_cast<int64_t>(h))};
}

std::optional<ImageHeader> webp(std::string_view b) {
  if (b.size() < 30) return std::nullopt;
  const std::string_view chunk = b.substr(12, 4);
  if (chunk == "VP8 ") {  // frame tag(3), start code 9d 01 2a, 14-bit width and height
    if (b.substr(23, 3) != "\x9d\x01\x2a") return std::nullopt;
    return ImageHeader{"WebP", le16(b, 26) & 0x3FFF, le16(b, 28) & 0x3FFF};
  }
  if (chunk == "VP8L") {  // signature 0x2f, then 14 bits width-1, 14 bits height-1
    if (static_cast<uint8_t>(b[20]) != 0x2F) return std::nullopt;
    const uint32_t bits = le32(b, 21);
    return ImageHeader{"WebP", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1};
  }
  if (chunk == "VP8X") {  // flags(4), canvas width-1 (24 bits), canvas height-1 (24 bits)
    return ImageHeader{"WebP", int64_t{le24(b, 24)} + 1, int64_t{le24(b, 27)} + 1};
  }
  return std::nullopt;
}

std::optional<ImageHeader> tiff(std::string_view b) {
  const bool little = b[0] == 'I';
  auto u16 = [&](size_t at) { return little ? le16(b, at) : be16(b, at); };
  auto u32 = [&](size_t at) { return little ? le32(b, at) : be32(b, at); };
  if (b.size() < 8) return std::nullopt;
  const size_t ifd = u32(4);
  if (ifd < 8 || ifd + 2 > b.size()) return std::nullopt;
  const size_t entries = u16(ifd);
  int64_t width = -1, height = -1;
  for (size_t k = 0; k < entries; ++k) {
    const size_t e = ifd + 2 + 12 * k;
    if (e + 12 > b.size()) return std::nullopt;
    const uint32_t tag = u16(e), type = u16(e + 2), count = u32(e + 4);
    if ((tag != 256 && tag != 257) || count != 1) continue;
    int64_t value = -1;
    if (type == 3) value = u16(e + 8);  // SHORT, left-justified in the value field
    if (type == 4) value = u32(e + 8);  // LONG
    if (value < 0) return std::nullopt;
    (tag == 256 ? width : height) = value;
  }
  if (width < 0 || height < 0) return std::nullopt;
  return ImageHeader{"TIFF", width, height};
}

std::optional<ImageHeader> pnm(std::string_view b) {
  // "P1".."P6", then width and height as decimal numbers between whitespace and # comments.
  size_t i = 2;
  int64_t dims[2] = {0, 0};
  for (int64_t& d : dims) {
    while (i < b.size()) {
      const char c = b[i];
      if (c == '#') {
        while (i < b.size() && b[i] != '\n' && b[i] != '\r') ++i;
      } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
        ++i;
      } else {
        break;
      }
    }
    size_t digits = 0;
    while (i < b.size() && b[i] >= '0' && b[i] <= '9') {
      if (++digits > 10) return std::nullopt;
      d = d * 10 + (b[i++] - '0');
    }
    if (digits == 0) return std::nullopt;
  }
  return ImageHeader{"PNM", dims[0], dims[1]};
}

}  // namespace

std::optional<ImageHeader> read_image_header(std::string_view b) {
  if (starts_with(b, std::string_view("\x89PNG\r\n\x1a\n", 8))) return png(b);
  if (starts_with(b, "\xFF\xD8")) return jpeg(b);
  if (starts_with(b, "BM")) return bmp(b);
  if (starts_with(b, "RIFF") && b.size() >= 12 && b.substr(8, 4) == "WEBP") return webp(b);
  if (starts_with(b, std::string_view("II*\0", 4)) || starts_with(b, std::string_view("MM\0*", 4)))
    return tiff(b);
  if (b.size() >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6') return pnm(b);
  return std::nullopt;
}

}  // namespace vlm
