#include "core/clock.hpp"

#include <ctime>
#include <string>

namespace jobtape {

namespace {
// Appends `v` zero-padded to `width` digits (core stays free of stdio).
void AppendPadded(std::string& out, int64_t v, int width) {
  char digits[20];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v > 0 && n < 20);
  for (int i = n; i < width; ++i) out += '0';
  while (n > 0) out += digits[--n];
}
}  // namespace

std::string FormatTime(TimePoint t) {
  int64_t us = ToMicros(t);
  int64_t secs = us >= 0 ? us / 1'000'000 : (us - 999'999) / 1'000'000;
  int64_t ms = (us - secs * 1'000'000) / 1000;
  std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  std::string out;
  out.reserve(24);
  AppendPadded(out, tm.tm_year + 1900, 4);
  out += '-';
  AppendPadded(out, tm.tm_mon + 1, 2);
  out += '-';
  AppendPadded(out, tm.tm_mday, 2);
  out += 'T';
  AppendPadded(out, tm.tm_hour, 2);
  out += ':';
  AppendPadded(out, tm.tm_min, 2);
  out += ':';
  AppendPadded(out, tm.tm_sec, 2);
  out += '.';
  AppendPadded(out, ms, 3);
  out += 'Z';
  return out;
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
