// json_integer / json_number_as_int64: what a reader of someone else's JSON may turn into an
// integer, and what it must refuse instead of casting (a cast of 1e300 to int64_t is undefined).
#include "vlm/core/json_int.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <nlohmann/json.hpp>

namespace vlm {
namespace {
using nlohmann::json;

TEST(JsonInteger, AcceptsIntegersInRange) {
  EXPECT_EQ(json_integer<int>(json::parse("42")), 42);
  EXPECT_EQ(json_integer<int>(json::parse("-2147483648")), INT32_MIN);
  EXPECT_EQ(json_integer<int64_t>(json::parse("9223372036854775807")), INT64_MAX);
  EXPECT_EQ(json_integer<uint64_t>(json::parse("18446744073709551615")), UINT64_MAX);
  EXPECT_EQ(json_integer<size_t>(json::parse("0")), 0u);
}

TEST(JsonInteger, RefusesOutOfRangeFloatsAndOtherTypes) {
  EXPECT_FALSE(json_integer<int>(json::parse("2147483648")));
  EXPECT_FALSE(json_integer<int64_t>(json::parse("9223372036854775808")));
  EXPECT_FALSE(json_integer<size_t>(json::parse("-1")));
  EXPECT_FALSE(json_integer<uint8_t>(json::parse("256")));
  EXPECT_FALSE(json_integer<int64_t>(json::parse("5.17778e108")));
  EXPECT_FALSE(json_integer<int>(json::parse("3.0")));
  EXPECT_FALSE(json_integer<int>(json::parse("true")));
  EXPECT_FALSE(json_integer<int>(json::parse("\"7\"")));
  EXPECT_FALSE(json_integer<int>(json::parse("null")));
}

TEST(JsonNumberAsInt64, TruncatesFloatsThatFitAndRefusesTheRest) {
  EXPECT_EQ(json_number_as_int64(json::parse("1536.9")), 1536);
  EXPECT_EQ(json_number_as_int64(json::parse("-2.5")), -2);
  EXPECT_EQ(json_number_as_int64(json::parse("123")), 123);
  EXPECT_FALSE(json_number_as_int64(json::parse("1e300")));
  EXPECT_FALSE(json_number_as_int64(json::parse("9223372036854775808.0")));
  EXPECT_FALSE(json_number_as_int64(json::parse("18446744073709551615")));
  EXPECT_FALSE(json_number_as_int64(json::parse("\"12\"")));
}

}  // namespace
}  // namespace vlm
