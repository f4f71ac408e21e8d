// What the incremental hashes (Md5, Sha256) share: lower-case hex of a digest, and hashing a file
// in 1 MiB reads. Hasher: update(const void*, size_t) and hex_digest().
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "vlm/core/error.h"

namespace vlm {

// Lower-case hex of `size` bytes, as Python's hexdigest().
inline std::string lower_hex(const uint8_t* bytes, size_t size) {
  static const char* kHex = "0123456789abcdef";
  std::string s;
  s.reserve(2 * size);
  for (size_t i = 0; i < size; ++i) {
    s += kHex[bytes[i] >> 4];
    s += kHex[bytes[i] & 15];
  }
  return s;
}

// hex_digest() of the file's bytes; UserError naming the file and `algorithm` when it cannot be
// opened or read to the end.
template <typename Hasher>
std::string hash_file_hex(const std::filesystem::path& path, const char* algorithm) {
  std::ifstream in(path, std::ios::binary);
  check_user(in.good(),
             "cannot open " + path.string() + " to compute its " + std::string(algorithm));
  Hasher h;
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const std::streamsize got = in.gcount();
    if (got > 0) h.update(buf.data(), static_cast<size_t>(got));
  }
  check_user(in.eof(),
             "error while reading " + path.string() + " to compute its " + std::string(algorithm));
  return h.hex_digest();
}

}  // namespace vlm
