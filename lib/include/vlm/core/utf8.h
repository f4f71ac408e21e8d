// UTF-8 encoding of a code point, shared by the text normaliser, the BPE byte table and the
// dataset reader's Python escape decoding.
#pragma once

#include <cstdint>
#include <string>

namespace vlm {

// Appends the UTF-8 encoding of code point `cp` (< 0x110000) to `out`.
void append_utf8(uint32_t cp, std::string& out);

}  // namespace vlm
