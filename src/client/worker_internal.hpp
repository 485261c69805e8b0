// Internals of the worker SDK (worker.hpp): the state the claimer, handler,
// heartbeater and completer threads share, and one held job (ActiveJob).
// Not part of the public API.
//
// Thread-safety: everything marked GUARDED_BY(mu) is read and written under
// Worker::State::mu; ActiveJob's atomics may be read without it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <thread>
#include <utility>
#include <vector>

#include "client/client.hpp"
#include "client/http_transport.hpp"
#include "client/worker.hpp"

namespace jobtape::client {

using SteadyClock = std::chrono::steady_clock;

// One job this worker holds, from its claim until its finish is acknowledged
// (or its lease is lost and its handler has returned).
struct ActiveJob {
  enum class Phase : uint8_t {
    kQueued,     // claimed; waiting for a handler thread
    kRunning,    // its handler runs
    kFinishing,  // its handler returned; waiting for (or in) the completer
  };

  ActiveJob(Worker::State& owner, ClaimedJob claimed) : owner(owner), claimed(std::move(claimed)) {}

  // Requests the stop token; the first reason is kept.
  void RequestStop(StopReason why) {
    StopReason none = StopReason::kNone;
    reason.compare_exchange_strong(none, why);
    stop.request_stop();
  }

  Worker::State& owner;
  const ClaimedJob claimed;
  std::stop_source stop;
  std::atomic<StopReason> reason{StopReason::kNone};
  std::atomic<bool> cancel_requested{false};
  std::atomic<bool> lost{false};

  Phase phase = Phase::kQueued;      // GUARDED_BY(mu)
  bool retired = false;              // GUARDED_BY(mu): no longer held
  bool finish_sent = false;          // GUARDED_BY(mu): the completer sent its finish
  SteadyClock::time_point due;       // GUARDED_BY(mu): next heartbeater action (key in schedule)
  bool scheduled = false;            // GUARDED_BY(mu): `due` is in State::schedule
  SteadyClock::time_point deadline;  // GUARDED_BY(mu): local end of the lease
  std::optional<JobResult> outcome;  // GUARDED_BY(mu): set when the handler returned
};

using JobPtr = std::shared_ptr<ActiveJob>;
// A job may come back to this worker as a later attempt while the earlier
// attempt's finish is still being acknowledged: key by both.
using JobKey = std::pair<JobId, int>;

inline JobKey KeyOf(const ActiveJob& job) {
  return {job.claimed.lease.job_id, job.claimed.lease.attempt};
}

struct Worker::State {
  State(ClientOptions c, WorkerOptions o);

  // ---- threads (worker.cpp, worker_leases.cpp) ----
  void ClaimLoop();
  void HandlerLoop();
  void HeartbeatLoop();
  void CompleteLoop();

  // ---- shared steps ----
  Result<std::vector<ClaimedJob>> ClaimOnce(int max);
  // Queues freshly claimed jobs for the handlers (or, when stopping, for the
  // completer as `worker_shutdown`).
  void Admit(std::vector<ClaimedJob> claimed, SteadyClock::time_point sent);
  // A job cancelled or lost while it waited for a handler thread is never
  // handed to its handler: finished as cancelled, or dropped (lost). True if
  // so (the job is then with the completer).
  bool SkipLocally(const JobPtr& job);
  JobResult Execute(const JobPtr& job, Client& client);
  // Hands a job whose handler returned (or never ran) to the completer.
  void FinishLocked(const JobPtr& job, JobResult outcome, bool ran);
  // The job's lease is gone: stop token, drop output, count once. Ignored for
  // a retired job and for one whose finish is in flight (its reply decides).
  void MarkLost(const JobPtr& job);
  void MarkLostLocked(const JobPtr& job);
  // As MarkLostLocked, also for a job whose finish was sent (the completer's
  // own 409, or a finish it gave up on).
  void LoseLocked(const JobPtr& job);
  // The job is no longer held: out of `active` and the heartbeat schedule.
  void RetireLocked(const JobPtr& job);
  void ScheduleLocked(const JobPtr& job, SteadyClock::time_point due);
  void StopLocked();
  void Report(const Status& s) const;
  void BumpLocked(int64_t WorkerCounters::*field, int64_t n = 1);
  // The completer's two ways to end attempts.
  void Beat(Client& client, const JobPtr& job);
  void CompleteBatch(Client& client, const std::vector<JobPtr>& jobs);
  void CompleteOne(Client& client, const JobPtr& job);
  void FailOne(Client& client, const JobPtr& job);
  // Records the server's answer to a finish of `job` and retires it.
  void Settle(Client& client, const JobPtr& job, const Status& status, bool success);

  const ClientOptions client_options;
  WorkerOptions options;  // normalised by Run() before any thread starts
  std::map<std::string, Handler> handlers;
  Handler default_handler;  // for kinds without a handler; may be empty
  // The claimer's own connection, so that Stop() can interrupt a parked poll.
  const std::unique_ptr<HttpTransport> claim_transport;

  mutable std::mutex mu;
  std::condition_variable claim_cv;             // claimer: a slot freed, or stop
  std::condition_variable work_cv;              // handlers: a job queued, or exit
  std::condition_variable beat_cv;              // heartbeater: schedule changed, or exit
  std::condition_variable finish_cv;            // completer: a finished job, or exit
  std::condition_variable stop_cv;              // Run: stop requested, handlers idle
  mutable std::condition_variable counters_cv;  // WaitFor

  bool run_called = false;        // GUARDED_BY(mu)
  bool stop_requested = false;    // GUARDED_BY(mu)
  bool handlers_exit = false;     // GUARDED_BY(mu)
  bool completer_exit = false;    // GUARDED_BY(mu)
  bool heartbeater_exit = false;  // GUARDED_BY(mu)
  Status fatal;                   // GUARDED_BY(mu)

  std::deque<JobPtr> queue;         // GUARDED_BY(mu): claimed, not started
  std::map<JobKey, JobPtr> active;  // GUARDED_BY(mu): every held job
  std::set<std::pair<SteadyClock::time_point, JobKey>> schedule;  // GUARDED_BY(mu)
  std::vector<JobPtr> finished;  // GUARDED_BY(mu): for the completer
  int held = 0;                  // GUARDED_BY(mu): queued + running
  int running = 0;               // GUARDED_BY(mu): handlers in progress
  WorkerCounters counters;       // GUARDED_BY(mu)
};

// True if `text` is one well-formed JSON value.
bool IsJsonText(std::string_view text);

}  // namespace jobtape::client
