// Time for the whole engine comes from an injected Clock, so tests and the
// simulator drive it with a virtual clock instead of sleeping.
//
// TimePoint is wall-clock (system_clock) time at microsecond resolution: it is
// persisted, shown to users and compared across nodes. Waiting is expressed
// against a Clock too (WaitUntil), so a ManualClock wakes its waiters when the
// test advances it.
//
// Thread-safety: SystemClock and ManualClock are safe for concurrent use.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <string>

namespace jobtape {

using Duration = std::chrono::microseconds;
using TimePoint = std::chrono::time_point<std::chrono::system_clock, Duration>;

// Microseconds since the Unix epoch: the persisted form of a TimePoint.
inline int64_t ToMicros(TimePoint t) {
  return t.time_since_epoch().count();
}
inline TimePoint FromMicros(int64_t us) {
  return TimePoint(Duration(us));
}
inline int64_t ToMillis(TimePoint t) {
  return ToMicros(t) / 1000;
}
// RFC 3339 UTC with milliseconds, e.g. "2026-11-24T10:59:24.123Z".
std::string FormatTime(TimePoint t);

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;

  // Blocks on `cv` (with `lock` held on entry and exit) until `pred()` holds or
  // Now() >= deadline. Returns pred(). Whoever makes pred true must notify cv.
  virtual bool WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                         TimePoint deadline, const std::function<bool()>& pred) = 0;
};

// Real time. Deadlines are converted to steady_clock so a wall-clock jump
// neither shortens nor stretches a wait by more than the jump itself.
class SystemClock final : public Clock {
 public:
  TimePoint Now() const override;
  bool WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 TimePoint deadline, const std::function<bool()>& pred) override;
  static SystemClock& Instance();
};

// Virtual time for tests: stands still until Advance()/Set(). Advancing wakes
// every WaitUntil whose deadline has come.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = FromMicros(1'700'000'000'000'000));
  TimePoint Now() const override;
  bool WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 TimePoint deadline, const std::function<bool()>& pred) override;
  void Advance(Duration d);
  void Set(TimePoint t);
  // Number of threads currently blocked in WaitUntil (a test signal).
  int waiters() const;

 private:
  struct Waiter {
    std::condition_variable* cv;
    std::mutex* mu;
  };
  void NotifyAll();

  // Lock order: mu_ before a waiter's mutex. A waiter never holds its own
  // mutex while taking mu_ (it drops it to register), so there is no cycle.
  std::atomic<int64_t> now_us_;
  mutable std::mutex mu_;
  std::list<Waiter> waiters_;  // GUARDED_BY(mu_)
};

}  // namespace jobtape
