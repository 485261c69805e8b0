#include "core/clock.hpp"

#include <cstdio>
#include <ctime>
#include <string>

namespace jobtape {

std::string FormatTime(TimePoint t) {
  int64_t us = ToMicros(t);
  std::time_t secs =
      static_cast<std::time_t>(us >= 0 ? us / 1'000'000 : (us - 999'999) / 1'000'000);
  int ms = static_cast<int>((us - static_cast<int64_t>(secs) * 1'000'000) / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  return buf;
}

TimePoint SystemClock::Now() const {
  return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
}

bool SystemClock::WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                            TimePoint deadline, const std::function<bool()>& pred) {
  auto remaining = deadline - Now();
  auto steady_deadline = std::chrono::steady_clock::now() + remaining;
  return cv.wait_until(lock, steady_deadline, pred);
}

SystemClock& SystemClock::Instance() {
  static SystemClock clock;
  return clock;
}

ManualClock::ManualClock(TimePoint start) : now_us_(ToMicros(start)) {}

TimePoint ManualClock::Now() const {
  return FromMicros(now_us_.load());
}

bool ManualClock::WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                            TimePoint deadline, const std::function<bool()>& pred) {
  // Register with our mutex only, never while holding the caller's (see mu_).
  lock.unlock();
  std::list<Waiter>::iterator it;
  {
    std::lock_guard<std::mutex> g(mu_);
    it = waiters_.insert(waiters_.end(), Waiter{&cv, lock.mutex()});
  }
  lock.lock();
  // Advance() stores the time, then takes the caller's mutex to notify, so a
  // deadline check under `lock` followed by wait() cannot miss the wake-up.
  bool result;
  while (true) {
    if (pred()) {
      result = true;
      break;
    }
    if (Now() >= deadline) {
      result = false;
      break;
    }
    cv.wait(lock);
  }
  lock.unlock();
  {
    std::lock_guard<std::mutex> g(mu_);
    waiters_.erase(it);
  }
  lock.lock();
  return result;
}

void ManualClock::Advance(Duration d) {
  now_us_.fetch_add(d.count());
  NotifyAll();
}

void ManualClock::Set(TimePoint t) {
  now_us_.store(ToMicros(t));
  NotifyAll();
}

int ManualClock::waiters() const {
  std::lock_guard<std::mutex> g(mu_);
  return static_cast<int>(waiters_.size());
}

void ManualClock::NotifyAll() {
  std::lock_guard<std::mutex> g(mu_);
  for (const Waiter& w : waiters_) {
    std::lock_guard<std::mutex> wg(*w.mu);
    w.cv->notify_all();
  }
}

}  // namespace jobtape
