// MD5 message digest (RFC 1321), for checking dataset files against their published sums.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "vlm/core/block_framer.h"

namespace vlm {

// Incremental MD5: update() any number of times, then hex_digest() once.
class Md5 {
 public:
  Md5();
  // Feeds bytes into the digest.
  void update(std::string_view bytes);
  void update(const void* data, size_t size);
  // The 16-byte digest. Finalizes: further update() calls throw InternalError.
  std::array<uint8_t, 16> digest();
  // The digest as 32 lower-case hex characters, as Python's hashlib.md5().hexdigest().
  std::string hex_digest();

 private:
  void transform(const uint8_t block[64]);

  std::array<uint32_t, 4> state_;
  BlockFramer blocks_;
  bool finished_ = false;
};

// MD5 of `bytes` as 32 lower-case hex characters.
std::string md5_hex(std::string_view bytes);

// MD5 of a file's contents as 32 lower-case hex characters; UserError if it cannot be read.
std::string md5_file_hex(const std::filesystem::path& path);

}  // namespace vlm
