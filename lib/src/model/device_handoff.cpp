#include "vlm/model/device_handoff.h"

namespace vlm {

torch::Tensor hand_off(const torch::Tensor& t, c10::Device device) {
  if (t.device() == device) return t;
  // Blocking copy: for CPU<->CUDA and CUDA<->CUDA this orders the copy after pending work on the
  // source's current stream and before later work on the destination's current stream.
  return t.to(device, /*non_blocking=*/false, /*copy=*/false);
}

}  // namespace vlm
