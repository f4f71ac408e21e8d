// Python 3 `str` semantics on UTF-8 text, as VLMEvalKit's answer matching relies on them.
//
// Text is UTF-8. A byte that is not part of a valid UTF-8 sequence is treated like Python's
// "surrogateescape" decoding does: one code point (U+DC80 + byte) that is never whitespace, never
// changes under lower(), counts 1 in python_len() and is written back as the same raw byte.
// The Unicode data is CPython 3.11's (Unicode 14.0), generated from CPython itself.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace vlm {

// Python's str.isspace() for one code point (the 29 code points str.split() splits on).
bool python_isspace(char32_t cp);

// Python's str.split() with no arguments: split on runs of whitespace, drop empty pieces.
std::vector<std::string> python_split(const std::string& text);

// Python's str.strip() with no arguments: drop leading and trailing whitespace (python_isspace).
std::string python_strip(const std::string& text);

// Python's str.replace(old, new): every occurrence of `from` (non-empty), left to right.
std::string python_replace(std::string text, const std::string& from, const std::string& to);

// Python's str.lower(): full Unicode lower-casing, including U+0130 -> "i\u0307" and the
// Final_Sigma rule (U+03A3 -> U+03C2 at the end of a word).
std::string python_lower(const std::string& text);

// Python's len(str): the number of code points.
std::size_t python_len(const std::string& text);

// len(str.upper()): the code points after full Unicode upper-casing (SpecialCasing included:
// "\u00df" -> "SS" counts 2, "\ufb03" -> "FFI" counts 3).
std::size_t python_upper_len(const std::string& text);

// The text as Python's code points (invalid bytes as U+DC80 + byte), and back.
std::u32string python_code_points(const std::string& text);
std::string python_from_code_points(const std::u32string& code_points);

// The value 0..9 of a Unicode decimal digit (category Nd: str.isdecimal(), what `re`'s \d and
// float() accept), or -1.
int python_decimal_value(char32_t cp);

}  // namespace vlm
