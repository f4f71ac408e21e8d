// The error boundary around the runtime: LibTorch's exceptions become the project's errors.
#pragma once

#include <c10/core/Device.h>
#include <c10/util/Exception.h>

#include <functional>
#include <string>

#include "vlm/core/error.h"

namespace vlm {

// `e`, thrown while `what` (e.g. "unit language_model.model.layers.3") ran on `device`, as a
// DeviceError naming both: out_of_memory() for c10::OutOfMemoryError (and CUDA's "out of memory"
// messages), else a device fault or an operator error with LibTorch's message (no backtrace).
DeviceError device_error(const c10::Error& e, const std::string& what, const c10::Device& device);

// Runs `body`; a c10::Error it throws leaves as device_error(e, what, device). The project's own
// errors pass unchanged.
template <typename F>
auto with_device_errors(const std::string& what, const c10::Device& device, F&& body)
    -> decltype(body()) {
  try {
    return body();
  } catch (const c10::Error& e) {
    throw device_error(e, what, device);
  }
}

// Returns the caching allocator's free blocks on every CUDA device to the driver, so that an
// allocation that failed for fragmentation can be tried again. Nothing without CUDA.
void release_cached_device_memory();

}  // namespace vlm
