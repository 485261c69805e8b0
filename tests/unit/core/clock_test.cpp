#include "core/clock.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace jobtape {
namespace {

TEST(ManualClock, StandsStillUntilAdvanced) {
  ManualClock clock;
  TimePoint t0 = clock.Now();
  EXPECT_EQ(clock.Now(), t0);
  clock.Advance(std::chrono::seconds(5));
  EXPECT_EQ(clock.Now() - t0, std::chrono::seconds(5));
}

TEST(ManualClock, AdvanceWakesAWaiterAtItsDeadline) {
  ManualClock clock;
  std::mutex mu;
  std::condition_variable cv;
  TimePoint deadline = clock.Now() + std::chrono::seconds(10);
  bool timed_out = false;
  std::thread waiter([&] {
    std::unique_lock<std::mutex> lock(mu);
    timed_out = !clock.WaitUntil(cv, lock, deadline, [] { return false; });
  });
  // Wait for the waiter to block (a signal, not a sleep).
  while (clock.waiters() == 0)
    std::this_thread::yield();
  clock.Advance(std::chrono::seconds(9));
  EXPECT_EQ(clock.waiters(), 1);  // not due yet: still waiting
  clock.Advance(std::chrono::seconds(1));
  waiter.join();
  EXPECT_TRUE(timed_out);
}

TEST(ManualClock, PredicateEndsTheWaitEarly) {
  ManualClock clock;
  std::mutex mu;
  std::condition_variable cv;
  bool ready = false;
  bool result = false;
  std::thread waiter([&] {
    std::unique_lock<std::mutex> lock(mu);
    result = clock.WaitUntil(cv, lock, clock.Now() + std::chrono::hours(1), [&] { return ready; });
  });
  {
    std::lock_guard<std::mutex> g(mu);
    ready = true;
  }
  cv.notify_all();
  waiter.join();
  EXPECT_TRUE(result);
}

TEST(FormatTime, Rfc3339Utc) {
  EXPECT_EQ(FormatTime(FromMicros(1'700'000'000'123'456)), "2023-11-14T22:13:20.123Z");
}

}  // namespace
}  // namespace jobtape
