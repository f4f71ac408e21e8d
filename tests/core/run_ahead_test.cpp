// RunAhead: items in order whatever the workers' timing, never more than `ahead` items ahead of
// the consumer, an exception at its own item, and a clean stop when destroyed early.
#include "vlm/core/run_ahead.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "vlm/core/error.h"

namespace vlm {
namespace {

// A few hundred microseconds of work whose length depends on the item (and a seed).
void random_delay(size_t i, unsigned seed) {
  std::mt19937 rng(static_cast<unsigned>(i) * 7919u + seed);
  std::this_thread::sleep_for(std::chrono::microseconds(rng() % 600));
}

TEST(RunAhead, ItemsComeInOrderWhateverTheWorkersTiming) {
  const size_t n = 120;
  for (const RunAheadOptions opt :
       {RunAheadOptions{0, 1}, RunAheadOptions{1, 1}, RunAheadOptions{2, 4}, RunAheadOptions{3, 2},
        RunAheadOptions{6, 6}}) {
    RunAhead<std::string> ahead(n, opt, [&](size_t i) {
      random_delay(i, static_cast<unsigned>(opt.workers * 10 + opt.ahead));
      return "item " + std::to_string(i);
    });
    for (size_t i = 0; i < n; ++i)
      ASSERT_EQ(ahead.take(), "item " + std::to_string(i))
          << "workers " << opt.workers << ", ahead " << opt.ahead;
    EXPECT_THROW(ahead.take(), InternalError);  // past the last item
  }
}

// A value that counts how many of its kind are alive (moved-from ones do not count).
class Counted {
 public:
  Counted(std::atomic<int>* alive, std::atomic<int>* most) : alive_(alive) {
    const int now = ++*alive_;
    for (int m = most->load(); now > m && !most->compare_exchange_weak(m, now);) {
    }
  }
  Counted(Counted&& o) noexcept : alive_(o.alive_) { o.alive_ = nullptr; }
  Counted& operator=(Counted&&) = delete;
  ~Counted() {
    if (alive_) --*alive_;
  }

