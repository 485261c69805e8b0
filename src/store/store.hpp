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
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
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
  // A claim starts only jobs due at its own `now`, so this also covers ready
  // jobs due after it (made claimable by a claim or enqueue stamped later
  // that reached the store first): then next_due is after `now` but may
  // already have passed, and the claimer should claim again at once.
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

// The reaper's three rules, each of which can be switched off (R5, R8). A
// running attempt whose lease ran out (lease_expires_at <= now) falls under
// one or more of them:
//  - cancel grace: a cancel was requested and its grace is over
//    (cancel_deadline_at <= now); the attempt ends and the job is cancelled;
//  - runtime backstop: the job's timeout is over (deadline_at <= now); the
//    attempt ends `timeout` (retried with backoff, or failed when out of
//    attempts), whatever its heartbeats say;
//  - expired lease: the lease ran out on its own, before any deadline capped
//    it (lease_expires_at < cancel_deadline_at and < deadline_at, where set):
//    the worker stopped renewing it. The attempt ends `lease_expired`.
// (Heartbeats never extend a lease past either deadline, so every attempt
// with an expired lease falls under at least one rule.) The first rule that
// applies and is switched on, in the order above, ends the attempt; an
// attempt whose rules are all off is left running (a deferral, below). So
// with the backstop off an attempt past its timeout stays running (its worker
// may still complete it, though heartbeats past the deadline are refused),
// while a worker that went silent before the deadline is still reclaimed as
// an expired lease.
struct ReapRules {
  bool expired_leases = true;
  bool runtime_backstop = true;
  bool cancel_grace = true;
  bool operator==(const ReapRules&) const = default;
};

struct ReapParams {
  TimePoint now;
  int limit = 1000;  // at most this many jobs per call (the caller loops)
  ReapRules rules;
};

