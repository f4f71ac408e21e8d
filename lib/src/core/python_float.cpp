#include "vlm/core/python_float.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string_view>

#include "vlm/core/error.h"

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

}  // namespace vlm
