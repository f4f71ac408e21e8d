#include "vlm/core/python_float.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string_view>

#include "vlm/core/error.h"
#include "vlm/core/python_str.h"

namespace vlm {

std::string python_float_repr(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  if (value == 0.0) return std::signbit(value) ? "-0.0" : "0.0";

  // Shortest round-trip digits, as d.ddde[+-]xx.
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::scientific);
  check_internal(res.ec == std::errc(), "python_float_repr: to_chars failed");
  const std::string_view sci(buf, static_cast<std::size_t>(res.ptr - buf));
  const std::size_t e_pos = sci.find('e');
  check_internal(e_pos != std::string_view::npos, "python_float_repr: no exponent");

  std::string sign;
  std::string digits;
  for (char c : sci.substr(0, e_pos)) {
    if (c == '-') {
      sign = "-";
    } else if (c != '.') {
      digits.push_back(c);
    }
  }
  const int exponent = std::atoi(std::string(sci.substr(e_pos + 1)).c_str());
  const int decpt = exponent + 1;  // digits[0:decpt] is the integer part
  const int ndigits = static_cast<int>(digits.size());

  std::string out = sign;
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) {
      out += "0." + std::string(static_cast<std::size_t>(-decpt), '0') + digits;
    } else if (decpt >= ndigits) {
      out += digits + std::string(static_cast<std::size_t>(decpt - ndigits), '0') + ".0";
    } else {
      out += digits.substr(0, decpt) + "." + digits.substr(decpt);
    }
  } else {
    out += digits.substr(0, 1);
    if (ndigits > 1) out += "." + digits.substr(1);
    const int abs_exp = std::abs(exponent);
    out += exponent < 0 ? "e-" : "e+";
    if (abs_exp < 10) out += "0";
    out += std::to_string(abs_exp);
  }
  return out;
}

std::optional<double> python_float(const std::string& text) {
  // CPython: Unicode digits -> ASCII, whitespace -> ' ', any other non-ASCII -> error; strip;
  // underscores only between digits; then the C grammar of PyOS_string_to_double.
  std::string ascii;
  for (char32_t cp : python_code_points(text)) {
    if (python_isspace(cp)) {
      ascii += ' ';
    } else if (const int d = python_decimal_value(cp); d >= 0) {
      ascii += static_cast<char>('0' + d);
    } else if (cp < 0x80) {
      ascii += static_cast<char>(cp);
    } else {
      return std::nullopt;
    }
  }
  const std::size_t b = ascii.find_first_not_of(' ');
  if (b == std::string::npos) return std::nullopt;
  ascii = ascii.substr(b, ascii.find_last_not_of(' ') - b + 1);
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  std::string s;
  for (std::size_t i = 0; i < ascii.size(); ++i) {
    if (ascii[i] == '_') {
      if (i == 0 || i + 1 == ascii.size() || !digit(ascii[i - 1]) || !digit(ascii[i + 1]))
        return std::nullopt;
      continue;
    }
    s += ascii[i];
  }
  std::size_t i = 0;
  const bool negative = i < s.size() && s[i] == '-';
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  std::string word = s.substr(i);
  for (char& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (word == "inf" || word == "infinity") return negative ? -HUGE_VAL : HUGE_VAL;
  if (word == "nan") return negative ? -std::nan("") : std::nan("");
  std::size_t int_digits = 0, frac_digits = 0;
  while (i < s.size() && digit(s[i])) ++i, ++int_digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && digit(s[i])) ++i, ++frac_digits;
  }
  if (int_digits + frac_digits == 0) return std::nullopt;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    std::size_t exp_digits = 0;
    while (i < s.size() && digit(s[i])) ++i, ++exp_digits;
    if (exp_digits == 0) return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  double value = 0;
  const auto res = std::from_chars(s.data() + (s[0] == '+' ? 1 : 0), s.data() + s.size(), value);
  if (res.ec == std::errc::result_out_of_range) {
    // Overflow -> inf and underflow -> 0.0, as Python rounds.
    return std::strtod(s.c_str(), nullptr);
  }
  check_internal(res.ec == std::errc() && res.ptr == s.data() + s.size(),
                 "python_float: from_chars rejected '" + s + "'");
  return value;
}

}  // namespace vlm
