// The one place where tensors cross devices in the runtime.
#pragma once

#include <c10/core/Device.h>
#include <torch/types.h>

namespace vlm {

// Returns `t` on `device` (the same tensor when it is already there). Every cross-device move of
// hidden states, embeddings, ids, rotary tables and masks goes through this function, so that a
// placement can change speed but never results. The copy is ordered on the current streams of
// both devices: the result is safe to use on `device` without further synchronisation.
torch::Tensor hand_off(const torch::Tensor& t, c10::Device device);

}  // namespace vlm
