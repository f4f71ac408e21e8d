// The project's one error type: every exception the library throws derives from vlm::Error.
#pragma once

#include <stdexcept>
#include <string>

namespace vlm {

// Whose fault an error is: the user's input (config, data, model files), a bug of ours, or the
// device the model runs on.
enum class ErrorKind {
  kUser,      // bad config, data, arguments or model files; exit code 2
  kInternal,  // a broken invariant inside the harness; exit code 3
  kDevice,    // the runtime failed on a device: out of memory, a device fault, an operator error
              // inside a unit; an item's error (the run goes on), exit code 5 elsewhere
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

// An error of the runtime on a device, translated where units run (model/torch_error.h): names
// the unit (or stage) and the device; out_of_memory() tells an allocation failure, which may
// succeed when tried again after the caching allocator released its free blocks.
class DeviceError : public Error {
 public:
  DeviceError(const std::string& message, std::string device, bool out_of_memory)
      : Error(ErrorKind::kDevice, message),
        device_(std::move(device)),
        out_of_memory_(out_of_memory) {}
  const std::string& device() const { return device_; }
  bool out_of_memory() const { return out_of_memory_; }

 private:
  std::string device_;
  bool out_of_memory_ = false;
};

// The process exit code for an error of `kind` that ends a program: 2 user, 3 internal, 5 device.
inline int exit_code(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kUser:
      return 2;
    case ErrorKind::kDevice:
      return 5;
    case ErrorKind::kInternal:
      break;
  }
  return 3;
}

// Input checks, TORCH_CHECK-style: throws UserError(message) when `cond` is false.
inline void check_user(bool cond, const std::string& message) {
  if (!cond) throw UserError(message);
}

// Invariant checks: throws InternalError(message) when `cond` is false.
inline void check_internal(bool cond, const std::string& message) {
  if (!cond) throw InternalError(message);
}

}  // namespace vlm
