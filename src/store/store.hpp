// Store: the only door to persistence (DESIGN §2).
//
// Each method is one atomic transaction. Methods are asynchronous: the
// `*Async` virtuals take a completion that the store invokes exactly once, on
// one of its own threads, after the transaction committed (or failed). HTTP
// coroutines resume from that completion; nothing waits on an I/O thread. The
// non-virtual synchronous forms block the calling thread until the completion
// runs and are meant for engine threads, tools and tests.
//
// Completions run on store threads and must be short and must not call back
// into the store synchronously (post the work elsewhere instead).
//
// Every mutation that takes a lease is a compare-and-set on
// (state = running, attempt, lease_token); a stale lease returns
// ErrorCode::kStaleLease and changes nothing (R2). Every input is validated
// first; an invalid one returns kInvalidArgument/kPayloadTooLarge and writes
// nothing (R9).
//
// Thread-safety: all methods may be called from any thread concurrently.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/event.hpp"
#include "core/job.hpp"
#include "core/limits.hpp"
#include "core/status.hpp"

namespace jobtape::store {

template <typename T>
using Done = std::function<void(Result<T>)>;

// ---- params and results (each carries an explicit `now`) ----

struct EnqueueParams {
  TimePoint now;
  std::vector<JobSpec> jobs;  // 1..limits.max_batch; all-or-nothing
};
struct EnqueuedJob {
  JobId id = 0;
  JobState state = JobState::kQueued;
  bool duplicate = false;  // an idempotency_key matched an existing job: this is that job
};
struct EnqueueResult {
  std::vector<EnqueuedJob> jobs;  // in request order
};

struct ClaimParams {
  TimePoint now;
  std::string worker_id;            // who holds the leases (shown in the tape)
  std::string node_id;              // the claiming node's executor, empty for remote workers
  std::vector<std::string> queues;  // served in the order given
  int max = 1;                      // 1..limits.max_claim
  Duration lease_ttl = std::chrono::seconds(30);
};
struct ClaimedJob {
  Job job;  // state kRunning, attempt incremented
  Lease lease;
};
struct ClaimResult {
  std::vector<ClaimedJob> jobs;
  // When nothing (more) is claimable now: the earliest run_at of a scheduled
  // job in the requested queues, so a waiter can sleep exactly until then.
  std::optional<TimePoint> next_due;
};

struct HeartbeatParams {
  TimePoint now;
  Lease lease;
  Duration lease_ttl = std::chrono::seconds(30);
};
struct HeartbeatResult {
  TimePoint expires_at;
  bool cancel_requested = false;
};

struct AppendParams {
  TimePoint now;
  Lease lease;
  std::vector<NewEvent> events;  // 1..limits.max_events_per_append
};
struct AppendResult {
  Seq last_seq = 0;
};

struct FinishParams {
  TimePoint now;
  Lease lease;
  Outcome outcome;
};
struct FinishResult {
  JobState state = JobState::kSucceeded;  // kScheduled/kQueued when a retry follows
  std::optional<TimePoint> retry_at;      // set when a retry follows
  Seq last_seq = 0;
};

struct CancelParams {
  TimePoint now;
  JobId id = 0;
  // A running attempt gets this long to stop after cancel_requested; then the
  // reaper ends it as cancelled whatever the worker does.
  Duration grace = std::chrono::seconds(10);
  std::string reason;
};
struct CancelResult {
  JobState state = JobState::kCancelled;  // the job's state after the call
  bool changed = false;                   // false: already terminal, or cancel already requested
  bool cancel_requested = false;          // true: running; the attempt was asked to stop
};

struct RetryParams {
  TimePoint now;
  JobId id = 0;  // a terminal failed or cancelled job
};

struct ReapParams {
  TimePoint now;
  int limit = 1000;  // at most this many jobs per call (the caller loops)
};
struct ReapResult {
  int expired = 0;    // leases expired: retried or failed
  int cancelled = 0;  // cancel grace ran out: cancelled
  int timed_out = 0;  // runtime backstop hit: failed for retry or terminal
  std::vector<JobId> job_ids;
};

struct RecoverParams {
  TimePoint now;
  std::string node_id;  // attempts this node's executor owned are interrupted
};
struct RecoverResult {
  int interrupted = 0;
  std::vector<JobId> job_ids;
};

struct ListParams {
  std::optional<std::string> queue;
  std::optional<JobState> state;
  std::optional<std::string> kind;
  int limit = 100;              // 1..1000
  std::optional<JobId> cursor;  // return jobs with id < cursor (newest first)
};
struct JobPage {
  std::vector<Job> jobs;
  std::optional<JobId> next_cursor;
};

struct TapeReadParams {
  JobId job_id = 0;
  Seq after = 0;
  int limit = 1000;  // 1..10000
};
struct TapePage {
  std::vector<Event> events;
  JobState state = JobState::kQueued;  // the job's state when read
  Seq last_seq = 0;                    // the job's newest seq when read
};

struct QueueInfo {
  std::string name;
  bool paused = false;
  std::optional<int> max_concurrent;  // absent = unlimited
  int64_t counts[kJobStateCount] = {};
};

struct QueueUpdateParams {
  TimePoint now;
  std::string name;
  std::optional<std::optional<int>> max_concurrent;  // outer: change it; inner: absent = unlimited
  std::optional<bool> paused;
};

// Things the store tells its observers after a commit. Called on a store
// thread; must not block or call back into the store synchronously.
class StoreObserver {
 public:
  virtual ~StoreObserver() = default;
  // Events that just committed, in seq order per job.
  virtual void OnEvents(const std::vector<Event>& events) = 0;
  // Work may have become claimable in `queue` (enqueue, freed capacity, a
  // resumed queue, a retry), or a job was scheduled for `due`.
  virtual void OnWork(const std::string& queue, std::optional<TimePoint> due) = 0;
};

struct StoreHealth {
  int schema_version = 0;
  int expected_schema_version = 0;
  std::string backend;  // "sqlite", "postgres"
};

// Commit-batch statistics for /metrics.
struct StoreStats {
  uint64_t commits = 0;
  uint64_t requests = 0;  // write requests folded into those commits
  uint64_t max_batch = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // Observers must be added before the store is used and outlive it.
  virtual void AddObserver(StoreObserver* observer) = 0;

