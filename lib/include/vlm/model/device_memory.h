// What the CUDA caching allocator holds per device, for checking a plan against reality.
#pragma once

#include <c10/core/Device.h>

#include <cstdint>
#include <optional>

namespace vlm {

// Bytes currently allocated by tensors on a CUDA `device`; nullopt for the CPU or when this build's
// LibTorch has no CUDA.
std::optional<int64_t> device_allocated_bytes(c10::Device device);
// Peak allocated bytes on a CUDA `device` since the process started (or the last reset).
std::optional<int64_t> device_peak_allocated_bytes(c10::Device device);

}  // namespace vlm
