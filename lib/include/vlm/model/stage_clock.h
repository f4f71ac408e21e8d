// Per-stage timing that does not synchronise the host while work is queued.
//
// On a CUDA device a mark is an event recorded on the device's current stream; the time between
// two marks on the same device is the GPU time between them (cudaEventElapsedTime), read when
// elapsed_ms() is called, after the work has been queued (the caller reads times once the item's
// last synchronising step, the final stop check, has run). Marks on the CPU, or on two different
// devices, fall back to host wall-clock: a CPU mark is taken when the host reaches it, which on
// the CPU is when the work before it is done. For a pair of marks on two different devices, make
// the later one with `sync_host` true: it waits for its device before taking the host time.
#pragma once

#include <c10/core/Device.h>

#include <chrono>
#include <memory>

namespace vlm {

class StageMark {
 public:
  // Records a mark on `device` now (an event on its current CUDA stream, and the host time;
  // with `sync_host` the host time is taken after the device has finished its queued work).
  static StageMark on(c10::Device device, bool sync_host = false);

  // Milliseconds from `from` to `to`. Waits for `to`'s event when it is a CUDA mark.
  static double elapsed_ms(const StageMark& from, const StageMark& to);

  // Makes the current CUDA stream of the mark's device wait (on the device, not the host) for the
  // work queued before the mark, e.g. on another stream. Nothing for a CPU mark (taken after its
  // work is done).
  void block_current_stream() const;

  c10::Device device() const { return device_; }

 private:
  struct Event;  // the CUDA event (defined only in CUDA builds)
  c10::Device device_ = c10::Device(c10::kCPU);
  std::chrono::steady_clock::time_point host_;
  std::shared_ptr<Event> event_;
};

}  // namespace vlm
