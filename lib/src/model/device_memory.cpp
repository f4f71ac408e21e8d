#include "vlm/model/device_memory.h"

#include <cstdint>

#ifdef VLM_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace vlm {

#ifdef VLM_WITH_CUDA
namespace {
// Index of the aggregate over all pool kinds (StatType::AGGREGATE, whose namespace moved between
// LibTorch 1.x and 2.x; its value is 0 in both).
constexpr size_t kAggregate = 0;
}  // namespace

std::optional<int64_t> device_allocated_bytes(c10::Device device) {
  if (!device.is_cuda()) return std::nullopt;
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index());
  return stats.allocated_bytes[kAggregate].current;
}

std::optional<int64_t> device_peak_allocated_bytes(c10::Device device) {
  if (!device.is_cuda()) return std::nullopt;
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index());
  return stats.allocated_bytes[kAggregate].peak;
}
#else
std::optional<int64_t> device_allocated_bytes(c10::Device) {
  return std::nullopt;
}
std::optional<int64_t> device_peak_allocated_bytes(c10::Device) {
  return std::nullopt;
}
#endif

}  // namespace vlm
