// Client: a synchronous C++ client of the jobtape v1 HTTP API
// (docs/openapi.yaml), for the CLI, tools and the worker SDK.
//
// Every call is one HTTP exchange over a kept-alive connection and returns
// the decoded document or a Status: a JSON error reply becomes the server's
// code, message and field (StatusFromReply in wire.hpp); a transport failure
// is kUnavailable. Each call may also hand back the reply body verbatim
// (`json`), for callers that print what the server said (`--json`).
//
// Watch() follows a job's tape over Server-Sent Events on a connection of its
// own, reconnecting after a drop with Last-Event-ID (bounded exponential
// backoff) until the job's `final` event arrives.
//
// Thread-safety: a Client is used by one thread at a time (it owns one
// connection). Watch() is the exception that proves the rule: it opens its
// own connection, so one thread may Watch while another uses the same Client
// for other calls — but not two calls of the other kind at once. Use one
// Client per thread for parallel requests.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

#include "client/options.hpp"
#include "client/types.hpp"
#include "core/status.hpp"

namespace jobtape::client {

class HttpTransport;

// Reconnect backoff of Watch: 100 ms doubling to 5 s — quick when a proxy
// dropped an idle stream, gentle on a server that is restarting.
inline constexpr std::chrono::milliseconds kWatchInitialBackoff{100};
inline constexpr std::chrono::milliseconds kWatchMaxBackoff{5'000};
// About five minutes of failed reconnects (at the 5 s cap) before giving up.
inline constexpr int kWatchMaxFailures = 60;
// The server sends a keep-alive comment every 15 s; three missed ones mean
// the connection is dead even if TCP has not noticed.
inline constexpr std::chrono::milliseconds kWatchIdleTimeout{45'000};

struct WatchOptions {
  std::chrono::milliseconds initial_backoff = kWatchInitialBackoff;
  std::chrono::milliseconds max_backoff = kWatchMaxBackoff;
  // Consecutive failed connection attempts (no event received in between)
  // before Watch gives up with the last error. 0: never give up.
  int max_failures = kWatchMaxFailures;
  std::chrono::milliseconds idle_timeout = kWatchIdleTimeout;
  // Stops the watch from another thread (Watch returns kUnavailable "interrupted").
  std::stop_token stop;
  // Told before each reconnect: the attempt number (1, 2, ...), the delay
  // about to be waited, and why the previous connection ended.
  std::function<void(int attempt, std::chrono::milliseconds delay, const Status& why)> on_reconnect;
};

// The delay before reconnect attempt `attempt` (1-based): initial * 2^(attempt-1),
// capped at max_backoff.
std::chrono::milliseconds WatchBackoff(const WatchOptions& options, int attempt);

// The definition a PUT needs to recreate `schedule` as it is.
ScheduleSpec SpecOf(const Schedule& schedule);

class Client {
 public:
  explicit Client(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const ClientOptions& options() const { return options_; }

  // ---- producers and readers ----

  // POST /v1/jobs with one job.
  Result<Submitted> Submit(const SubmitSpec& spec, std::string* json = nullptr);
  // POST /v1/jobs with a body the caller built (one job or {"jobs":[...]}).
  Result<std::vector<Submitted>> SubmitRaw(std::string body, std::string* json = nullptr);
  Result<Job> Get(JobId id, std::string* json = nullptr);
  Result<JobPage> List(const ListFilter& filter, std::string* json = nullptr);
  // GET /v1/jobs/{id}/events: events with seq > after, at most `limit` (0: the server's default).
  Result<TapePage> Events(JobId id, Seq after, int limit = 0, std::string* json = nullptr);
  // `reason` (optional) is recorded in the tape.
  Result<CancelReply> Cancel(JobId id, const std::string& reason = {}, std::string* json = nullptr);
  // Enqueues a copy of a failed or cancelled job; returns the new job.
  Result<Submitted> Retry(JobId id, std::string* json = nullptr);
  Result<std::vector<QueueInfo>> Queues(std::string* json = nullptr);
  Result<QueueInfo> PatchQueue(const std::string& name, const QueuePatch& patch,
                               std::string* json = nullptr);
  // ---- schedules (cron) ----

  // PUT /v1/schedules/{name}: creates or replaces (Schedule::created tells
  // which). Errors: invalid_argument naming the field ("cron", "timezone",
  // "job.kind", ...), permission_denied without the admin role.
  Result<Schedule> PutSchedule(const ScheduleSpec& spec, std::string* json = nullptr);
  // kNotFound if there is no such schedule.
  Result<Schedule> GetSchedule(const std::string& name, std::string* json = nullptr);
  // One page by name, starting after `cursor` (empty: the first page); `limit` 0: the server's
  // default.
  Result<SchedulePage> ListSchedules(int limit = 0, const std::string& cursor = {},
                                     std::string* json = nullptr);
  // kNotFound if there is no such schedule. Jobs it enqueued stay.
  Status DeleteSchedule(const std::string& name);
  // Pauses or resumes a schedule: GET, then PUT of the same definition with
  // `paused` changed (nothing is written if it already is). A read-modify-
  // write: a PUT by someone else between the two is overwritten. Resuming
  // skips the fires missed while paused.
  Result<Schedule> SetSchedulePaused(const std::string& name, bool paused,
                                     std::string* json = nullptr);

  // ---- batches ----

  // POST /v1/batches with `body` as given ({"jobs": [...], "on_complete":
  // {...}, "idempotency_key": "..."}). Not replayed unless the body has an
  // idempotency key (a repeat would create a second batch).
  Result<BatchCreated> CreateBatchRaw(std::string body, bool replayable,
                                      std::string* json = nullptr);
  // kNotFound if there is no such batch.
  Result<BatchInfo> GetBatch(const std::string& id, std::string* json = nullptr);
  Result<BatchCancelReply> CancelBatch(const std::string& id, const std::string& reason = {},
                                       std::string* json = nullptr);
  // Follows batch `id` over its SSE stream, calling `on_update` with each
  // state it reports (at once, then as members end) until it is done; returns
  // that last state. Reconnects as Watch does.
  Result<BatchInfo> WatchBatch(const std::string& id,
                               const std::function<void(const BatchInfo&)>& on_update,
                               const WatchOptions& options = {});

  // GET /health. A 503 (unhealthy) is a report, not an error.
  Result<HealthReport> Health(std::string* json = nullptr);

  // Follows job `id` from seq `after` + 1, calling `on_event` for every event
  // in order, each once, until the `final` event (which it also gets).
  // Reconnects on a dropped connection, a stall (no byte for idle_timeout) or
  // a `shutdown` notice. Errors: the server's (not_found, unauthenticated,
  // permission_denied: at once), kUnavailable after max_failures failed
  // attempts or when stopped.
  Result<WatchResult> Watch(JobId id, Seq after, const std::function<void(const Event&)>& on_event,
                            const WatchOptions& options = {});

  // ---- workers (the lease protocol) ----

  // POST /v1/claims: up to request.max leases; an empty list when nothing
  // arrived within request.wait.
  Result<std::vector<ClaimedJob>> Claim(const ClaimRequest& request);
  // Renews the lease; kStaleLease (409) when it is no longer held.
  Result<HeartbeatReply> Heartbeat(const Lease& lease,
                                   std::optional<std::chrono::milliseconds> extend = {});
  // Appends progress/log events; returns the newest seq.
  Result<Seq> AppendEvents(const Lease& lease, const std::vector<NewEvent>& events);
  Result<Seq> Progress(const Lease& lease, int percent, const std::string& message);
  // Ends the attempt successfully; `result_json` empty = no result.
  Result<FinishReply> Complete(const Lease& lease, const std::string& result_json = {});
  // Completes many attempts in one call (POST /v1/leases/complete). The
  // outer Result fails only if the request does; each item has its own
  // result (e.g. kStaleLease for a lease no longer held).
  struct Completion {
    Lease lease;
    std::string result_json;  // empty = no result
  };
  Result<std::vector<Result<FinishReply>>> CompleteMany(const std::vector<Completion>& items);
  // Ends the attempt with an error; a retry follows if `retryable` and attempts remain.
  Result<FinishReply> Fail(const Lease& lease, const std::string& code, const std::string& message,
                           bool retryable = true,
                           std::optional<std::chrono::milliseconds> retry_delay = {});

 private:
  // One exchange: 2xx gives the body, anything else the server's Status.
  Result<std::string> Call(std::string method, std::string target, std::string body,
                           bool replayable, std::string* json,
                           std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  std::string Target(std::string_view path,
                     const std::vector<std::pair<std::string, std::string>>& query = {}) const;
  static std::string LeasePath(const Lease& lease, std::string_view action);
  std::optional<WatchResult> Finished(HttpTransport& transport, const std::string& path,
                                      Seq last) const;

  ClientOptions options_;
  std::unique_ptr<HttpTransport> transport_;
};

}  // namespace jobtape::client
