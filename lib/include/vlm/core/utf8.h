// UTF-8 encoding of a code point, shared by the text normaliser, the BPE byte table and the
// dataset reader's Python escape decoding.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace vlm {

// Appends the UTF-8 encoding of code point `cp` (< 0x110000) to `out`.
void append_utf8(uint32_t cp, std::string& out);

// The byte offset of the first byte of `s` that is not part of well-formed UTF-8, as Python's
// strict bytes.decode('utf-8') judges it (no overlong forms, no surrogates, nothing past
// U+10FFFF, no truncated sequence), or std::string::npos when all of `s` is valid.
size_t invalid_utf8_offset(std::string_view s);

}  // namespace vlm
