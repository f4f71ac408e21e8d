#include "vlm/model/stage_clock.h"

#ifdef VLM_WITH_CUDA
#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace vlm {

struct StageMark::Event {
#ifdef VLM_WITH_CUDA
  at::cuda::CUDAEvent event{cudaEventDefault};
#endif
};

StageMark StageMark::on(c10::Device device, bool sync_host) {
  StageMark m;
  m.device_ = device;
  (void)sync_host;  // CPU marks are always taken after the work before them
#ifdef VLM_WITH_CUDA
  if (device.is_cuda()) {
    m.event_ = std::make_shared<Event>();
    m.event_->event.record(c10::cuda::getCurrentCUDAStream(device.index()));
    if (sync_host) m.event_->event.synchronize();
  }
#endif
  m.host_ = std::chrono::steady_clock::now();
  return m;
}

double StageMark::elapsed_ms(const StageMark& from, const StageMark& to) {
#ifdef VLM_WITH_CUDA
  if (from.event_ && to.event_ && from.device_ == to.device_) {
    to.event_->event.synchronize();
    return static_cast<double>(from.event_->event.elapsed_time(to.event_->event));
  }
#endif
  return std::chrono::duration<double, std::milli>(to.host_ - from.host_).count();
}

void StageMark::block_current_stream() const {
#ifdef VLM_WITH_CUDA
  if (event_) event_->event.block(c10::cuda::getCurrentCUDAStream(device_.index()));
#endif
}

}  // namespace vlm
