#include "vlm/model/device_handoff.h"

#ifdef VLM_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace vlm {

torch::Tensor hand_off(const torch::Tensor& t, c10::Device device) {
  if (t.device() == device) return t;
  // Blocking copy: for CPU<->CUDA and CUDA<->CUDA this orders the copy after pending work on the
  // source's current stream and before later work on the destination's current stream.
  return t.to(device, /*non_blocking=*/false, /*copy=*/false);
}

torch::Tensor upload(const torch::Tensor& host, c10::Device device) {
  if (!device.is_cuda() || !host.device().is_cpu()) return hand_off(host, device);
  return host.contiguous().pin_memory().to(device, /*non_blocking=*/true, /*copy=*/false);
}

void record_use_on_current_stream(const torch::Tensor& t) {
#ifdef VLM_WITH_CUDA
  if (t.defined() && t.device().is_cuda())
    c10::cuda::CUDACachingAllocator::recordStream(
        t.storage().data_ptr(), c10::cuda::getCurrentCUDAStream(t.device().index()));
#else
  (void)t;
#endif
}

}  // namespace vlm
