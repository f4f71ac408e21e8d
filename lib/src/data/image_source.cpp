#include "vlm/data/image_source.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

#include "vlm/core/error.h"
#include "vlm/data/base64.h"

namespace vlm {
namespace fs = std::filesystem;

ImageSource ImageSource::embedded(std::string base64_text) {
  ImageSource s;
  s.base64 = std::move(base64_text);
  return s;
}

ImageSource ImageSource::from_file(fs::path path) {
  ImageSource s;
  s.file = std::move(path);
  return s;
}

std::string ImageSource::bytes(const std::string& what, int64_t max_bytes) const {
  if (file.empty()) return base64_decode(base64);
  const std::string where = what + ": image file " + file.string();
  std::error_code ec;
  check_user(fs::is_regular_file(file, ec), where + " does not exist or is not a file");
  const auto size = fs::file_size(file, ec);
  check_user(!ec, where + ": " + ec.message());
  check_user(static_cast<int64_t>(size) <= max_bytes, where + " has " + std::to_string(size) +
                                                          " bytes, over the limit of " +
                                                          std::to_string(max_bytes));
  std::ifstream in(file, std::ios::binary);
  check_user(in.good(), where + " cannot be read: " + std::strerror(errno));
  std::string out(static_cast<size_t>(size), '\0');
  in.read(out.data(), static_cast<std::streamsize>(size));
  check_user(
      in.gcount() == static_cast<std::streamsize>(size),
      where + ": read " + std::to_string(in.gcount()) + " of " + std::to_string(size) + " bytes");
  return out;
}

}  // namespace vlm
