// SignalWatcher: turns SIGTERM/SIGINT into a graceful-shutdown request, and
// a second one into an immediate exit (DESIGN §2, Shutdown).
//
// The signals are blocked in every thread and received by one thread with
// sigwait, so no code runs in an asynchronous signal handler. The first
// signal wakes Wait(); a second one exits the process at once with
// 128 + signal - safe because every store write is a transaction, so an
// interrupted shutdown never leaves partial state.
//
// Thread-safety: construct on the main thread before any other thread starts
// (threads inherit the blocked mask); Wait() from one thread.
#pragma once

#include <pthread.h>

#include <condition_variable>
#include <mutex>
#include <thread>

namespace jobtape::cli {

class SignalWatcher {
 public:
  SignalWatcher();
  ~SignalWatcher();  // stops the watching thread
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

  // Blocks until SIGTERM or SIGINT arrives; returns its number.
  int Wait();

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable cv_;
  int received_ = 0;       // GUARDED_BY(mu_): the first signal
  bool quitting_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace jobtape::cli