// What one reap call did, as totals and per queue.
//
// A *deferral* is an attempt whose lease had run out at `now` that the call
// saw and left running because every rule it falls under is switched off.
// Deferred attempts are not in `job_ids` and do not count against `limit`;
// each call counts every deferred attempt it sees once, so an attempt left
// deferred for a minute under a 1 s reaper counts about 60 times (the
// counter's rate is the number of attempts held back).
//
// A *race* is an attempt the call selected whose compare-and-set then found
// it changed: its lease renewed, or the attempt finished or reaped by someone
// else, between selection and update. The call leaves it to whoever changed
// it (it is not a deferral: nothing was held back). A store that selects and
// updates in one serialized transaction (SQLite) never races.
struct ReapCounts {
  int expired = 0;    // expired lease: retried or failed
  int cancelled = 0;  // cancel grace ran out: cancelled
  int timed_out = 0;  // runtime backstop hit: failed for retry or terminal
  int deferred = 0;   // left running: its rules are switched off
  int raced = 0;      // selected, but changed by someone else first
  int reaped() const { return expired + cancelled + timed_out; }
  ReapCounts& operator+=(const ReapCounts& o) {
    expired += o.expired;
    cancelled += o.cancelled;
    timed_out += o.timed_out;
    deferred += o.deferred;
    raced += o.raced;
    return *this;
  }
  bool operator==(const ReapCounts&) const = default;
};
struct ReapResult : ReapCounts {
  std::vector<JobId> job_ids;                // the attempts ended, one per job
  std::map<std::string, ReapCounts> queues;  // by queue; only queues with non-zero counts
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
  std::optional<int64_t> batch;  // members of this batch (a BatchId)
  int limit = 100;               // 1..1000
  std::optional<JobId> cursor;   // return jobs with id < cursor (newest first)
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

// ---- schedules (cron) ----

// What to do with fires a schedule missed (the server was down, or the loop
// was stalled, longer than SchedulesFireDueParams::misfire_grace).
enum class MisfirePolicy : uint8_t {
  kSkip,     // drop every missed fire; wait for the next fire after now
  kRunOnce,  // enqueue one job for the whole missed stretch, then continue
};
std::string_view MisfirePolicyName(MisfirePolicy policy);  // "skip", "run_once"
std::optional<MisfirePolicy> ParseMisfirePolicy(std::string_view name);

// What an operator defines. Validated by ValidateScheduleUpsert
// (store/schedule_rules.hpp).
struct ScheduleSpec {
  std::string name;              // [A-Za-z0-9_.:-]{1,119} (kMaxScheduleNameLength); the key
  std::string cron;              // 5 fields or a macro (store/cron.hpp)
  std::string timezone = "UTC";  // IANA zone the expression's wall times are in
  // The job each fire enqueues. run_at, idempotency_key and retry_of must be
  // empty: each fire sets idempotency_key "schedule:<name>:<fire µs>" and adds
  // the tag "schedule:<name>" (so at most kMaxTags - 1 tags here).
  JobSpec job;
  MisfirePolicy misfire = MisfirePolicy::kSkip;
  bool paused = false;  // a paused schedule never fires; resuming skips what it missed
};

struct Schedule {
  ScheduleSpec spec;
  std::optional<TimePoint> next_fire_at;  // absent: the expression never fires again
  std::optional<TimePoint> last_fire_at;  // the fire time of the newest job it enqueued
  std::optional<JobId> last_job_id;
  TimePoint created_at;
  TimePoint updated_at;
};

struct ScheduleUpsertParams {
  TimePoint now;
  ScheduleSpec spec;
};
struct ScheduleUpsertResult {
  Schedule schedule;
  bool created = false;  // false: an existing schedule was replaced
};

struct SchedulesListParams {
  int limit = 100;    // 1..1000
  std::string after;  // names after this one (ascending); empty = from the start
};
struct SchedulePage {
  std::vector<Schedule> schedules;  // by name
  std::optional<std::string> next_after;
};

// A fire closer than this to `now` is on time, whatever the misfire policy;
// older due fires are misfires. A minute covers a loop that woke late on a
// busy machine or a short restart, and is the granularity of cron itself.
inline constexpr Duration kDefaultMisfireGrace = std::chrono::minutes(1);

struct SchedulesFireDueParams {
  TimePoint now;
  int limit = 100;  // schedules per call, 1..1000 (bounds one transaction; the caller loops)
  Duration misfire_grace = kDefaultMisfireGrace;  // 0..1 day
};
struct FiredSchedule {
  std::string name;
  TimePoint fire_at;  // the fire time the job stands for
  JobId job_id = 0;
  bool duplicate = false;  // the fire's idempotency key matched an existing job
  bool catch_up = false;   // run_once: this job stands for missed fires
};
struct SchedulesFireDueResult {
  std::vector<FiredSchedule> fired;
  int skipped = 0;  // schedules whose missed fires were dropped (kSkip)
  // Schedules whose next fire could not be computed (e.g. their zone vanished
  // from the tz database); their next_fire_at is cleared and they stop.
  std::vector<std::string> failed;
  bool more = false;                      // the limit was hit: call again
  std::optional<TimePoint> next_fire_at;  // earliest of the unpaused schedules, after the call
  int64_t active = 0;                     // unpaused schedules
};

// ---- batches ----

using BatchId = int64_t;

// A batch: jobs created together, counted together, with an optional job
// enqueued once when the last of them ends. Validated by ValidateBatchCreate
// (store/batch_rules.hpp).
struct BatchCreateParams {
  TimePoint now;
  // 1..limits.max_batch_members ordinary jobs (each as JobsEnqueue would take
  // it, but without an idempotency key: the batch's own key stands for all).
  std::vector<JobSpec> jobs;
  // Enqueued in the transaction that writes the last member's `final`, with
  // the tag "batch:<id>" and the idempotency key "batch:<id>:on_complete".
  // run_at, idempotency_key and retry_of must be empty.
  std::optional<JobSpec> on_complete;
  // A repeat of a key returns the batch created first (duplicate).
  std::string idempotency_key;
};

struct BatchInfo {
  BatchId id = 0;
  int64_t total = 0;
  int64_t counts[kJobStateCount] = {};  // members per state, read together
  std::optional<JobSpec> on_complete;
  std::optional<JobId> on_complete_job_id;  // set once the last member ended
  std::string idempotency_key;
  TimePoint created_at;
  std::optional<TimePoint> finished_at;  // when the last member ended
  // Members in a terminal state.
  int64_t done() const {
    return counts[static_cast<int>(JobState::kSucceeded)] +
           counts[static_cast<int>(JobState::kFailed)] +
           counts[static_cast<int>(JobState::kCancelled)];
  }
};

struct BatchCreateResult {
  BatchInfo batch;
  std::vector<JobId> job_ids;  // members in request order
  bool duplicate = false;      // the idempotency key matched: this is that batch
};

struct BatchCancelParams {
  TimePoint now;
  BatchId id = 0;
  Duration grace = std::chrono::seconds(10);  // as CancelParams, per running member
  std::string reason;
};
struct BatchCancelResult {
  int64_t cancelled = 0;         // waiting members cancelled at once
  int64_t cancel_requested = 0;  // running members asked to stop
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
  // Members of these batches ended (a batch's counts changed), each batch once.
  virtual void OnBatches(const std::vector<BatchId>& /*batches*/) {}
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

