#include "vlm/generate/graph_capture.h"

#ifdef VLM_WITH_CUDA

#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDAGuard.h>

namespace vlm {

int capture_warmups(bool jit_optimize) {
  return jit_optimize ? 3 : 1;
}

std::unique_ptr<at::cuda::CUDAGraph> warm_up_and_capture(c10::cuda::CUDAStream stream,
                                                         bool jit_optimize,
                                                         const std::function<void()>& call,
                                                         GraphPool pool) {
  const c10::cuda::CUDAGuard device_guard(stream.device());
  const c10::cuda::CUDAStream current = c10::cuda::getCurrentCUDAStream(stream.device_index());
  at::cuda::CUDAEvent ready;
  ready.record(current);
  ready.block(stream);
  auto graph = std::make_unique<at::cuda::CUDAGraph>();
  {
    const c10::cuda::CUDAStreamGuard on_stream(stream);
    for (int i = 0, n = capture_warmups(jit_optimize); i < n; ++i) call();
    graph->capture_begin(pool);
    try {
      call();
    } catch (...) {
      try {
        graph->capture_end();
      } catch (...) {  // the call's own error is the one to report
      }
      throw;
    }
    graph->capture_end();
  }
  at::cuda::CUDAEvent done;
  done.record(stream);
  done.block(current);
  return graph;
}

}  // namespace vlm

#endif
