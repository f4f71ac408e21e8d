// Python's repr() of a float, as pandas writes float64 cells into csv/tsv files.
#pragma once

#include <string>

namespace vlm {

// The shortest digits that round-trip, fixed notation for decimal exponents in [-5, 15]
// ("0.6666666666666666", "1.0", "0.0001"), scientific otherwise ("1e-05", "1e+16"); "nan",
// "inf", "-inf", "-0.0" for the special values.
std::string python_float_repr(double value);

}  // namespace vlm
