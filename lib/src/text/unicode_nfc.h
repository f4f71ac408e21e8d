// Unicode NFC normalisation of UTF-8 text (the "NFC" normalizer of a tokenizer.json), with tables
// generated from Python's unicodedata by scripts/fixtures/bpe_reference/make_nfc_table.py.
#pragma once

#include <string>
#include <string_view>

namespace vlm::unicode {

// NFC of `text`. Bytes that are not valid UTF-8 are copied through unchanged (each one a starter),
// which never happens for text that came from a std::string of valid UTF-8.
std::string nfc(std::string_view text);

}  // namespace vlm::unicode
