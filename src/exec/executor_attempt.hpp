// Executor::Attempt: one running attempt of the built-in executor, shared by
// executor.cpp (claims, output, finish) and executor_stop.cpp (heartbeats,
// cancels, lost leases), and Executor::Tracked, which both use. Internal to
// the executor.
//
// Thread-safety: the fields after `limiter` are guarded by Executor::mu_.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "exec/executor.hpp"

namespace jobtape::exec {

// One running attempt. Fields after `limiter` are guarded by Executor::mu_.
struct Executor::Attempt {
  Attempt(store::ClaimedJob c, std::shared_ptr<const KindSet> k, const KindSpec* s, Clock& clock,
          const OutputLimits& limits)
      : claimed(std::move(c)), kinds(std::move(k)), kind(s), limiter(clock, limits) {}

  const store::ClaimedJob claimed;
  const std::shared_ptr<const KindSet> kinds;  // keeps `kind` alive
  const KindSpec* const kind;
  OutputLimiter limiter;  // used on the runner's supervisor thread only

  ChildId child = 0;               // 0 until Spawn returned
  pid_t pid = 0;                   // the leader (= group id) once it started
  std::vector<NewEvent> pending;   // events not yet sent
  std::string result;              // the last `::result`
  std::optional<Outcome> outcome;  // set when the process exited
  TimePoint next_heartbeat;
  bool heartbeat_in_flight = false;
  bool append_in_flight = false;
  bool finish_in_flight = false;
  bool exited = false;
  bool lost = false;                    // the store no longer honours the lease
  bool cancel = false;                  // stopping because the job was cancelled
  bool interrupted = false;             // stopping because the executor stops
  bool stop_sent = false;               // Terminate() went to the runner
  std::optional<Duration> stop_wanted;  // the shortest grace asked for so far
  bool released = false;

  const Lease& lease() const { return claimed.lease; }
  JobId id() const { return claimed.job.id; }
};

template <typename T>
store::Done<T> Executor::Tracked(std::function<void(Result<T>)> f) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++calls_in_flight_;
  }
  return [this, f = std::move(f)](Result<T> r) {
    f(std::move(r));
    std::lock_guard<std::mutex> lock(mu_);
    --calls_in_flight_;
    cv_.notify_all();
  };
}

}  // namespace jobtape::exec
