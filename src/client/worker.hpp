// Worker: the C++ worker SDK. A remote worker process registers a handler per
// job kind and calls Run(); the Worker leases jobs from a jobtape server over
// the lease protocol (DESIGN §3, R2, R5) and runs them on a pool of handler
// threads:
//
//   claimer     one thread; long-polls POST /v1/claims for up to the number
//               of free handler slots (or WorkerOptions::claim_batch, if
//               smaller) and queues the leased jobs for the handlers.
//   handlers    `concurrency` threads; each runs one job at a time through
//               its kind's Handler. A job's progress and log lines are
//               appended from its handler thread. A job whose cancel was
//               requested, or whose lease was lost, before a handler took it
//               is never handed to its handler: a cancelled one is failed
//               (which the server ends as cancelled, not retried), a lost
//               one is dropped (counters().skipped).
//   heartbeater one thread; renews the lease of every job this worker holds —
//               queued, running, or finished and waiting for its completion
//               to be acknowledged (R5: the lease is held until complete) —
//               every heartbeat_interval, and turns a `cancel_requested`
//               answer or a lost lease into a stop request on the job's
//               std::stop_token.
//   completer   one thread; ends attempts: successes in batches through
//               POST /v1/leases/complete (CompleteMany), failures one by one.
//
// A lease is lost when a lease call answers 409 stale_lease (the job was
// reaped, cancelled past its grace, re-claimed or finished by someone else)
// or when it runs out locally (no renewal succeeded for lease_ttl, measured
// from when the last successful renewal was sent). From then on the job's
// stop token is requested, its further progress and log output is dropped
// (Progress/Flush return kStaleLease), and its completion is never sent; a
// completion that itself answers 409 is never retried.
//
// Each thread that talks HTTP has a Client (or transport) of its own: a
// Client is single-threaded (client.hpp).
//
// Thread-safety: Register() before Run(), from one thread. Run() is called
// once, from one thread. Stop(), counters() and WaitFor() may be called from
// any thread at any time (including from a handler). A JobContext belongs to
// the handler call it was passed to: use it only from that thread and only
// until the handler returns, except stop_token(), stop_reason() and
// cancel_requested(), which any thread may read while the handler runs.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "client/options.hpp"
#include "client/types.hpp"
#include "core/status.hpp"