  virtual void JobsEnqueueAsync(EnqueueParams p, Done<EnqueueResult> done) = 0;
  virtual void JobsClaimAsync(ClaimParams p, Done<ClaimResult> done) = 0;
  virtual void LeaseHeartbeatAsync(HeartbeatParams p, Done<HeartbeatResult> done) = 0;
  virtual void TapeAppendAsync(AppendParams p, Done<AppendResult> done) = 0;
  virtual void JobFinishAsync(FinishParams p, Done<FinishResult> done) = 0;
  // Finishes many attempts in one transaction (a worker's batch, the
  // completer of a busy executor). Each item stands alone: a stale lease or
  // invalid outcome fails only its own item. The outer Result fails only if
  // the transaction itself does (then nothing was written).
  virtual void JobsFinishAsync(std::vector<FinishParams> p,
                               Done<std::vector<Result<FinishResult>>> done) = 0;
  virtual void JobCancelAsync(CancelParams p, Done<CancelResult> done) = 0;
  // Enqueues a copy of a terminal failed/cancelled job (the original's tape is
  // closed: R1). Returns the new job. kConflict if the job is not terminal.
  virtual void JobRetryAsync(RetryParams p, Done<EnqueuedJob> done) = 0;
  virtual void LeasesReapExpiredAsync(ReapParams p, Done<ReapResult> done) = 0;
  virtual void AttemptsRecoverAsync(RecoverParams p, Done<RecoverResult> done) = 0;
  virtual void QueueUpdateAsync(QueueUpdateParams p, Done<QueueInfo> done) = 0;

  virtual void JobGetAsync(JobId id, Done<Job> done) = 0;
  virtual void JobsListAsync(ListParams p, Done<JobPage> done) = 0;
  virtual void TapeReadAsync(TapeReadParams p, Done<TapePage> done) = 0;
  virtual void QueuesListAsync(Done<std::vector<QueueInfo>> done) = 0;
  virtual void HealthAsync(Done<StoreHealth> done) = 0;

  virtual StoreStats Stats() const = 0;
  virtual const Limits& limits() const = 0;

  // Synchronous forms: block until the transaction is done.
  Result<EnqueueResult> JobsEnqueue(EnqueueParams p);
  Result<ClaimResult> JobsClaim(ClaimParams p);
  Result<HeartbeatResult> LeaseHeartbeat(HeartbeatParams p);
  Result<AppendResult> TapeAppend(AppendParams p);
  Result<FinishResult> JobFinish(FinishParams p);
  Result<std::vector<Result<FinishResult>>> JobsFinish(std::vector<FinishParams> p);
  Result<CancelResult> JobCancel(CancelParams p);
  Result<EnqueuedJob> JobRetry(RetryParams p);
  Result<ReapResult> LeasesReapExpired(ReapParams p);
  Result<RecoverResult> AttemptsRecover(RecoverParams p);
  Result<QueueInfo> QueueUpdate(QueueUpdateParams p);
  Result<Job> JobGet(JobId id);
  Result<JobPage> JobsList(ListParams p);
  Result<TapePage> TapeRead(TapeReadParams p);
  Result<std::vector<QueueInfo>> QueuesList();
  Result<StoreHealth> Health();
};

}  // namespace jobtape::store