 private:
  std::atomic<int>* alive_;
};

TEST(RunAhead, NoMoreThanAheadItemsExistBeyondTheOneTheConsumerHolds) {
  for (const RunAheadOptions opt : {RunAheadOptions{1, 1}, RunAheadOptions{2, 3},
                                    RunAheadOptions{4, 2}, RunAheadOptions{3, 5}}) {
    std::atomic<int> alive{0}, most{0};
    const size_t n = 80;
    {
      RunAhead<Counted> ahead(n, opt, [&](size_t i) {
        Counted c(&alive, &most);  // counts from the start of its computation
        random_delay(i, 1);
        return c;
      });
      for (size_t i = 0; i < n; ++i) {
        const Counted held = ahead.take();
        random_delay(i, 2);  // a consumer slower than the workers: they reach the bound
      }
    }
    EXPECT_EQ(alive.load(), 0);
    EXPECT_LE(most.load(), opt.ahead + 1) << "workers " << opt.workers << ", ahead " << opt.ahead;
  }
}

TEST(RunAhead, AnExceptionReachesExactlyItsItemAndLaterItemsGoOn) {
  for (const RunAheadOptions opt : {RunAheadOptions{0, 1}, RunAheadOptions{3, 4}}) {
    RunAhead<int> ahead(12, opt, [&](size_t i) {
      random_delay(i, 3);
      if (i == 4 || i == 5 || i == 11) throw std::runtime_error("bad item " + std::to_string(i));
      return static_cast<int>(i) * 10;
    });
    for (size_t i = 0; i < 12; ++i) {
      if (i == 4 || i == 5 || i == 11) {
        try {
          ahead.take();
          ADD_FAILURE() << "item " << i << " did not throw";
        } catch (const std::runtime_error& e) {
          EXPECT_EQ(std::string(e.what()), "bad item " + std::to_string(i));
        }
      } else {
        EXPECT_EQ(ahead.take(), static_cast<int>(i) * 10) << "workers " << opt.workers;
      }
    }
  }
}

TEST(RunAhead, WithoutWorkersEachItemIsMadeByTakeOnTheCallersThread) {
  std::vector<std::thread::id> made_on;
  RunAhead<size_t> ahead(5, {0, 4}, [&](size_t i) {
    made_on.push_back(std::this_thread::get_id());
    return i;
  });
  EXPECT_TRUE(made_on.empty());
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(ahead.take(), i);
    EXPECT_EQ(made_on.size(), i + 1);  // made at its take, not before
  }
  for (const auto& id : made_on) EXPECT_EQ(id, std::this_thread::get_id());
}

TEST(RunAhead, NextReadySaysWhetherTakeWouldWaitAndNeverWaitsItself) {
  std::atomic<bool> open{false};
  std::atomic<int> made{0};
  RunAhead<int> ahead(2, {1, 2}, [&](size_t i) {
    while (!open.load()) std::this_thread::yield();  // item 0 waits for the test
    ++made;
    return static_cast<int>(i);
  });
  EXPECT_FALSE(ahead.next_ready());  // item 0 is in computation: take() would wait
  open = true;
  while (!ahead.next_ready()) std::this_thread::yield();
  EXPECT_GE(made.load(), 1);
  EXPECT_EQ(ahead.take(), 0);
  while (!ahead.next_ready()) std::this_thread::yield();
  EXPECT_EQ(ahead.take(), 1);
  EXPECT_FALSE(ahead.next_ready());  // past the last item

  // Without workers take() computes the item itself: always ready, and asking computes nothing.
  int calls = 0;
  RunAhead<int> inline_ahead(1, {0, 4}, [&](size_t i) {
    ++calls;
    return static_cast<int>(i);
  });
  EXPECT_TRUE(inline_ahead.next_ready());
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(inline_ahead.take(), 0);
  EXPECT_FALSE(inline_ahead.next_ready());
}

TEST(RunAhead, DestroyedEarlyItFinishesWhatRunsStartsNothingMoreAndJoins) {
  for (const size_t taken : {size_t{0}, size_t{3}}) {
    std::atomic<int> started{0}, finished{0};
    auto ahead = std::make_unique<RunAhead<int>>(100000, RunAheadOptions{3, 4}, [&](size_t i) {
      ++started;
      random_delay(i, 4);
      ++finished;
      return static_cast<int>(i);
    });
    for (size_t i = 0; i < taken; ++i) EXPECT_EQ(ahead->take(), static_cast<int>(i));
    // Let the workers reach the bound and block there.
    while (started.load() < static_cast<int>(taken) + 4) std::this_thread::yield();
    ahead.reset();
    EXPECT_EQ(started.load(), finished.load());  // joined: nothing still running
    EXPECT_LE(started.load(), static_cast<int>(taken) + 4);
  }
  // And while the workers are in the middle of their items (no take at all).
  std::atomic<int> started{0}, finished{0};
  {
    RunAhead<int> ahead(100000, {4, 8}, [&](size_t) {
      ++started;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      ++finished;
      return 0;
    });
    while (started.load() == 0) std::this_thread::yield();
  }
  EXPECT_EQ(started.load(), finished.load());
  EXPECT_LE(started.load(), 8);
}

TEST(RunAhead, NoItemsAndBadOptions) {
  {
    RunAhead<int> none(0, {2, 4}, [](size_t) -> int { throw std::logic_error("never called"); });
  }
  EXPECT_THROW(RunAhead<int>(3, {-1, 4}, [](size_t i) { return static_cast<int>(i); }),
               InternalError);
  EXPECT_THROW(RunAhead<int>(3, {2, 0}, [](size_t i) { return static_cast<int>(i); }),
               InternalError);
}

}  // namespace
}  // namespace vlm
