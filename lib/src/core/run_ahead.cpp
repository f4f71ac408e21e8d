#include "vlm/core/run_ahead.h"

#include <string>

#include "vlm/core/error.h"

namespace vlm::detail {

RunAheadScheduler::RunAheadScheduler(size_t count, RunAheadOptions options,
                                     std::function<void(size_t, size_t)> produce)
    : count_(count),
      workers_(options.workers),
      slots_(static_cast<size_t>(options.workers > 0 && options.ahead > 0 ? options.ahead : 1)),
      produce_(std::move(produce)),
      ready_(slots_, 0),
      error_(slots_) {
  check_internal(options.workers >= 0,
                 "RunAhead: workers must be >= 0, got " + std::to_string(options.workers));
  check_internal(options.workers == 0 || options.ahead >= 1,
                 "RunAhead: ahead must be >= 1, got " + std::to_string(options.ahead));
  try {
    for (int w = 0; w < workers_; ++w) threads_.emplace_back([this] { work(); });
  } catch (...) {  // a thread that could not start: stop the ones that did
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    changed_.notify_all();
    for (std::thread& t : threads_) t.join();
    throw;
  }
}

RunAheadScheduler::~RunAheadScheduler() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void RunAheadScheduler::work() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    // Item i goes to slot i % slots_, free once item i - slots_ was released.
    changed_.wait(lock, [this] {
      return stop_ || next_claim_ >= count_ || next_claim_ < released_ + slots_;
    });
    if (stop_ || next_claim_ >= count_) return;
    const size_t item = next_claim_++;
    const size_t slot = item % slots_;
    lock.unlock();
    std::exception_ptr error;
    try {
      produce_(item, slot);
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    error_[slot] = error;
    ready_[slot] = 1;
    changed_.notify_all();
  }
}

size_t RunAheadScheduler::wait_next() {
  if (workers_ == 0) {
    check_internal(next_take_ < count_, "RunAhead: take() past the last item");
    produce_(next_take_++, 0);
    return 0;
  }
  std::unique_lock<std::mutex> lock(mutex_);
  check_internal(next_take_ < count_, "RunAhead: take() past the last item");
  const size_t slot = next_take_ % slots_;
  changed_.wait(lock, [&] { return ready_[slot] != 0; });
  ready_[slot] = 0;
  ++next_take_;
  if (error_[slot]) {
    const std::exception_ptr error = std::move(error_[slot]);
    error_[slot] = nullptr;
    ++released_;
    lock.unlock();
    changed_.notify_all();
    std::rethrow_exception(error);
  }
  return slot;
}

bool RunAheadScheduler::next_ready() {
  if (workers_ == 0) return next_take_ < count_;
  std::lock_guard<std::mutex> lock(mutex_);
  return next_take_ < count_ && ready_[next_take_ % slots_] != 0;
}

void RunAheadScheduler::release() {
  if (workers_ == 0) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++released_;
  }
  changed_.notify_all();
}

}  // namespace vlm::detail
