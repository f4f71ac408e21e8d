#include "unicode_nfc.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "vlm/core/utf8.h"

namespace vlm::unicode {
namespace {

struct CccEntry {
  uint32_t cp;
  uint8_t ccc;
};
struct DecompEntry {
  uint32_t cp;
  uint32_t offset;
  uint32_t length;
};
struct CompEntry {
  uint32_t first;
  uint32_t second;
  uint32_t composite;
};

#include "unicode_nfc_table.inc"

constexpr uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr uint32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount,
                   kSCount = kLCount * kNCount;
// Marks a byte that is not valid UTF-8; kept as it is.
constexpr uint32_t kRawByte = 0x80000000u;

int ccc(uint32_t cp) {
  if (cp < 0x300 || (cp & kRawByte)) return 0;
  auto it = std::lower_bound(std::begin(kCcc), std::end(kCcc), cp,
                             [](const CccEntry& e, uint32_t c) { return e.cp < c; });
  return it != std::end(kCcc) && it->cp == cp ? it->ccc : 0;
}

void decompose(uint32_t cp, std::vector<uint32_t>& out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    const uint32_t s = cp - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount != 0) out.push_back(kTBase + s % kTCount);
    return;
  }
  if (cp >= 0xC0 && !(cp & kRawByte)) {
    auto it = std::lower_bound(std::begin(kDecomp), std::end(kDecomp), cp,
                               [](const DecompEntry& e, uint32_t c) { return e.cp < c; });
    if (it != std::end(kDecomp) && it->cp == cp) {
      out.insert(out.end(), kDecompData + it->offset, kDecompData + it->offset + it->length);
      return;
    }
  }
  out.push_back(cp);
}

// The primary composite of (a, b), or 0.
uint32_t compose(uint32_t a, uint32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount) {
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  }
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase &&
      b < kTBase + kTCount) {
    return a + (b - kTBase);
  }
  auto it =
      std::lower_bound(std::begin(kComp), std::end(kComp), std::make_pair(a, b),
                       [](const CompEntry& e, const std::pair<uint32_t, uint32_t>& k) {
                         return e.first < k.first || (e.first == k.first && e.second < k.second);
                       });
  return it != std::end(kComp) && it->first == a && it->second == b ? it->composite : 0;
}

// Decodes valid UTF-8; an invalid byte becomes kRawByte | byte.
std::vector<uint32_t> to_code_points(std::string_view s) {
  std::vector<uint32_t> cps;
  cps.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const auto b = [&](size_t k) { return static_cast<uint8_t>(s[i + k]); };
    const auto trail = [&](size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
    uint32_t c = b(0);
    size_t n = 1;
    if (c >= 0x80) {
      n = 0;
      if ((c & 0xE0) == 0xC0 && trail(1)) {
        c = ((c & 0x1F) << 6) | (b(1) & 0x3F);
        if (c >= 0x80) n = 2;
      } else if ((c & 0xF0) == 0xE0 && trail(1) && trail(2)) {
        c = ((c & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
        if (c >= 0x800 && (c < 0xD800 || c >= 0xE000)) n = 3;
      } else if ((c & 0xF8) == 0xF0 && trail(1) && trail(2) && trail(3)) {
        c = ((c & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
        if (c >= 0x10000 && c < 0x110000) n = 4;
      }
      if (n == 0) {
        c = kRawByte | b(0);
        n = 1;
      }
    }
    cps.push_back(c);
    i += n;
  }
  return cps;
}

}  // namespace

std::string nfc(std::string_view text) {
  // Every code point below U+0300 is a starter that neither decomposes under NFC nor composes with
  // what precedes it, so such text is already NFC.
  bool simple = true;
  for (char ch : text) {
    if (static_cast<uint8_t>(ch) >= 0xCC) {
      simple = false;
      break;
    }
  }
  if (simple) return std::string(text);

  std::vector<uint32_t> d;
  d.reserve(text.size());
  for (uint32_t cp : to_code_points(text)) decompose(cp, d);
  // Canonical ordering: stable sort of each run of non-starters by combining class.
  for (size_t i = 0; i < d.size();) {
    if (ccc(d[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < d.size() && ccc(d[j]) != 0) ++j;
    std::stable_sort(d.begin() + i, d.begin() + j,
                     [](uint32_t a, uint32_t b) { return ccc(a) < ccc(b); });
    i = j;
  }
  // Canonical composition (UAX #15's algorithm).
  std::vector<uint32_t> c;
  c.reserve(d.size());
  size_t starter = 0;
  bool have_starter = false;
  int last_class = 0;
  for (uint32_t ch : d) {
    const int cls = ccc(ch);
    if (have_starter && (last_class < cls || last_class == 0)) {
      if (const uint32_t composite = compose(c[starter], ch)) {
        c[starter] = composite;
        continue;
      }
    }
    if (cls == 0) {
      starter = c.size();
      have_starter = true;
    }
    last_class = cls;
    c.push_back(ch);
  }
  std::string out;
  out.reserve(text.size());
  for (uint32_t ch : c) {
    if (ch & kRawByte) {
      out += static_cast<char>(ch & 0xFF);
    } else {
      append_utf8(ch, out);
    }
  }
  return out;
}

}  // namespace vlm::unicode
