// SHA-256 message digest (FIPS 180-4), for checking model files against their manifest.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "vlm/core/block_framer.h"

namespace vlm {

// Incremental SHA-256: update() any number of times, then hex_digest() once. Runs on the CPU's
// SHA extensions (x86 SHA-NI: about 4x the portable code) where present, decided at construction.
class Sha256 {
 public:
  Sha256();
  // Feeds bytes into the digest.
  void update(std::string_view bytes);
  void update(const void* data, size_t size);
  // The 32-byte digest. Finalizes: further update() calls throw InternalError.
  std::array<uint8_t, 32> digest();
  // The digest as 64 lower-case hex characters, as Python's hashlib.sha256().hexdigest().
  std::string hex_digest();

 private:
  void transform(const uint8_t block[64]);

  std::array<uint32_t, 8> state_;
  BlockFramer blocks_;
  bool finished_ = false;
  bool sha_ni_ = false;  // the x86 SHA extensions compress the blocks
};

// Whether new Sha256 objects use the CPU's SHA extensions. Both paths give the same digests;
// allow_sha256_cpu_extensions(false) forces the portable code (for tests that compare the two).
bool sha256_uses_cpu_extensions();
void allow_sha256_cpu_extensions(bool allow);

// SHA-256 of `bytes` as 64 lower-case hex characters.
std::string sha256_hex(std::string_view bytes);

// SHA-256 of a file's contents as 64 lower-case hex characters; UserError naming the file if it
// cannot be read.
std::string sha256_file_hex(const std::filesystem::path& path);

}  // namespace vlm
