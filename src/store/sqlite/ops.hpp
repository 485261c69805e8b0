// The SQLite store's operations. Write operations run on the writer thread
// inside the batch transaction (see writer.hpp); reads run on a reader
// connection. Inputs were validated by store/rules before they got here.
//
// Thread-safety: each call uses only the connection it is given.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "store/sqlite/db.hpp"
#include "store/sqlite/writer.hpp"
#include "store/store.hpp"

namespace jobtape::store::sqlite {

// Columns of a job row in the order ReadJob() expects (a macro so SQL
// literals can embed it and stay cacheable by address).
#define JT_JOB_COLUMNS                                                                      \
  "id, queue, kind, state, priority, payload, run_at, max_attempts, attempt, "              \
  "backoff_initial_us, backoff_max_us, backoff_multiplier, backoff_jitter, timeout_us, "    \
  "concurrency_key, concurrency_limit, idempotency_key, batch_id, tags, retry_of, "         \
  "created_at, updated_at, started_at, finished_at, lease_expires_at, worker_id, node_id, " \
  "cancel_deadline_at, last_seq, error, result"
Job ReadJob(const Stmt& s, int first_col = 0);

// Multi-row statements (event and job inserts, row reads by id) come in
// chunks of 64, 16, 4 or 1 rows: SQLite's cost per statement (cursors, step,
// reset) is then paid per chunk, with four cached statements per kind.
inline int ChunkRows(std::size_t left) {
  return left >= 64 ? 64 : left >= 16 ? 16 : left >= 4 ? 4 : 1;
}
// The SQL text of each chunk size, built once by `build(rows)` and kept: the
// statement cache is keyed by the text's address.
class ChunkedSql {
 public:
  template <typename Build>
  explicit ChunkedSql(Build build)
      : k64_(build(64)), k16_(build(16)), k4_(build(4)), k1_(build(1)) {}
  const char* For(int rows) const {
    switch (rows) {
      case 64:
        return k64_.c_str();
      case 16:
        return k16_.c_str();
      case 4:
        return k4_.c_str();
      default:
        return k1_.c_str();
    }
  }

 private:
  const std::string k64_, k16_, k4_, k1_;
};

// Holds a read transaction open for the scope, so a read of several
// statements sees one snapshot (on a reader connection).
class ReadTxn {
 public:
  explicit ReadTxn(Db& db) : db_(db) { ok_ = db_.Exec("BEGIN").ok(); }
  ~ReadTxn() {
    if (ok_) (void)db_.Exec("COMMIT");
  }
  ReadTxn(const ReadTxn&) = delete;
  ReadTxn& operator=(const ReadTxn&) = delete;

 private:
  Db& db_;
  bool ok_;
};

// Appends one event to `job_id`'s tape at `seq` (the caller has advanced
// last_seq). The row is written when the request's operation returns
// (FlushEvents), so nothing in the same operation may read it back.
Status InsertEvent(WriteCtx& ctx, JobId job_id, Seq seq, EventType type, TimePoint at, int attempt,
                   std::string data);

// Inserts one job and its `created` event (the path of every enqueue; an
// idempotency key that matches returns the existing job, duplicate).
Result<EnqueuedJob> InsertJob(WriteCtx& ctx, const JobSpec& spec, TimePoint now);
// Inserts `specs`, none with an idempotency key, as new jobs (with their
// `created` events) in multi-row statements; the jobs in the order of `specs`.
Result<std::vector<EnqueuedJob>> InsertNewJobs(WriteCtx& ctx, std::span<const JobSpec> specs,
                                               TimePoint now);

// writes: jobs
Result<EnqueueResult> OpEnqueue(WriteCtx& ctx, const EnqueueParams& p);
Result<ClaimResult> OpClaim(WriteCtx& ctx, const ClaimParams& p);
Result<CancelResult> OpCancel(WriteCtx& ctx, const CancelParams& p);
Result<EnqueuedJob> OpRetry(WriteCtx& ctx, const RetryParams& p);
Result<QueueInfo> OpQueueUpdate(WriteCtx& ctx, const QueueUpdateParams& p);

// writes: attempts
Result<HeartbeatResult> OpHeartbeat(WriteCtx& ctx, const HeartbeatParams& p);
Result<AppendResult> OpAppend(WriteCtx& ctx, const AppendParams& p);
Result<FinishResult> OpFinish(WriteCtx& ctx, const FinishParams& p);
// `invalid[i]` non-OK: item i failed validation and is skipped with that error.
Result<std::vector<Result<FinishResult>>> OpFinishMany(WriteCtx& ctx,
                                                       const std::vector<FinishParams>& p,
                                                       const std::vector<Status>& invalid);
Result<ReapResult> OpReap(WriteCtx& ctx, const ReapParams& p);
Result<RecoverResult> OpRecover(WriteCtx& ctx, const RecoverParams& p);

// writes: schedules (ops_schedules.cpp)
Result<ScheduleUpsertResult> OpScheduleUpsert(WriteCtx& ctx, const ScheduleUpsertParams& p);
Result<Schedule> OpScheduleDelete(WriteCtx& ctx, const std::string& name);
Result<SchedulesFireDueResult> OpSchedulesFireDue(WriteCtx& ctx, const SchedulesFireDueParams& p);

// writes: batches (ops_batches.cpp)
Result<BatchCreateResult> OpBatchCreate(WriteCtx& ctx, const BatchCreateParams& p);
Result<BatchCancelResult> OpBatchCancel(WriteCtx& ctx, const BatchCancelParams& p);
// Counts the end of a member of batch `batch` (jobs.batch); the last
// member's end also enqueues the batch's on_complete job. Called by every
// transition into a terminal state, in its transaction.
Status BatchMemberEnded(WriteCtx& ctx, BatchId batch, TimePoint now);

// reads
Result<BatchInfo> OpBatchGet(Db& db, BatchId id);
Result<Schedule> OpScheduleGet(Db& db, const std::string& name);
Result<SchedulePage> OpSchedulesList(Db& db, const SchedulesListParams& p);
Result<Job> OpGet(Db& db, JobId id);
// The whole rows of jobs a committed claim started, with the claim's leases.
Result<ClaimResult> OpHydrateClaimed(Db& db, ClaimResult claimed);
// Both stop a page early once `max_bytes` of payloads/results or event data
// are in it (at least one item).
Result<JobPage> OpList(Db& db, const ListParams& p, std::size_t max_bytes);
Result<TapePage> OpTapeRead(Db& db, const TapeReadParams& p, std::size_t max_bytes);
// Queue settings rows (counts are filled by the store from memory).
Result<std::vector<QueueInfo>> OpQueueSettings(Db& db);
// (queue, state) -> count, for seeding the in-memory counters at open.
Result<std::vector<CountDelta>> OpCountByQueueState(Db& db);

}  // namespace jobtape::store::sqlite