  // Creates or replaces a schedule. Validates cron, zone and template first
  // (kInvalidArgument/kPayloadTooLarge/kLimitExceeded, nothing written).
  // next_fire_at is the first fire after `now`, except that an update keeping
  // cron, zone and pause state keeps a pending next_fire_at (so editing the
  // template neither skips nor repeats a fire); last_fire_at/last_job_id and
  // created_at survive an update.
  virtual void ScheduleUpsertAsync(ScheduleUpsertParams p, Done<ScheduleUpsertResult> done) = 0;
  // Removes a schedule and returns it as it was; kNotFound if absent. Jobs it
  // already enqueued are untouched.
  virtual void ScheduleDeleteAsync(std::string name, Done<Schedule> done) = 0;
  // Fires every unpaused schedule whose next_fire_at <= now (at most
  // `limit`, earliest first). Per schedule, in one transaction with the rest
  // of the call: at most one job from its template (through the same path as
  // JobsEnqueue: `created` event, counts, observers), last_fire_at and
  // last_job_id, and next_fire_at set to its first fire strictly after now.
  // Which fire the job stands for: the first fire within misfire_grace of now
  // if there is one (on time, both policies); otherwise the missed fires are
  // dropped (kSkip, counted in `skipped`) or the first of them fires once
  // (kRunOnce, catch_up). A crash before commit leaves everything as it was,
  // so a fire is never lost nor doubled; each fire's idempotency key guards
  // against doubles a second time.
  virtual void SchedulesFireDueAsync(SchedulesFireDueParams p,
                                     Done<SchedulesFireDueResult> done) = 0;
  // Creates a batch and its members in one transaction (all or nothing).
  // Each member that reaches a terminal state counts, in the transaction that
  // writes its `final`; the last one also enqueues on_complete (exactly once).
  // A member's manual retry (JobRetry) is a new job outside the batch.
  virtual void BatchCreateAsync(BatchCreateParams p, Done<BatchCreateResult> done) = 0;
  // Cancels every member not yet terminal (as JobCancel each, in one
  // transaction). kNotFound if there is no such batch.
  virtual void BatchCancelAsync(BatchCancelParams p, Done<BatchCancelResult> done) = 0;

  virtual void JobGetAsync(JobId id, Done<Job> done) = 0;
  virtual void JobsListAsync(ListParams p, Done<JobPage> done) = 0;
  virtual void TapeReadAsync(TapeReadParams p, Done<TapePage> done) = 0;
  virtual void QueuesListAsync(Done<std::vector<QueueInfo>> done) = 0;
  virtual void HealthAsync(Done<StoreHealth> done) = 0;
  // kNotFound if there is no schedule `name`.
  virtual void ScheduleGetAsync(std::string name, Done<Schedule> done) = 0;
  virtual void SchedulesListAsync(SchedulesListParams p, Done<SchedulePage> done) = 0;
  // kNotFound if there is no batch `id`.
  virtual void BatchGetAsync(BatchId id, Done<BatchInfo> done) = 0;

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
  Result<ScheduleUpsertResult> ScheduleUpsert(ScheduleUpsertParams p);
  Result<Schedule> ScheduleDelete(std::string name);
  Result<SchedulesFireDueResult> SchedulesFireDue(SchedulesFireDueParams p);
  Result<Schedule> ScheduleGet(std::string name);
  Result<SchedulePage> SchedulesList(SchedulesListParams p);
  Result<BatchCreateResult> BatchCreate(BatchCreateParams p);
  Result<BatchCancelResult> BatchCancel(BatchCancelParams p);
  Result<BatchInfo> BatchGet(BatchId id);
};

}  // namespace jobtape::store
