// RunAhead: make(0..count-1) computed on a few worker threads, at most `ahead` items ahead of the
// one consumer, handed out strictly in item order.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

namespace vlm {

// How many threads compute the items and how far ahead of the consumer they may get.
struct RunAheadOptions {
  int workers = 2;  // threads computing items; 0: take() computes each item on the caller's thread
  int ahead = 4;    // most items computed or in computation that the consumer has not taken (>= 1)
};

namespace detail {

// The untyped scheduling behind RunAhead<T>: which item is computed into which slot, and when.
class RunAheadScheduler {
 public:
  // produce(i, slot) computes item i into `slot` (< slots()); it runs on a worker thread, or with
  // no workers inside wait_next() on the consumer's thread. Throws InternalError on bad options.
  RunAheadScheduler(size_t count, RunAheadOptions options,
                    std::function<void(size_t, size_t)> produce);
  // Items in computation finish, none starts; the workers are joined.
  ~RunAheadScheduler();
  RunAheadScheduler(const RunAheadScheduler&) = delete;
  RunAheadScheduler& operator=(const RunAheadScheduler&) = delete;

  size_t slots() const { return slots_; }
  // Waits for the next item in order and returns its slot, which the caller frees with release()
  // once it has moved the value out; an item whose produce threw is taken, its slot freed, and the
  // exception rethrown here. InternalError past the last item.
  size_t wait_next();
  void release();
  // Whether wait_next() would return the next item without waiting for a worker: it is computed
  // (or its produce threw), or there are no workers (wait_next() computes it on the caller's
  // thread). False past the last item. Never blocks on a computation.
  bool next_ready();

 private:
  void work();

  const size_t count_;
  const int workers_;
  const size_t slots_;
  const std::function<void(size_t, size_t)> produce_;
  std::mutex mutex_;
  std::condition_variable changed_;
  size_t next_claim_ = 0;                  // the next item a worker starts
  size_t next_take_ = 0;                   // the next item the consumer takes
  size_t released_ = 0;                    // items whose slot the consumer has freed
  bool stop_ = false;                      // set by the destructor
  std::vector<char> ready_;                // per slot: its item is computed
  std::vector<std::exception_ptr> error_;  // per slot: what its item's produce threw
  std::vector<std::thread> threads_;
};

}  // namespace detail

// Item i is make(i). The consumer takes items 0, 1, ... in order; meanwhile `workers` threads
// compute the next ones, never more than `ahead` past the last item taken (so memory stays
// bounded however many items there are). An exception from make(i) reaches the consumer when it
// takes item i, and later items go on. Destroying it early lets the items in computation finish,
// starts no more and joins the threads. make must be safe to call from several threads at once.
template <typename T>
class RunAhead {
 public:
  RunAhead(size_t count, RunAheadOptions options, std::function<T(size_t)> make)
      : values_(static_cast<size_t>(options.workers > 0 && options.ahead > 0 ? options.ahead : 1)),
        scheduler_(count, options, [this, make = std::move(make)](size_t i, size_t slot) {
          values_[slot].emplace(make(i));
        }) {}
  RunAhead(const RunAhead&) = delete;
  RunAhead& operator=(const RunAhead&) = delete;

  // The next item's value (at most `count` calls); rethrows what make threw for it.
  T take() {
    const size_t slot = scheduler_.wait_next();
    T value = std::move(*values_[slot]);
    values_[slot].reset();
    scheduler_.release();
    return value;
  }
  // Whether take() would return at once: the next item is computed (or failed) or, with no
  // workers, take() computes it on this thread. False past the last item.
  bool next_ready() { return scheduler_.next_ready(); }

 private:
  std::vector<std::optional<T>> values_;  // per slot; before scheduler_, whose threads write it
  detail::RunAheadScheduler scheduler_;
};

}  // namespace vlm
