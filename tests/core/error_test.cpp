#include "vlm/core/error.h"

#include <gtest/gtest.h>

namespace vlm {
namespace {

TEST(Error, UserAndInternalAreDistinguished) {
  try {
    check_user(false, "generation.max_new_tokens must be > 0, got 0");
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_TRUE(e.is_user_error());
    EXPECT_STREQ(e.what(), "generation.max_new_tokens must be > 0, got 0");
  }
  EXPECT_THROW(check_internal(false, "x"), InternalError);
  EXPECT_NO_THROW(check_user(true, "x"));
}

}  // namespace
}  // namespace vlm
