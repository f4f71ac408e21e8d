// Capturing a call into a CUDA graph: the one recipe that the decode step and the vision graphs
// share (../shared/reference/fast-decoding.md §1.3–§1.5).
#pragma once

#ifdef VLM_WITH_CUDA

#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAStream.h>

#include <functional>
#include <memory>

namespace vlm {

// A memory pool id for CUDAGraph::capture_begin: {0, 0} asks for a private pool,
// at::cuda::graph_pool_handle() makes one that several graphs share.
using GraphPool = decltype(at::cuda::graph_pool_handle());

// How many times a call runs before its capture, with the capture's shapes, on the capture's
// stream: once under TorchScript's simple executor (cuBLAS, cuDNN and the caching allocator make
// their plans and this stream's workspace there, outside the graph's pool); three times under
// the profiling executor (`--jit-optimize`), which profiles a call and optimises the next.
int capture_warmups(bool jit_optimize);

// Queues `call` capture_warmups(jit_optimize) times on `stream` and then captures it into a new
// graph whose allocations come from `pool`. `stream` first waits for the work queued so far on
// the device's current stream, and the current stream then waits for the warm-ups: callers queue
// before and after as usual. `call` queues its work on the current stream, which is `stream`
// while it runs. An exception from the captured call ends the capture before it propagates.
std::unique_ptr<at::cuda::CUDAGraph> warm_up_and_capture(c10::cuda::CUDAStream stream,
                                                         bool jit_optimize,
                                                         const std::function<void()>& call,
                                                         GraphPool pool = {0, 0});

}  // namespace vlm

#endif
