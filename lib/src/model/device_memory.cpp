#include "vlm/model/device_memory.h"

#include <cstdint>

#ifdef VLM_WITH_CUDA
#include <ATen/ATen.h>
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace vlm {

#ifdef VLM_WITH_CUDA
namespace {
// Index of the aggregate over all pool kinds (StatType::AGGREGATE, whose namespace moved between
// LibTorch 1.x and 2.x; its value is 0 in both).
constexpr size_t kAggregate = 0;

// The allocator's statistics exist once CUDA is initialised on `device`: an empty tensor does that
// without allocating.
void ensure_initialised(c10::Device device) {
  (void)at::empty({0}, at::TensorOptions().device(device));
}
}  // namespace

std::optional<int64_t> device_allocated_bytes(c10::Device device) {
  if (!device.is_cuda()) return std::nullopt;
  ensure_initialised(device);
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index());
  return stats.allocated_bytes[kAggregate].current;
}

std::optional<int64_t> device_peak_allocated_bytes(c10::Device device) {
  if (!device.is_cuda()) return std::nullopt;
  ensure_initialised(device);
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
