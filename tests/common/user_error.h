// The message of the UserError a callable throws, for tests of error messages.
#pragma once

#include <functional>
#include <string>

#include "vlm/core/error.h"

namespace vlm::testing {

// The UserError message `f` throws ("" when it throws none).
inline std::string user_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

}  // namespace vlm::testing
