// The project's one error type: every exception the library throws derives from vlm::Error.
#pragma once

#include <stdexcept>
#include <string>

namespace vlm {

// Whose fault an error is: the user's input (config, data, model files) or a bug of ours.
enum class ErrorKind {
  kUser,      // bad config, data, arguments or model files; exit code 2
  kInternal,  // a broken invariant inside the harness; exit code 3
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }
  bool is_user_error() const { return kind_ == ErrorKind::kUser; }

 private:
  ErrorKind kind_;
};

// An error in something the user gave us. The message says what and where (file, row, unit,
// device).
class UserError : public Error {
 public:
  explicit UserError(const std::string& message) : Error(ErrorKind::kUser, message) {}
};

// A broken invariant: a bug in the harness.
class InternalError : public Error {
 public:
  explicit InternalError(const std::string& message) : Error(ErrorKind::kInternal, message) {}
};

// Input checks, TORCH_CHECK-style: throws UserError(message) when `cond` is false.
inline void check_user(bool cond, const std::string& message) {
  if (!cond) throw UserError(message);
}

// Invariant checks: throws InternalError(message) when `cond` is false.
inline void check_internal(bool cond, const std::string& message) {
  if (!cond) throw InternalError(message);
}

}  // namespace vlm
