#include "cli/signal_watcher.hpp"

#include <signal.h>

#include <cstdlib>

#include <spdlog/spdlog.h>

namespace jobtape::cli {
namespace {

// SIGUSR1 only wakes the watcher when it is asked to quit.
sigset_t WatchedSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGUSR1);
  return set;
}

}  // namespace

SignalWatcher::SignalWatcher() {
  sigset_t set = WatchedSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // A client that disconnects must not kill the server through a write.
  signal(SIGPIPE, SIG_IGN);
  thread_ = std::thread([this] { Run(); });
}

SignalWatcher::~SignalWatcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    quitting_ = true;
  }
  pthread_kill(thread_.native_handle(), SIGUSR1);
  thread_.join();
}

int SignalWatcher::Wait() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return received_ != 0; });
  return received_;
}

void SignalWatcher::Run() {
  const sigset_t set = WatchedSignals();
  while (true) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    std::unique_lock<std::mutex> lock(mu_);
    if (sig == SIGUSR1) {
      if (quitting_) return;
      continue;
    }
    if (received_ == 0) {
      received_ = sig;
      cv_.notify_all();
      continue;
    }
    lock.unlock();
    spdlog::warn("second signal ({}): exiting at once", strsignal(sig));
    spdlog::default_logger()->flush();
    std::_Exit(128 + sig);
  }
}

}  // namespace jobtape::cli
