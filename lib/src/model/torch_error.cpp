#include "vlm/model/torch_error.h"

#ifdef VLM_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace vlm {

DeviceError device_error(const c10::Error& e, const std::string& what, const c10::Device& device) {
  const std::string message = e.what_without_backtrace();
  const bool oom = dynamic_cast<const c10::OutOfMemoryError*>(&e) != nullptr ||
                   message.find("out of memory") != std::string::npos;
  return DeviceError((oom ? "out of memory on " : "runtime error on ") + device.str() + " in " +
                         what + ": " + message,
                     device.str(), oom);
}

void release_cached_device_memory() {
#ifdef VLM_WITH_CUDA
  c10::cuda::CUDACachingAllocator::emptyCache();
#endif
}

}  // namespace vlm
