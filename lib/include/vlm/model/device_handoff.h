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

// Host tensor -> `device` without making the host wait: on a CUDA device the bytes are staged in
// pinned memory and copied asynchronously on the device's current stream (the pinned block is held
// until that copy is done), so work already queued there (vision, say) keeps the device busy while
// the host goes on. Elsewhere the same as hand_off. Prompt ids and their <IMG_CONTEXT> positions
// travel this way.
torch::Tensor upload(const torch::Tensor& host, c10::Device device);

// Tells the CUDA caching allocator that `t` is used on the current stream of its device, so that
// its memory is not handed out again (to the stream that allocated it) before the work queued
// here so far is done. For a tensor made on another stream (encoded ahead) and read on this one.
// Nothing for a tensor that is not on a CUDA device, or without CUDA.
void record_use_on_current_stream(const torch::Tensor& t);

}  // namespace vlm
