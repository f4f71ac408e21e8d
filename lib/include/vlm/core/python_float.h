// Python's float: repr() as pandas writes float64 cells into csv/tsv files, and float(str).
#pragma once

#include <optional>
#include <string>

namespace vlm {

// The shortest digits that round-trip, fixed notation for decimal exponents in [-5, 15]
// ("0.6666666666666666", "1.0", "0.0001"), scientific otherwise ("1e-05", "1e+16"); "nan",
// "inf", "-inf", "-0.0" for the special values.
std::string python_float_repr(double value);

// Python's float(text) for a str: surrounding Unicode whitespace, an optional sign, a decimal
// number whose digits may be any Unicode decimal digit ("\uff15" is 5) with single underscores
// between digits ("1_000"), an optional fraction ("1." and ".5") and exponent ("1e-3"), or
// inf / infinity / nan in any case. std::nullopt where Python raises ValueError ("1,000", "$5",
// "", "0x10").
std::optional<double> python_float(const std::string& text);

}  // namespace vlm
