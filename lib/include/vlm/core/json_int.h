// Range-checked integers from JSON values. nlohmann's get<int>() converts floats and wide values
// with a plain cast, which is undefined behaviour when the value does not fit (1e300 -> int64_t),
// so every integer read from a file someone else wrote goes through here.
#pragma once

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <type_traits>

namespace vlm {

// `v` as T when it is a JSON integer (not a float, not a bool) within T's range; nullopt otherwise.
template <typename T, typename Json>
std::optional<T> json_integer(const Json& v) {
  static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
  using Limits = std::numeric_limits<T>;
  if (v.is_number_unsigned()) {
    const uint64_t x = v.template get<uint64_t>();
    if (x > static_cast<uint64_t>(Limits::max())) return std::nullopt;
    return static_cast<T>(x);
  }
  if (v.is_number_integer()) {
    const int64_t x = v.template get<int64_t>();
    if constexpr (Limits::is_signed) {
      if (x < static_cast<int64_t>(Limits::min()) || x > static_cast<int64_t>(Limits::max()))
        return std::nullopt;
    } else {
      if (x < 0 || static_cast<uint64_t>(x) > static_cast<uint64_t>(Limits::max()))
        return std::nullopt;
    }
    return static_cast<T>(x);
  }
  return std::nullopt;
}

// A JSON number (integer or float) as int64_t, or nullopt when it is not a number or a float
// outside int64_t's range (floats are truncated toward zero, as a cast would).
template <typename Json>
std::optional<int64_t> json_number_as_int64(const Json& v) {
  if (v.is_number_integer() || v.is_number_unsigned()) return json_integer<int64_t>(v);
  if (!v.is_number_float()) return std::nullopt;
  const double d = v.template get<double>();
  // 2^63 is exactly representable; NaN fails both comparisons.
  if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) return std::nullopt;
  return static_cast<int64_t>(d);
}

}  // namespace vlm
