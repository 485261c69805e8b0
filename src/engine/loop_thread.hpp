// LoopThread: the timer thread of a background loop (Reaper, Scheduler) and
// the state their Start()/Stop()/counters()/WaitFor() share (STYLE 9): one
// mutex, one condition variable, the started/stopping flags and the loop's
// counters.
//
// The owner keeps its own loop state under mu() and sleeps on cv(), so a stop
// request, a counter change (the WaitFor test signal) and the owner's own
// wake-ups (Scheduler::Wake) all reach the timer thread through the one
// condition variable.
//
// The Dispatcher and the Executor do not use it: their Stop() drains claims
// and attempts under their own lock before joining, which is their own shape.
//
// Thread-safety: Start(), Stop(), counters() and WaitFor() may be called from
// any thread; Stop() joins the thread and must not run on it. stopping() and
// counters_locked() must be called with mu() held.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>

namespace jobtape::engine {

template <typename Counters>
class LoopThread {
 public:
  LoopThread() = default;
  // Stop()s. The owner should Stop() first, in its own destructor, so the
  // thread never sees the owner half destroyed.
  ~LoopThread() { Stop(); }
  LoopThread(const LoopThread&) = delete;
  LoopThread& operator=(const LoopThread&) = delete;

  // Runs `body` on a new thread. Only the first call starts it; a call after
  // Stop() does nothing.
  void Start(std::function<void()> body) {
    std::lock_guard<std::mutex> lock(mu_);
    if (started_ || stopping_) return;
    started_ = true;
    thread_ = std::thread(std::move(body));
  }

  // Sets stopping(), wakes cv() and joins the thread (the body is expected to
  // return once it sees stopping()). Idempotent.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
      cv_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
  }

  std::mutex& mu() const { return mu_; }
  std::condition_variable& cv() { return cv_; }
  // With mu() held: true once Stop() was called.
  bool stopping() const { return stopping_; }
  // With mu() held; notify cv() after changing them (WaitFor re-checks then).
  Counters& counters_locked() { return counters_; }

  Counters counters() const {
    std::lock_guard<std::mutex> lock(mu_);
    return counters_;
  }

  // Test signal: blocks until pred(counters) holds (true) or `timeout` passes (false).
  bool WaitFor(const std::function<bool(const Counters&)>& pred,
               std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return pred(counters_); });
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;  // stop requests, counter changes, the owner's wake-ups
  bool started_ = false;        // GUARDED_BY(mu_)
  bool stopping_ = false;       // GUARDED_BY(mu_)
  Counters counters_;           // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace jobtape::engine
