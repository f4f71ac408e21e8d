// The 64-byte block framing MD5 and SHA-256 share (Merkle–Damgård): input is cut into 64-byte
// blocks for the hash's compression function, and the end is padded with 0x80, zeros, and the
// message length in bits as 8 bytes (little-endian for MD5, big-endian for SHA-256).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace vlm {

class BlockFramer {
 public:
  // Feeds bytes; calls compress(const uint8_t* block) for each completed 64-byte block.
  template <typename Compress>
  void feed(const void* data, size_t size, Compress&& compress) {
    const auto* p = static_cast<const uint8_t*>(data);
    length_ += size;
    if (buffered_ > 0) {
      const size_t take = std::min(size, kBlock - buffered_);
      std::memcpy(buffer_.data() + buffered_, p, take);
      buffered_ += take;
      p += take;
      size -= take;
      if (buffered_ < kBlock) return;
      compress(buffer_.data());
      buffered_ = 0;
    }
    for (; size >= kBlock; p += kBlock, size -= kBlock) compress(p);
    if (size > 0) {
      std::memcpy(buffer_.data(), p, size);
      buffered_ = size;
    }
  }

  // Pads the message and compresses the last block(s). Feed nothing after this.
  template <typename Compress>
  void finish(bool big_endian_length, Compress&& compress) {
    const uint64_t bit_length = length_ * 8;
    const uint8_t pad = 0x80, zero = 0;
    feed(&pad, 1, compress);
    while (buffered_ != kBlock - 8) feed(&zero, 1, compress);
    uint8_t len_bytes[8];
    for (int i = 0; i < 8; ++i) {
      const int shift = big_endian_length ? 56 - 8 * i : 8 * i;
      len_bytes[i] = static_cast<uint8_t>(bit_length >> shift);
    }
    feed(len_bytes, 8, compress);
  }

 private:
  static constexpr size_t kBlock = 64;
  uint64_t length_ = 0;  // bytes fed so far
  std::array<uint8_t, kBlock> buffer_{};
  size_t buffered_ = 0;
};

}  // namespace vlm
