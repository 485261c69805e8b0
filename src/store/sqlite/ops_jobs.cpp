// Job-level writes: enqueue, claim (with every limit of R4), cancel (R8),
// manual retry and queue settings.
#include <boost/json.hpp>
#include <map>
#include <set>
#include <span>

#include "store/rules.hpp"
#include "store/sqlite/ops.hpp"

namespace jobtape::store::sqlite {
namespace {

std::string TagsJson(const std::vector<std::string>& tags) {
  if (tags.empty()) return {};
  boost::json::array a;
  for (const auto& t : tags)
    a.emplace_back(t);
  return boost::json::serialize(a);
}

}  // namespace

namespace {

// The parameters of one job row in InsertNewJobs' statements: ?(base+1) ..
// ?(base+kJobRowParams).
constexpr int kJobRowParams = 20;

// "INSERT INTO jobs(...) VALUES (...), ..." with `rows` rows of explicit ids.
// The statement cache is keyed by the SQL text's address, so each size's text
// is built once and kept.
const char* MultiRowJobInsert(int rows) {
  auto build = [](int n) {
    std::string sql =
        "INSERT INTO jobs(id, queue, kind, state, priority, payload, run_at, max_attempts, "
        "backoff_initial_us, backoff_max_us, backoff_multiplier, backoff_jitter, timeout_us, "
        "concurrency_key, concurrency_limit, idempotency_key, batch_id, tags, retry_of, "
        "created_at, updated_at, last_seq, ready, due_at) VALUES ";
    for (int r = 0; r < n; ++r) {
      auto p = [&](int i) { return "?" + std::to_string(r * kJobRowParams + i); };
      sql += r == 0 ? "(" : ",(";
      for (int i = 1; i <= kJobRowParams; ++i)
        sql += p(i) + ", ";
      // updated_at = created_at; membership columns (schema v3) from the state.
      sql += p(20) + ", 1, CASE WHEN " + p(4) + " = 1 THEN 1 END, CASE WHEN " + p(4) +
             " = 0 THEN " + p(7) + " END)";
    }
    return sql;
  };
  static const ChunkedSql kSql(build);
  return kSql.For(rows);
}

}  // namespace

// Inserts `specs` (none with an idempotency key) as new jobs with ids from
// `first_id` on, in chunks of 64, 16, 4 or 1 rows: SQLite's cost per statement
// (cursors, step, reset) is most of a one-row insert's (bench/store_profile
// under callgrind), so it is paid per chunk. Each job also gets its `created`
// event. Returns the jobs in the order of `specs`.
Result<std::vector<EnqueuedJob>> InsertNewJobs(WriteCtx& ctx, std::span<const JobSpec> specs,
                                               TimePoint now) {
  std::vector<EnqueuedJob> out;
  out.reserve(specs.size());
  JobId next_id = 1;
  {
    Stmt& max = ctx.db.Prepare("SELECT max(id) FROM jobs");
    StmtScope scope(max);
    auto row = max.Step();
    if (!row.ok()) return row.status();
    if (*row && !max.IsNull(0)) next_id = max.Int(0) + 1;
  }
  std::vector<std::string> tags(64);
  std::size_t i = 0;
  while (i < specs.size()) {
    const std::size_t left = specs.size() - i;
    const int rows = ChunkRows(left);
    Stmt& ins = ctx.db.Prepare(MultiRowJobInsert(rows));
    for (int r = 0; r < rows; ++r) {
      const JobSpec& spec = specs[i + r];
      const int b = r * kJobRowParams;
      TimePoint run_at = spec.run_at.value_or(now);
      JobState state = run_at > now ? JobState::kScheduled : JobState::kQueued;
      tags[r] = TagsJson(spec.tags);
      ins.Bind(b + 1, next_id + r).Bind(b + 2, std::string_view(spec.queue));
      ins.Bind(b + 3, std::string_view(spec.kind)).Bind(b + 4, static_cast<int64_t>(state));
      ins.Bind(b + 5, spec.priority).Bind(b + 6, std::string_view(spec.payload));
      ins.Bind(b + 7, ToMicros(run_at)).Bind(b + 8, spec.max_attempts);
      ins.Bind(b + 9, static_cast<int64_t>(spec.backoff.initial.count()));
      ins.Bind(b + 10, static_cast<int64_t>(spec.backoff.max.count()));
      ins.Bind(b + 11, spec.backoff.multiplier).Bind(b + 12, spec.backoff.jitter);
      ins.BindOpt(b + 13,
                  spec.timeout ? std::optional<int64_t>(spec.timeout->count()) : std::nullopt);
      ins.BindTextOrNull(b + 14, spec.concurrency_key).Bind(b + 15, spec.concurrency_limit);
      ins.BindTextOrNull(b + 16, spec.idempotency_key).BindTextOrNull(b + 17, spec.batch_id);
      ins.BindTextOrNull(b + 18, tags[r]);
      ins.BindOpt(b + 19, spec.retry_of);
      ins.Bind(b + 20, ToMicros(now));
      out.push_back(EnqueuedJob{next_id + r, state, false});
    }
    JT_RETURN_IF_ERROR(ins.Run());
    for (int r = 0; r < rows; ++r) {
      const JobSpec& spec = specs[i + r];
      const EnqueuedJob& job = out[i + r];
      JT_RETURN_IF_ERROR(
          InsertEvent(ctx, job.id, 1, EventType::kCreated, now, 0, CreatedData(spec)));
      ctx.fx.counts.push_back({spec.queue, job.state, +1});
      ctx.fx.work.emplace_back(spec.queue, job.state == JobState::kScheduled
                                               ? std::optional<TimePoint>(spec.run_at.value_or(now))
                                               : std::nullopt);
    }
    next_id += rows;
    i += rows;
  }
  return out;
}

// Inserts one job and its `created` event. Returns the new id.
Result<EnqueuedJob> InsertJob(WriteCtx& ctx, const JobSpec& spec, TimePoint now) {
  if (!spec.idempotency_key.empty()) {
    Stmt& find =
        ctx.db.Prepare("SELECT id, state FROM jobs WHERE queue = ?1 AND idempotency_key = ?2");
    StmtScope scope(find);
    find.Bind(1, std::string_view(spec.queue)).Bind(2, std::string_view(spec.idempotency_key));
    auto row = find.Step();
    if (!row.ok()) return row.status();
    if (*row) return EnqueuedJob{find.Int(0), static_cast<JobState>(find.Int(1)), true};
  }
  auto r = InsertNewJobs(ctx, std::span<const JobSpec>(&spec, 1), now);
  if (!r.ok()) return r.status();
  return r->front();
}

namespace {

struct QueueSettings {
  bool paused = false;
  std::optional<int64_t> max_concurrent;
};

Result<QueueSettings> LoadQueueSettings(Db& db, const std::string& queue) {
  Stmt& q = db.Prepare("SELECT paused, max_concurrent FROM queues WHERE name = ?1");
  StmtScope scope(q);
  q.Bind(1, std::string_view(queue));
  auto row = q.Step();
  if (!row.ok()) return row.status();
  QueueSettings s;
  if (*row) {
    s.paused = q.Int(0) != 0;
    s.max_concurrent = q.OptInt(1);
  }
  return s;
}

Result<int64_t> CountOne(Stmt& q) {
  StmtScope scope(q);
  auto row = q.Step();
  if (!row.ok()) return row.status();
  return *row ? q.Int(0) : 0;
}

// Moves the due scheduled jobs of `queue` to queued (they become claimable).
Status PromoteDue(WriteCtx& ctx, const std::string& queue, TimePoint now) {
  Stmt& up = ctx.db.Prepare(
      "UPDATE jobs SET state = 1, ready = 1, due_at = NULL WHERE queue = ?1 AND due_at <= ?2");
  up.Bind(1, std::string_view(queue)).Bind(2, ToMicros(now));
  JT_RETURN_IF_ERROR(up.Run());
  for (int64_t n = ctx.db.Changes(); n > 0; --n) {
    ctx.fx.Move(queue, JobState::kScheduled, JobState::kQueued);
  }
  return Status::Ok();
}

// Walking past key-blocked jobs reads only the covering index, but a claim
// still stops after this many entries so one call stays bounded; what lies
// beyond is reached as the blocked keys' jobs run and leave the queue.
constexpr int kMaxClaimScan = 100'000;

// What a claim needs of a picked job to start its attempt. The whole row is
// read after the commit, off the writer thread (SqliteStore::JobsClaimAsync).
struct Picked {
  JobId id = 0;
  int attempt = 0;  // before this claim
  Seq last_seq = 0;
  std::optional<Duration> timeout;
  bool keyed = false;  // has a concurrency key
  // For the writer's copy of the attempt (WriterCache), which saves its
  // finish reading the row back.
  int max_attempts = 1;
  Backoff backoff;
  std::optional<BatchId> batch;
};

// The columns of a picked job's row that ReadPicked() expects, from `first`.
#define JT_PICKED_ROW_COLUMNS(col) \
  col("attempt") ", " col("last_seq") ", " col("timeout_us") ", " col("max_attempts") \
      ", " col("backoff_initial_us") ", " col("backoff_max_us") ", "                  \
      col("backoff_multiplier") ", " col("backoff_jitter") ", " col("batch")

void ReadPicked(const Stmt& q, int first, Picked& p) {
  p.attempt = static_cast<int>(q.Int(first));
  p.last_seq = q.Int(first + 1);
  if (!q.IsNull(first + 2)) p.timeout = Duration(q.Int(first + 2));
  p.max_attempts = static_cast<int>(q.Int(first + 3));
  p.backoff.initial = Duration(q.Int(first + 4));
  p.backoff.max = Duration(q.Int(first + 5));
  p.backoff.multiplier = q.Real(first + 6);
  p.backoff.jitter = q.Real(first + 7);
  p.batch = q.OptInt(first + 8);
}

// Picks up to `want` ready jobs of `queue` in dispatch order, skipping jobs
// whose concurrency key is at its limit. `key_running` carries the running
// count per key across queues within this claim.
//
// Only jobs due at the claim's own `now` are taken. Requests reach the writer
// in any order of their `now`s: a claim stamped earlier may run after one
// stamped later, which promoted scheduled jobs due at *its* now, or after an
// enqueue stamped later. Taking those would start a job with a `started`
// before its run_at (seen in the delayed-job benchmark). They are skipped,
// and the earliest run_at skipped is kept in `not_due_yet` so that the claim
// reports it as next_due (after its now, so the dispatcher claims again at
// once instead of leaving the job queued with nobody woken for it).
Result<std::vector<Picked>> PickCandidates(WriteCtx& ctx, const std::string& queue, int want,
                                           TimePoint now,
                                           std::map<std::string, int64_t>& key_running,
                                           std::optional<TimePoint>& not_due_yet) {
  std::vector<Picked> picked;
  std::vector<std::size_t> keyed;  // picked keyed jobs: their rows are read below
  {
    // An unkeyed job's attempt, last_seq and timeout come from its row in the
    // same step (the CASE reads the row only then, so walking past key-blocked
    // jobs still reads the covering index alone): one statement fewer per job.
#define JT_UNKEYED(column) "CASE WHEN concurrency_key IS NULL THEN " column " END"
    Stmt& q = ctx.db.Prepare(
        "SELECT id, concurrency_key, concurrency_limit, run_at, " JT_PICKED_ROW_COLUMNS(
            JT_UNKEYED) " FROM jobs INDEXED BY jobs_ready WHERE queue = ?1 AND ready = 1 "
                        "ORDER BY priority DESC, run_at, id LIMIT ?2");
#undef JT_UNKEYED
    StmtScope scope(q);
    q.Bind(1, std::string_view(queue)).Bind(2, kMaxClaimScan);
    Stmt& count_key = ctx.db.Prepare(
        "SELECT count(*) FROM jobs INDEXED BY jobs_running_key WHERE running_key = ?1");
    while (static_cast<int>(picked.size()) < want) {
      auto row = q.Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      if (const TimePoint run_at = FromMicros(q.Int(3)); run_at > now) {
        if (!not_due_yet || run_at < *not_due_yet) not_due_yet = run_at;
        continue;
      }
      if (!q.IsNull(1)) {
        std::string_view key = q.TextView(1);
        auto it = key_running.find(std::string(key));
        if (it == key_running.end()) {
          count_key.Bind(1, key);
          auto n = CountOne(count_key);
          if (!n.ok()) return n.status();
          it = key_running.emplace(std::string(key), *n).first;
        }
        if (it->second >= q.Int(2)) continue;
        it->second++;
        keyed.push_back(picked.size());
        picked.push_back(Picked{.id = q.Int(0), .keyed = true});
        continue;
      }
      Picked p{.id = q.Int(0)};
      ReadPicked(q, 4, p);
      picked.push_back(p);
    }
  }
  if (keyed.empty()) return picked;
#define JT_PLAIN(column) column
  Stmt& get = ctx.db.Prepare("SELECT " JT_PICKED_ROW_COLUMNS(JT_PLAIN) " FROM jobs WHERE id = ?1");
#undef JT_PLAIN
  for (std::size_t i : keyed) {
    Picked& p = picked[i];
    StmtScope scope(get);
    get.Bind(1, p.id);
    auto row = get.Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Internal("picked job " + std::to_string(p.id) + " vanished");
    ReadPicked(get, 0, p);
  }
  return picked;
}

// The compare-and-set queued -> running (?1 id, ?2 token, ?3 deadline, ?4 lease expiry,
// ?5 now, ?6 worker, ?7 node). Only a keyed job enters jobs_running_key, so only its
// statement names running_key: naming it at all, even to keep it NULL, makes SQLite
// maintain that index (schema v3).
#define JT_START_ATTEMPT_SET                                                                    \
  "UPDATE jobs SET state = 2, ready = NULL, attempt = attempt + 1, lease_token = ?2, "          \
  "deadline_at = ?3, lease_expires_at = ?4, started_at = ?5, updated_at = ?5, worker_id = ?6, " \
  "node_id = ?7, cancel_deadline_at = NULL, last_seq = last_seq + 1"
constexpr const char* kStartUnkeyed = JT_START_ATTEMPT_SET " WHERE id = ?1 AND state = 1";
constexpr const char* kStartKeyed =
    JT_START_ATTEMPT_SET ", running_key = concurrency_key WHERE id = ?1 AND state = 1";
#undef JT_START_ATTEMPT_SET

// Starts the next attempt of a picked job: the compare-and-set queued ->
// running, the lease, and the `started` event. The ClaimedJob's job holds
// what this knows (id, queue, attempt, lease times); the store fills in the
// rest of the row after the commit.
Result<ClaimedJob> StartAttempt(WriteCtx& ctx, const ClaimParams& p, const std::string& queue,
                                const Picked& job, std::string token) {
  TimePoint expires = p.now + p.lease_ttl;
  std::optional<TimePoint> deadline;
  if (job.timeout) {
    deadline = p.now + *job.timeout;
    expires = std::min(expires, *deadline);  // the lease never outlives the backstop (R5)
  }
  Stmt& up = ctx.db.Prepare(job.keyed ? kStartKeyed : kStartUnkeyed);
  up.Bind(1, job.id).Bind(2, std::string_view(token));
  up.BindOpt(3, deadline ? std::optional<int64_t>(ToMicros(*deadline)) : std::nullopt);
  up.Bind(4, ToMicros(expires)).Bind(5, ToMicros(p.now)).Bind(6, std::string_view(p.worker_id));
  up.BindTextOrNull(7, p.node_id);
  JT_RETURN_IF_ERROR(up.Run());
  if (ctx.db.Changes() != 1) return Status::Conflict("job is no longer queued");
  ClaimedJob c;
  c.job.id = job.id;
  c.job.spec.queue = queue;
  c.job.state = JobState::kRunning;
  c.job.attempt = job.attempt + 1;
  c.job.last_seq = job.last_seq + 1;
  c.job.lease_expires_at = expires;
  c.job.started_at = p.now;
  c.job.updated_at = p.now;
  c.job.worker_id = p.worker_id;
  c.job.node_id = p.node_id;
  c.lease = Lease{job.id, c.job.attempt, std::move(token), expires};
  JT_RETURN_IF_ERROR(InsertEvent(ctx, job.id, c.job.last_seq, EventType::kStarted, p.now,
                                 c.job.attempt, StartedData(c.job.attempt, p.worker_id, expires)));
  ctx.fx.Move(queue, JobState::kQueued, JobState::kRunning);
  AttemptRow remembered{
      .id = job.id,
      .queue = queue,
      .attempt = c.job.attempt,
      .token = c.lease.token,
      .max_attempts = job.max_attempts,
      .backoff = job.backoff,
      .deadline_at = deadline ? std::optional<int64_t>(ToMicros(*deadline)) : std::nullopt,
      .lease_expires_at = ToMicros(expires),
      .last_seq = c.job.last_seq,
      .keyed = job.keyed,
      .batch = job.batch};
  ctx.cache.Remember(std::move(remembered));
  return c;
}

Result<std::optional<TimePoint>> NextDue(Db& db, const std::vector<std::string>& queues) {
  std::optional<TimePoint> next;
  Stmt& q = db.Prepare(
      "SELECT min(due_at) FROM jobs INDEXED BY jobs_due WHERE queue = ?1 AND due_at IS NOT NULL");
  for (const auto& queue : queues) {
    StmtScope scope(q);
    q.Bind(1, std::string_view(queue));
    auto row = q.Step();
    if (!row.ok()) return row.status();
    if (*row && !q.IsNull(0)) {
      TimePoint t = FromMicros(q.Int(0));
      if (!next || t < *next) next = t;
    }
  }
  return next;
}

}  // namespace

Result<EnqueueResult> OpEnqueue(WriteCtx& ctx, const EnqueueParams& p) {
  EnqueueResult out;
  out.jobs.reserve(p.jobs.size());
  auto fail = [&](const Status& s, std::size_t i) {
    return p.jobs.size() == 1 ? s : s.WithFieldPrefix("jobs[" + std::to_string(i) + "]");
  };
  std::size_t i = 0;
  while (i < p.jobs.size()) {
    // A job with an idempotency key may match an existing job (or one earlier
    // in this batch), so it is looked up and inserted alone; the runs between
    // such jobs are inserted many rows per statement, in order.
    if (!p.jobs[i].idempotency_key.empty()) {
      auto r = InsertJob(ctx, p.jobs[i], p.now);
      if (!r.ok()) return fail(r.status(), i);
      out.jobs.push_back(*r);
      ++i;
      continue;
    }
    std::size_t end = i;
    while (end < p.jobs.size() && p.jobs[end].idempotency_key.empty())
      ++end;
    auto r = InsertNewJobs(ctx, std::span<const JobSpec>(p.jobs).subspan(i, end - i), p.now);
    if (!r.ok()) return fail(r.status(), i);
    out.jobs.insert(out.jobs.end(), r->begin(), r->end());
    i = end;
  }
  return out;
}

Result<ClaimResult> OpClaim(WriteCtx& ctx, const ClaimParams& p) {
  ClaimResult out;
  std::optional<TimePoint> not_due_yet;  // see PickCandidates
  std::map<std::string, int64_t> key_running;
  std::set<std::string> seen;
  for (const std::string& queue : p.queues) {
    int want = p.max - static_cast<int>(out.jobs.size());
    if (want <= 0) break;
    if (!seen.insert(queue).second) continue;
    auto settings = LoadQueueSettings(ctx.db, queue);
    if (!settings.ok()) return settings.status();
    ctx.cache.queue_limited.insert_or_assign(queue, settings->max_concurrent.has_value());
    if (settings->paused) continue;
    JT_RETURN_IF_ERROR(PromoteDue(ctx, queue, p.now));
    if (settings->max_concurrent) {
      Stmt& count = ctx.db.Prepare(
          "SELECT count(*) FROM jobs INDEXED BY jobs_running "
          "WHERE lease_expires_at IS NOT NULL AND queue = ?1");
      count.Bind(1, std::string_view(queue));
      auto running = CountOne(count);
      if (!running.ok()) return running.status();
      int64_t room = *settings->max_concurrent - *running;
      if (room <= 0) continue;
      if (room < want) want = static_cast<int>(room);
    }
    auto picked = PickCandidates(ctx, queue, want, p.now, key_running, not_due_yet);
    if (!picked.ok()) return picked.status();
    std::vector<std::string> tokens = NewLeaseTokens(picked->size());
    for (std::size_t i = 0; i < picked->size(); ++i) {
      auto claimed = StartAttempt(ctx, p, queue, (*picked)[i], std::move(tokens[i]));
      if (!claimed.ok()) return claimed.status();
      out.jobs.push_back(std::move(*claimed));
    }
  }
  if (static_cast<int>(out.jobs.size()) < p.max) {
    auto next = NextDue(ctx.db, p.queues);
    if (!next.ok()) return next.status();
    out.next_due = *next;
    if (not_due_yet && (!out.next_due || *not_due_yet < *out.next_due)) out.next_due = not_due_yet;
  }
  return out;
}

Result<CancelResult> OpCancel(WriteCtx& ctx, const CancelParams& p) {
  Stmt& q = ctx.db.Prepare(
      "SELECT state, queue, attempt, cancel_deadline_at, lease_expires_at, last_seq, batch "
      "FROM jobs WHERE id = ?1");
  JobState state;
  std::string queue;
  int attempt;
  bool already_requested;
  int64_t lease_expires_at;
  Seq last_seq;
  std::optional<BatchId> batch;
  {
    StmtScope scope(q);
    q.Bind(1, p.id);
    auto row = q.Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::NotFound("no job " + std::to_string(p.id));
    state = static_cast<JobState>(q.Int(0));
    queue = q.Text(1);
    attempt = static_cast<int>(q.Int(2));
    already_requested = !q.IsNull(3);
    lease_expires_at = q.IsNull(4) ? 0 : q.Int(4);
    last_seq = q.Int(5);
    batch = q.OptInt(6);
  }
  CancelResult out;
  out.state = state;
  if (IsTerminal(state)) return out;  // a no-op on a terminal job
  ctx.cache.attempts.erase(p.id);     // (its compare-and-sets would miss it anyway)
  std::string reason = p.reason.empty() ? "cancelled by request" : p.reason;
  if (state == JobState::kRunning) {
    out.cancel_requested = true;
    if (already_requested) return out;
    // The attempt keeps its lease until the grace runs out; the reaper then
    // ends it as cancelled whatever the worker does.
    int64_t deadline = ToMicros(p.now + p.grace);
    Stmt& up = ctx.db.Prepare(
        "UPDATE jobs SET cancel_deadline_at = ?2, lease_expires_at = min(lease_expires_at, ?2), "
        "updated_at = ?3, last_seq = last_seq + 1 WHERE id = ?1 AND state = 2 AND attempt = ?4");
    up.Bind(1, p.id).Bind(2, deadline).Bind(3, ToMicros(p.now)).Bind(4, attempt);
    JT_RETURN_IF_ERROR(up.Run());
    (void)lease_expires_at;
    JT_RETURN_IF_ERROR(InsertEvent(ctx, p.id, last_seq + 1, EventType::kCancelRequested, p.now,
                                   attempt, CancelRequestedData(reason, p.grace)));
    out.changed = true;
    return out;
  }
  Stmt& up = ctx.db.Prepare(
      "UPDATE jobs SET state = 5, ready = NULL, due_at = NULL, unsuccessful = 5, finished_at = ?2, "
      "updated_at = ?2, last_seq = last_seq + 1 WHERE id = ?1 AND state = ?3");
  up.Bind(1, p.id).Bind(2, ToMicros(p.now)).Bind(3, static_cast<int64_t>(state));
  JT_RETURN_IF_ERROR(up.Run());
  JT_RETURN_IF_ERROR(InsertEvent(ctx, p.id, last_seq + 1, EventType::kFinal, p.now, attempt,
                                 CancelledFinalData(reason)));
  ctx.fx.Move(queue, state, JobState::kCancelled);
  if (batch) JT_RETURN_IF_ERROR(BatchMemberEnded(ctx, *batch, p.now));
  out.state = JobState::kCancelled;
  out.changed = true;
  return out;
}

Result<EnqueuedJob> OpRetry(WriteCtx& ctx, const RetryParams& p) {
  auto job = OpGet(ctx.db, p.id);
  if (!job.ok()) return job.status();
  if (job->state != JobState::kFailed && job->state != JobState::kCancelled) {
    return Status::Conflict("only failed or cancelled jobs can be retried; job is " +
                            std::string(JobStateName(job->state)));
  }
  JobSpec spec = job->spec;
  spec.run_at.reset();
  spec.idempotency_key.clear();
  spec.batch_id.clear();  // the batch counted the original; the copy stands alone
  spec.retry_of = job->id;
  return InsertJob(ctx, spec, p.now);
}

Result<QueueInfo> OpQueueUpdate(WriteCtx& ctx, const QueueUpdateParams& p) {
  Stmt& ins = ctx.db.Prepare(
      "INSERT INTO queues(name, paused, max_concurrent, updated_at) VALUES (?1, 0, NULL, ?2) "
      "ON CONFLICT(name) DO NOTHING");
  ins.Bind(1, std::string_view(p.name)).Bind(2, ToMicros(p.now));
  JT_RETURN_IF_ERROR(ins.Run());
  if (p.paused) {
    Stmt& up = ctx.db.Prepare("UPDATE queues SET paused = ?2, updated_at = ?3 WHERE name = ?1");
    up.Bind(1, std::string_view(p.name)).Bind(2, *p.paused ? 1 : 0).Bind(3, ToMicros(p.now));
    JT_RETURN_IF_ERROR(up.Run());
  }
  if (p.max_concurrent) {
    Stmt& up =
        ctx.db.Prepare("UPDATE queues SET max_concurrent = ?2, updated_at = ?3 WHERE name = ?1");
    up.Bind(1, std::string_view(p.name))
        .BindOpt(2, *p.max_concurrent ? std::optional<int64_t>(**p.max_concurrent) : std::nullopt);
    up.Bind(3, ToMicros(p.now));
    JT_RETURN_IF_ERROR(up.Run());
  }
  ctx.cache.queue_limited.erase(p.name);
  auto settings = LoadQueueSettings(ctx.db, p.name);
  if (!settings.ok()) return settings.status();
  QueueInfo info;
  info.name = p.name;
  info.paused = settings->paused;
  if (settings->max_concurrent) info.max_concurrent = static_cast<int>(*settings->max_concurrent);
  ctx.fx.work.emplace_back(p.name, std::nullopt);  // resumed or widened: wake claimers
  return info;
}

}  // namespace jobtape::store::sqlite