namespace jobtape::client {

// The server's default lease; a worker that stops heartbeating is noticed
// (and its jobs re-run elsewhere) within this long.
inline constexpr std::chrono::milliseconds kDefaultWorkerLease{30'000};
// Long enough that an idle worker costs the server one request per 30 s per
// worker (20 s with the default lease: see WorkerOptions::claim_wait), well
// below the server's 55 s clamp and idle timeouts. Stop() does not wait for
// it: it closes the parked poll's connection.
inline constexpr std::chrono::milliseconds kDefaultClaimWait{30'000};
// Time running handlers get to finish after Stop() before their stop tokens
// are requested.
inline constexpr std::chrono::milliseconds kDefaultShutdownGrace{10'000};
inline constexpr int kDefaultWorkerConcurrency = 4;
// The server's limits: leases per claim and items per batch completion.
inline constexpr int kMaxClaimBatch = 1'000;
inline constexpr std::size_t kMaxCompleteBatch = 1'000;
// Log lines are appended in batches: when this many are buffered, when a
// Log() call finds the oldest buffered line older than kLogFlushInterval, on
// Progress() and Flush(), and when the handler returns (before its
// completion, so that the tape keeps the handler's order).
inline constexpr std::size_t kLogFlushLines = 64;
inline constexpr std::chrono::milliseconds kLogFlushInterval{250};

// Test signals (see WorkerOptions::hooks): called on the worker's threads,
// never with a worker lock held. A hook may block; it holds up only the
// thread that called it.
struct WorkerHooks {
  // On the completer thread, before it ends `n` attempts whose handlers have
  // returned (their leases are still heartbeated while the hook blocks).
  std::function<void(std::size_t n)> before_finish;
  // On a handler thread, after it took `job` from the local queue and before
  // it checks whether the job was cancelled or lost meanwhile (its heartbeats
  // go on while the hook blocks; `stop` is the job's stop token).
  std::function<void(const ClaimedJob& job, std::stop_token stop)> before_handler;
};

struct WorkerOptions {
  // Served in this order (at most 32, server rule).
  std::vector<std::string> queues = {"default"};
  // Handler threads: at most this many jobs are held (queued locally or
  // running a handler) at once. 1..1000.
  int concurrency = kDefaultWorkerConcurrency;
  // Most leases per claim; 0 = as many as there are free slots. Capped at
  // the free slots and kMaxClaimBatch.
  int claim_batch = 0;
  // Lease length asked for at the claim and at every renewal (1 s .. 1 h).
  std::chrono::milliseconds lease_ttl = kDefaultWorkerLease;
  // 0 = lease_ttl / 3: two renewals may fail before the lease runs out.
  std::chrono::milliseconds heartbeat_interval{0};
  // Shown in the tape's `started` events; empty = "<hostname>-<pid>".
  std::string worker_id;
  // Long-poll wait of each claim (the server clamps it to 55 s). At most
  // lease_ttl - heartbeat_interval is used: a lease counts from when its
  // claim was sent, so a longer poll could return leases already run out.
  std::chrono::milliseconds claim_wait = kDefaultClaimWait;
  std::chrono::milliseconds shutdown_grace = kDefaultShutdownGrace;
  // Told about every error the worker recovers from by itself (a failed
  // claim or heartbeat, a completion that could not be delivered). Called on
  // worker threads; must be thread-safe. May be empty.
  std::function<void(const Status&)> on_error;
  WorkerHooks hooks;
};

// Why a job's stop token was requested (the first reason wins).
enum class StopReason : uint8_t {
  kNone = 0,
  kCancelRequested,  // a heartbeat answered cancel_requested: end the attempt soon
  kLeaseLost,        // 409 stale_lease or the lease ran out: nothing more will be written
  kShutdown,         // Stop() and the shutdown grace ran out
};

// What a handler returns: success with an optional result, or a failure.
class JobResult {
 public:
  // `result_json`: a JSON text stored as the job's result; empty = none.
  static JobResult Success(std::string result_json = {});
  // `code`: a short machine code ("timeout", "bad_input"); a retry follows if
  // `retryable` and attempts remain, after `retry_delay` if given, else the
  // job's backoff. After a cancel request any failure ends the job cancelled.
  static JobResult Failure(std::string code, std::string message, bool retryable = true,
                           std::optional<std::chrono::milliseconds> retry_delay = {});

  bool succeeded() const { return succeeded_; }
  const std::string& result_json() const { return result_json_; }
  const std::string& code() const { return code_; }
  const std::string& message() const { return message_; }
  bool retryable() const { return retryable_; }
  const std::optional<std::chrono::milliseconds>& retry_delay() const { return retry_delay_; }

 private:
  bool succeeded_ = true;
  std::string result_json_;
  std::string code_;
  std::string message_;
  bool retryable_ = true;
  std::optional<std::chrono::milliseconds> retry_delay_;
};

class Client;
struct ActiveJob;  // internal: a job this worker holds

// A handler's view of its job. See the file comment for thread-safety.
class JobContext {
 public:
  // Made by the worker for each handler call.
  JobContext(std::shared_ptr<ActiveJob> job, Client& client);
  ~JobContext();
  JobContext(const JobContext&) = delete;
  JobContext& operator=(const JobContext&) = delete;

  // The claimed job (payload, result etc. are JSON texts) and its lease.
  const Job& job() const;
  const Lease& lease() const;
  JobId id() const { return job().id; }
  const std::string& kind() const { return job().spec.kind; }
  const std::string& queue() const { return job().spec.queue; }
  const std::string& payload() const { return job().spec.payload; }
  int attempt() const { return lease().attempt; }

  // Requested on a cancel request, a lost lease, or shutdown past the grace.
  std::stop_token stop_token() const;
  StopReason stop_reason() const;
  bool cancel_requested() const;

  // Appends the buffered log lines and a `progress` event ({"percent",
  // "message"}; percent is clamped to 0..100) in one call. kStaleLease (and
  // the stop token requested) once the lease is lost; other errors from
  // the server or the transport as they come (the event is then dropped).
  Status Progress(int percent, const std::string& message = {});
  // Buffers a `log` event ({"line": ...}); sent in batches (kLogFlushLines).
  // A failed send is reported to WorkerOptions::on_error, not here.
  void Log(std::string line);
  // Buffers an event of any shape the server takes from a worker (`progress`
  // or `log`, data a JSON object text, e.g. {"stream": "stderr", "line":
  // ...}) in order with Log() lines, and sends it the same way. For handlers
  // that forward another program's output with the built-in executor's
  // event shapes (`jobtape worker -- CMD`). A malformed event makes the whole
  // batch it is sent in fail (reported to on_error).
  void Append(NewEvent event);
  // Sends the buffered log lines now. Errors as Progress().
  Status Flush();

 private:
  Status Send(std::vector<NewEvent> events);

  std::shared_ptr<ActiveJob> job_;
  Client& client_;
  std::vector<NewEvent> pending_;
  std::chrono::steady_clock::time_point oldest_pending_;
};

// A handler runs one job. Returning a JobResult reports it; an exception
// thrown out of it is a retryable failure with code `handler_error` and the
// exception's what() as message.
using Handler = std::function<JobResult(JobContext&)>;

// Event counts since construction (test signals; also useful for metrics).
struct WorkerCounters {
  int64_t claim_requests = 0;     // POST /v1/claims answered 200
  int64_t claimed = 0;            // leases received
  int64_t handled = 0;            // handler calls that returned (or threw)
  int64_t completed = 0;          // successes acknowledged by the server
  int64_t failed = 0;             // failures acknowledged (retry scheduled or terminal)
  int64_t complete_requests = 0;  // POST /v1/leases/complete sent
  int64_t lost_leases = 0;        // jobs whose lease was lost, or whose finish could not be
                                  // delivered (each counted once)
  int64_t heartbeats = 0;         // renewals acknowledged
  int64_t skipped = 0;            // jobs cancelled or lost before a handler started them
};

class Worker {
 public:
  // Options are checked by Run().
  Worker(ClientOptions client, WorkerOptions options);
  // Requires Run() to have returned (or never to have been called).
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Runs jobs of `kind` with `handler`, replacing an earlier one. A claimed
  // job whose kind has no handler (and no default handler, below) fails at
  // once, non-retryable, with code `unknown_kind`. Call before Run().
  void Register(std::string kind, Handler handler);
  // Runs every job whose kind has no handler of its own with `handler`
  // (replacing an earlier default), so a worker can serve any kind its
  // queues hold. Call before Run().
  void RegisterDefault(Handler handler);

  // Serves jobs until Stop(). Then: claiming stops at once (the parked long
  // poll's connection is closed; leases the server granted in that instant
  // are handed back by the server, or, if the reply had already arrived,
  // failed as below without running); handlers in flight get up to
  // shutdown_grace to return; then their stop tokens are requested (reason
  // kShutdown) and Run() waits for them to return — a handler must honour
  // its stop token (the job's timeout is the server-side backstop). A job
  // whose handler returns a failure after the shutdown request — and a
  // claimed job that never started — is failed retryable with code
  // `worker_shutdown`, so another worker picks it up without waiting for
  // the lease to run out; a success is completed. Every finish is sent
  // before Run() returns; leases are heartbeated until then.
  // Returns OK after Stop(); kInvalidArgument for bad options; the server's
  // error when a claim fails for good (unauthenticated, permission_denied,
  // invalid_argument), after the same graceful stop; kFailedPrecondition if
  // called twice.
  Status Run();

  // Asks Run() to stop as described there. Never blocks; idempotent.
  void Stop();

  WorkerCounters counters() const;
  // Waits until `done(counters())` holds or `timeout` passes; returns whether
  // it holds. `done` runs under a worker lock: it must not call the Worker.
  bool WaitFor(const std::function<bool(const WorkerCounters&)>& done,
               std::chrono::milliseconds timeout) const;

  struct State;  // internal

 private:
  std::unique_ptr<State> state_;
};

// "<hostname>-<pid>", the default worker id.
std::string DefaultWorkerId();

}  // namespace jobtape::client
