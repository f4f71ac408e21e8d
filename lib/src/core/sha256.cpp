#include "vlm/core/sha256.h"

#include <atomic>

#include "vlm/core/digest_util.h"
#include "vlm/core/error.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define VLM_SHA256_X86 1
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace vlm {
namespace {

constexpr std::array<uint32_t, 64> kK = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

inline uint32_t rotr(uint32_t x, int n) {
  return (x >> n) | (x << (32 - n));
}

std::atomic<bool> g_allow_cpu_extensions{true};

#ifdef VLM_SHA256_X86
// CPUID leaf 7, EBX bit 29: the SHA extensions (Intel since Goldmont / Ice Lake, AMD since Zen).
bool cpu_has_sha() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  unsigned a1 = 0, b1 = 0, c1 = 0, d1 = 0;
  if (!__get_cpuid(1, &a1, &b1, &c1, &d1)) return false;
  const bool ssse3 = (c1 >> 9) & 1, sse41 = (c1 >> 19) & 1;
  return ((b >> 29) & 1) && ssse3 && sse41;
}

// One block on the SHA extensions: the same compression function as Sha256::transform. The state
// is kept as the instructions want it (ABEF, CDGH) for the 64 rounds, 4 at a time; the message
// schedule is computed 4 words at a time by sha256msg1/msg2.
__attribute__((target("sha,sse4.1,ssse3"))) void transform_sha_ni(uint32_t* state,
                                                                  const uint8_t* block) {
  const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  __m128i tmp = _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(state)), 0xB1);
  __m128i s1 =
      _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(state + 4)), 0x1B);
  __m128i s0 = _mm_alignr_epi8(tmp, s1, 8);  // ABEF
  s1 = _mm_blend_epi16(s1, tmp, 0xF0);       // CDGH
  const __m128i abef = s0, cdgh = s1;
  __m128i w[4];  // the last 16 message words, 4 per register
  for (int i = 0; i < 4; ++i) {
    w[i] =
        _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 16 * i)), bswap);
  }
  for (int g = 0; g < 16; ++g) {
    if (g >= 4) {  // schedule words 4g..4g+3 from the 16 before them
      __m128i t = _mm_sha256msg1_epu32(w[g & 3], w[(g + 1) & 3]);
      t = _mm_add_epi32(t, _mm_alignr_epi8(w[(g + 3) & 3], w[(g + 2) & 3], 4));
      w[g & 3] = _mm_sha256msg2_epu32(t, w[(g + 3) & 3]);
    }
    const __m128i msg =
        _mm_add_epi32(w[g & 3], _mm_loadu_si128(reinterpret_cast<const __m128i*>(&kK[4 * g])));
    s1 = _mm_sha256rnds2_epu32(s1, s0, msg);
    s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(msg, 0x0E));
  }
  s0 = _mm_add_epi32(s0, abef);
  s1 = _mm_add_epi32(s1, cdgh);
  tmp = _mm_shuffle_epi32(s0, 0x1B);  // FEBA
  s1 = _mm_shuffle_epi32(s1, 0xB1);   // DCHG
  s0 = _mm_blend_epi16(tmp, s1, 0xF0);
  s1 = _mm_alignr_epi8(s1, tmp, 8);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(state), s0);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(state + 4), s1);
}
#endif

bool use_sha_ni() {
#ifdef VLM_SHA256_X86
  static const bool has = cpu_has_sha();
  return has && g_allow_cpu_extensions.load(std::memory_order_relaxed);
#else
  return false;
#endif
}

}  // namespace

bool sha256_uses_cpu_extensions() {
  return use_sha_ni();
}

void allow_sha256_cpu_extensions(bool allow) {
  g_allow_cpu_extensions = allow;
}

Sha256::Sha256()
    : state_{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
             0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19},
      sha_ni_(use_sha_ni()) {}

void Sha256::transform(const uint8_t block[64]) {
#ifdef VLM_SHA256_X86
  if (sha_ni_) return transform_sha_ni(state_.data(), block);
#endif
  uint32_t w[64];
  for (int i = 0; i < 16; ++i) {
    w[i] = (uint32_t{block[4 * i]} << 24) | (uint32_t{block[4 * i + 1]} << 16) |
           (uint32_t{block[4 * i + 2]} << 8) | uint32_t{block[4 * i + 3]};
  }
  for (int i = 16; i < 64; ++i) {
    const uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
    const uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = state_[0], b = state_[1], c = state_[2], d = state_[3];
  uint32_t e = state_[4], f = state_[5], g = state_[6], h = state_[7];
  for (int i = 0; i < 64; ++i) {
    const uint32_t s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
    const uint32_t ch = (e & f) ^ (~e & g);
    const uint32_t t1 = h + s1 + ch + kK[i] + w[i];
    const uint32_t s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
    const uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
    const uint32_t t2 = s0 + maj;
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  state_[0] += a;
  state_[1] += b;
  state_[2] += c;
  state_[3] += d;
  state_[4] += e;
  state_[5] += f;
  state_[6] += g;
  state_[7] += h;
}

void Sha256::update(std::string_view bytes) {
  update(bytes.data(), bytes.size());
}

void Sha256::update(const void* data, size_t size) {
  check_internal(!finished_, "Sha256::update after digest()");
  blocks_.feed(data, size, [this](const uint8_t* block) { transform(block); });
}

std::array<uint8_t, 32> Sha256::digest() {
  check_internal(!finished_, "Sha256::digest called twice");
  blocks_.finish(/*big_endian_length=*/true, [this](const uint8_t* block) { transform(block); });
  finished_ = true;
  std::array<uint8_t, 32> out{};
  for (int i = 0; i < 8; ++i) {
    for (int j = 0; j < 4; ++j) out[4 * i + j] = static_cast<uint8_t>(state_[i] >> (24 - 8 * j));
  }
  return out;
}

std::string Sha256::hex_digest() {
  const auto d = digest();
  return lower_hex(d.data(), d.size());
}

std::string sha256_hex(std::string_view bytes) {
  Sha256 sha;
  sha.update(bytes);
  return sha.hex_digest();
}

std::string sha256_file_hex(const std::filesystem::path& path) {
  return hash_file_hex<Sha256>(path, "sha256");
}

}  // namespace vlm
