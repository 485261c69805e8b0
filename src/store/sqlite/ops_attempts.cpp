// Attempt-level writes, all fenced by the lease (R2): heartbeat, append,
// finish; and the ways an attempt ends without its worker: reap (R5) and
// recovery after a crash (R8).
#include "store/rules.hpp"
#include "store/sqlite/ops.hpp"

namespace jobtape::store::sqlite {
namespace {

// The columns ReadAttempt() expects.
#define JT_ATTEMPT_COLUMNS                                                                  \
  "id, queue, attempt, lease_token, max_attempts, backoff_initial_us, backoff_max_us, "     \
  "backoff_multiplier, backoff_jitter, deadline_at, cancel_deadline_at, lease_expires_at, " \
  "last_seq, concurrency_key IS NOT NULL, "                                                 \
  "(SELECT max_concurrent FROM queues WHERE name = jobs.queue) IS NOT NULL, batch"

constexpr const char* kSelectAttempt =
    "SELECT " JT_ATTEMPT_COLUMNS " FROM jobs WHERE id = ?1 AND state = 2";

AttemptRow ReadAttempt(const Stmt& q) {
  AttemptRow a;
  a.id = q.Int(0);
  a.queue = q.Text(1);
  a.attempt = static_cast<int>(q.Int(2));
  a.token = q.Text(3);
  a.max_attempts = static_cast<int>(q.Int(4));
  a.backoff.initial = Duration(q.Int(5));
  a.backoff.max = Duration(q.Int(6));
  a.backoff.multiplier = q.Real(7);
  a.backoff.jitter = q.Real(8);
  a.deadline_at = q.OptInt(9);
  a.cancel_deadline_at = q.OptInt(10);
  a.lease_expires_at = q.Int(11);
  a.last_seq = q.Int(12);
  a.keyed = q.Int(13) != 0;
  a.queue_limited = q.Int(14) != 0;
  a.batch = q.OptInt(15);
  return a;
}

// Loads the running attempt `lease` names from its row and remembers it
// (WriterCache). kStaleLease unless the job is running that very attempt with
// that token (R2).
Result<AttemptRow> LoadLeased(WriteCtx& ctx, const Lease& lease) {
  Stmt& q = ctx.db.Prepare(kSelectAttempt);
  StmtScope scope(q);
  q.Bind(1, lease.job_id);
  auto row = q.Step();
  if (!row.ok()) return row.status();
  if (!*row) {
    return Status::StaleLease("job " + std::to_string(lease.job_id) + " is not running");
  }
  AttemptRow a = ReadAttempt(q);
  if (a.attempt != lease.attempt || !TokensEqual(a.token, lease.token)) {
    return Status::StaleLease("lease for attempt " + std::to_string(lease.attempt) +
                              " is no longer held (job is on attempt " + std::to_string(a.attempt) +
                              ")");
  }
  ctx.cache.Remember(a);
  return a;
}

// Whether `queue` has a max_concurrent, remembered (WriterCache).
Result<bool> QueueLimited(WriteCtx& ctx, const std::string& queue) {
  if (auto it = ctx.cache.queue_limited.find(queue); it != ctx.cache.queue_limited.end()) {
    return it->second;
  }
  Stmt& q = ctx.db.Prepare("SELECT max_concurrent IS NOT NULL FROM queues WHERE name = ?1");
  StmtScope scope(q);
  q.Bind(1, std::string_view(queue));
  auto row = q.Step();
  if (!row.ok()) return row.status();
  const bool limited = *row && q.Int(0) != 0;
  ctx.cache.queue_limited.emplace(queue, limited);
  return limited;
}

// Runs `op` (a lease-fenced write) on the attempt `lease` names. The writer's
// remembered copy is tried first, which saves reading the row back: `op`'s
// compare-and-set covers every field of it that can change while the
// attempt runs (WriterCache), and `op` returns kStaleLease, having written
// nothing, when that matches no row. Then, or without a remembered copy,
// `op` runs on the row as read, where kStaleLease is the answer.
template <typename Op>
auto WithAttempt(WriteCtx& ctx, const Lease& lease, Op op)
    -> decltype(op(std::declval<const AttemptRow&>())) {
  if (auto it = ctx.cache.attempts.find(lease.job_id); it != ctx.cache.attempts.end()) {
    if (it->second.attempt == lease.attempt && TokensEqual(it->second.token, lease.token)) {
      AttemptRow a = it->second;  // `op` may change the cache
      auto limited = QueueLimited(ctx, a.queue);
      if (!limited.ok()) return limited.status();
      a.queue_limited = *limited;
      auto r = op(a);
      if (r.ok() || r.status().code() != ErrorCode::kStaleLease) return r;
    }
    ctx.cache.attempts.erase(lease.job_id);
  }
  auto a = LoadLeased(ctx, lease);
  if (!a.ok()) return a.status();
  return op(*a);
}

// The compare-and-set of every write to a running attempt (?1 id, ?2 attempt, ?10 last_seq,
// ?11 deadline_at, ?12 cancel_deadline_at): the fields that can change while it runs, bar
// the lease's expiry, which no write takes from the writer's copy.
#define JT_ATTEMPT_CAS                                                                       \
  " WHERE id = ?1 AND state = 2 AND attempt = ?2 AND last_seq = ?10 AND deadline_at IS ?11 " \
  "AND cancel_deadline_at IS ?12"

// Binds ?1, ?2 and ?10..?12 of a statement with JT_ATTEMPT_CAS to what `a` says.
void BindAttemptCas(Stmt& s, const AttemptRow& a) {
  s.Bind(1, a.id).Bind(2, a.attempt);
  s.Bind(10, a.last_seq).BindOpt(11, a.deadline_at).BindOpt(12, a.cancel_deadline_at);
}

// Ends an attempt (?3 new state, ?4 retry run_at, ?5 finished_at, ?6 now, ?7 error, ?8 result,
// ?9 only-if-expired-at). A success sets no column of the ready, due or unsuccessful indexes,
// and only a keyed job's sets running_key, so SQLite maintains just the indexes the job
// leaves (schema v3).
#define JT_END_ATTEMPT_SET                                                                       \
  "UPDATE jobs SET state = ?3, finished_at = ?5, updated_at = ?6, lease_token = NULL, "          \
  "lease_expires_at = NULL, deadline_at = NULL, cancel_deadline_at = NULL, last_seq = last_seq " \
  "+ 1, error = CASE WHEN ?7 IS NULL THEN error ELSE ?7 END, result = ?8"
#define JT_END_ATTEMPT_WHERE JT_ATTEMPT_CAS " AND (?9 IS NULL OR lease_expires_at <= ?9)"
constexpr const char* kEndSucceeded = JT_END_ATTEMPT_SET JT_END_ATTEMPT_WHERE;
constexpr const char* kEndSucceededKeyed =
    JT_END_ATTEMPT_SET ", running_key = NULL" JT_END_ATTEMPT_WHERE;
constexpr const char* kEndOther = JT_END_ATTEMPT_SET
    ", running_key = NULL, run_at = CASE WHEN ?4 IS NULL THEN run_at ELSE ?4 END, "
    "ready = CASE WHEN ?3 = 1 THEN 1 END, due_at = CASE WHEN ?3 = 0 THEN ?4 END, "
    "unsuccessful = CASE WHEN ?3 IN (4, 5) THEN ?3 END" JT_END_ATTEMPT_WHERE;
#undef JT_END_ATTEMPT_SET
#undef JT_END_ATTEMPT_WHERE

// Ends the running attempt `a` with `outcome`: one compare-and-set plus the
// attempt_failed or final event (R1, R2). With `only_if_expired` (the reaper)
// the update also requires the lease to have run out at `now`, so a lease
// renewed in between is never reaped.
// `unit_random` picks the retry's jitter (drawn by the caller, once per
// attempt, so that a retry on the row after a stale remembered copy draws
// nothing more: a seeded store stays reproducible).
Result<FinishResult> EndAttempt(WriteCtx& ctx, const AttemptRow& a, const Outcome& outcome,
                                TimePoint now, double unit_random, bool only_if_expired = false) {
  AttemptView view{a.attempt, a.max_attempts, a.backoff, a.cancel_deadline_at.has_value()};
  AttemptEnd end = DecideAttemptEnd(view, outcome, now, unit_random);
  bool terminal = IsTerminal(end.state);
  Stmt& up = ctx.db.Prepare(end.state != JobState::kSucceeded ? kEndOther
                            : a.keyed                         ? kEndSucceededKeyed
                                                              : kEndSucceeded);
  BindAttemptCas(up, a);
  up.Bind(3, static_cast<int64_t>(end.state));
  up.BindOpt(4, terminal ? std::nullopt : std::optional<int64_t>(ToMicros(end.run_at)));
  up.BindOpt(5, terminal ? std::optional<int64_t>(ToMicros(now)) : std::nullopt);
  up.Bind(6, ToMicros(now)).BindTextOrNull(7, end.error).BindTextOrNull(8, end.result);
  up.BindOpt(9, only_if_expired ? std::optional<int64_t>(ToMicros(now)) : std::nullopt);
  JT_RETURN_IF_ERROR(up.Run());
  if (ctx.db.Changes() != 1) return Status::StaleLease("attempt already ended");
  ctx.cache.attempts.erase(a.id);
  Seq seq = a.last_seq + 1;
  JT_RETURN_IF_ERROR(
      InsertEvent(ctx, a.id, seq, end.event, now, a.attempt, std::move(end.event_data)));
  ctx.fx.Move(a.queue, JobState::kRunning, end.state);
  FinishResult out;
  out.state = end.state;
  out.last_seq = seq;
  if (!terminal) {
    out.retry_at = end.run_at;
    ctx.fx.work.emplace_back(a.queue, end.state == JobState::kScheduled
                                          ? std::optional<TimePoint>(end.run_at)
                                          : std::nullopt);
  } else {
    if (a.keyed || a.queue_limited) {
      // Capacity was freed: a claimer held back by the queue's max_concurrent
      // or by this job's concurrency key may proceed. Without either limit no
      // claimer can be waiting for it, and a signal per final only sent parked
      // claimers to claim in vain (issue 5: at 1,000 jobs/s most claims were
      // such, and the waiters that the next due job needed were all busy).
      ctx.fx.work.emplace_back(a.queue, std::nullopt);
    }
    if (a.batch) JT_RETURN_IF_ERROR(BatchMemberEnded(ctx, *a.batch, now));
  }
  return out;
}

}  // namespace

Result<HeartbeatResult> OpHeartbeat(WriteCtx& ctx, const HeartbeatParams& p) {
  return WithAttempt(ctx, p.lease, [&](const AttemptRow& a) -> Result<HeartbeatResult> {
    // The lease never outlives the runtime backstop or a cancel's grace (R5, R8).
    int64_t expires = ToMicros(p.now + p.lease_ttl);
    if (a.deadline_at) expires = std::min(expires, *a.deadline_at);
    if (a.cancel_deadline_at) expires = std::min(expires, *a.cancel_deadline_at);
    if (expires <= ToMicros(p.now)) {
      return Status::StaleLease("the attempt is past its deadline and will be reclaimed");
    }
    Stmt& up = ctx.db.Prepare("UPDATE jobs SET lease_expires_at = ?3" JT_ATTEMPT_CAS);
    BindAttemptCas(up, a);
    up.Bind(3, expires);
    JT_RETURN_IF_ERROR(up.Run());
    if (ctx.db.Changes() != 1) return Status::StaleLease("the attempt changed");
    return HeartbeatResult{FromMicros(expires), a.cancel_deadline_at.has_value()};
  });
}

Result<AppendResult> OpAppend(WriteCtx& ctx, const AppendParams& p) {
  return WithAttempt(ctx, p.lease, [&](const AttemptRow& a) -> Result<AppendResult> {
    const Seq last = a.last_seq + static_cast<Seq>(p.events.size());
    Stmt& up = ctx.db.Prepare("UPDATE jobs SET last_seq = ?3" JT_ATTEMPT_CAS);
    BindAttemptCas(up, a);
    up.Bind(3, last);
    JT_RETURN_IF_ERROR(up.Run());
    if (ctx.db.Changes() != 1) return Status::StaleLease("the attempt changed");
    Seq seq = a.last_seq;
    for (const NewEvent& e : p.events) {
      JT_RETURN_IF_ERROR(InsertEvent(ctx, a.id, ++seq, e.type, p.now, a.attempt, e.data));
    }
    if (auto it = ctx.cache.attempts.find(a.id); it != ctx.cache.attempts.end()) {
      it->second.last_seq = last;
    }
    return AppendResult{last};
  });
}

Result<FinishResult> OpFinish(WriteCtx& ctx, const FinishParams& p) {
  const double unit_random = ctx.UnitRandom();
  return WithAttempt(ctx, p.lease, [&](const AttemptRow& a) {
    return EndAttempt(ctx, a, p.outcome, p.now, unit_random);
  });
}

Result<std::vector<Result<FinishResult>>> OpFinishMany(WriteCtx& ctx,
                                                       const std::vector<FinishParams>& p,
                                                       const std::vector<Status>& invalid) {
  std::vector<Result<FinishResult>> out;
  out.reserve(p.size());
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (!invalid[i].ok()) {
      out.emplace_back(invalid[i]);
      continue;
    }
    auto r = OpFinish(ctx, p[i]);
    // A stale lease is detected before anything is written, so it fails its
    // item alone; any other error is the database's and fails the batch.
    if (!r.ok() && r.status().code() != ErrorCode::kStaleLease) return r.status();
    out.push_back(std::move(r));
  }
  return out;
}

namespace {

// Which rule ends the expired attempt `a` at `now` (ReapRules in store.hpp),
// or none when every rule it falls under is switched off.
enum class ReapRule { kNone, kCancelGrace, kRuntimeBackstop, kExpiredLease };

ReapRule PickReapRule(const AttemptRow& a, int64_t now, const ReapRules& rules) {
  const bool grace_over = a.cancel_deadline_at && *a.cancel_deadline_at <= now;
  const bool timed_out = a.deadline_at && *a.deadline_at <= now;
  const bool ran_out = (!a.cancel_deadline_at || a.lease_expires_at < *a.cancel_deadline_at) &&
                       (!a.deadline_at || a.lease_expires_at < *a.deadline_at);
  if (grace_over && rules.cancel_grace) return ReapRule::kCancelGrace;
  if (timed_out && rules.runtime_backstop) return ReapRule::kRuntimeBackstop;
  if (ran_out && rules.expired_leases) return ReapRule::kExpiredLease;
  return ReapRule::kNone;
}

// The rules as SQL over the jobs row: true where a switched-on rule applies
// (?1 = now, ?3/?4/?5 = cancel grace/backstop/expired lease switched on).
// Must agree with PickReapRule. Never NULL (coalesce), so NOT is its complement.
#define JT_REAP_RULES                                                                              \
  "((?3 AND coalesce(cancel_deadline_at <= ?1, 0)) OR (?4 AND coalesce(deadline_at <= ?1, 0)) OR " \
  "(?5 AND (cancel_deadline_at IS NULL OR lease_expires_at < cancel_deadline_at) AND "             \
  "(deadline_at IS NULL OR lease_expires_at < deadline_at)))"

void BindRules(Stmt& q, const ReapParams& p) {
  q.Bind(1, ToMicros(p.now));
  q.Bind(3, static_cast<int64_t>(p.rules.cancel_grace));
  q.Bind(4, static_cast<int64_t>(p.rules.runtime_backstop));
  q.Bind(5, static_cast<int64_t>(p.rules.expired_leases));
}

}  // namespace

Result<ReapResult> OpReap(WriteCtx& ctx, const ReapParams& p) {
  ReapResult out;
  // Switched-off rules' attempts are never selected, so they neither fill the
  // batch nor starve the attempts behind them; they are only counted. With
  // every rule on, every expired attempt falls under one (no query needed).
  if (!(p.rules.expired_leases && p.rules.runtime_backstop && p.rules.cancel_grace)) {
    Stmt& q = ctx.db.Prepare(
        "SELECT queue, count(*) FROM jobs INDEXED BY jobs_running "
        "WHERE state = 2 AND lease_expires_at <= ?1 AND NOT " JT_REAP_RULES " GROUP BY queue");
    StmtScope scope(q);
    BindRules(q, p);  // ?2 (the limit) is unused here and stays NULL
    JT_RETURN_IF_ERROR(q.ForEach([&](const Stmt& q) {
      const int n = static_cast<int>(q.Int(1));
      out.deferred += n;
      out.queues[q.Text(0)].deferred += n;
    }));
  }
  std::vector<AttemptRow> expired;
  {
    Stmt& q = ctx.db.Prepare("SELECT " JT_ATTEMPT_COLUMNS
                             " FROM jobs INDEXED BY jobs_running "
                             "WHERE state = 2 AND lease_expires_at <= ?1 AND " JT_REAP_RULES
                             " ORDER BY lease_expires_at LIMIT ?2");
    StmtScope scope(q);
    BindRules(q, p);
    q.Bind(2, p.limit);
    JT_RETURN_IF_ERROR(q.ForEach([&](const Stmt& q) { expired.push_back(ReadAttempt(q)); }));
  }
  const int64_t now = ToMicros(p.now);
  for (const AttemptRow& a : expired) {
    Outcome outcome;
    ReapCounts one;
    switch (PickReapRule(a, now, p.rules)) {
      case ReapRule::kCancelGrace:
        outcome =
            Outcome::Failed("cancel_grace_expired", "the attempt did not stop in time", false);
        one.cancelled = 1;
        break;
      case ReapRule::kRuntimeBackstop:
        outcome = Outcome::Failed("timeout", "the attempt ran past its timeout");
        one.timed_out = 1;
        break;
      case ReapRule::kExpiredLease:
        outcome = Outcome::Failed("lease_expired", "the worker stopped renewing its lease");
        one.expired = 1;
        break;
      case ReapRule::kNone:
        // The SQL selected it, so a rule applies; disagreeing code is a bug,
        // and leaving the attempt alone is the safe reading.
        one.deferred = 1;
        break;
    }
    if (one.deferred == 0) {
      // Compare-and-set on (state, attempt) and the lease still expired: a
      // worker that renewed or finished in between keeps its attempt (R5).
      auto r = EndAttempt(ctx, a, outcome, p.now, ctx.UnitRandom(), /*only_if_expired=*/true);
      if (r.ok()) {
        out.job_ids.push_back(a.id);
      } else if (r.status().code() == ErrorCode::kStaleLease) {
        one = ReapCounts{.raced = 1};
      } else {
        return r.status();
      }
    }
    out += one;
    out.queues[a.queue] += one;
  }
  return out;
}

Result<RecoverResult> OpRecover(WriteCtx& ctx, const RecoverParams& p) {
  std::vector<AttemptRow> owned;
  {
    Stmt& q = ctx.db.Prepare("SELECT " JT_ATTEMPT_COLUMNS
                             " FROM jobs INDEXED BY jobs_running "
                             "WHERE lease_expires_at IS NOT NULL AND state = 2 AND node_id = ?1");
    StmtScope scope(q);
    q.Bind(1, std::string_view(p.node_id));
    JT_RETURN_IF_ERROR(q.ForEach([&](const Stmt& q) { owned.push_back(ReadAttempt(q)); }));
  }
  RecoverResult out;
  for (const AttemptRow& a : owned) {
    auto r =
        EndAttempt(ctx, a, Outcome::Failed("interrupted", "the node restarted during the attempt"),
                   p.now, ctx.UnitRandom());
    if (!r.ok()) return r.status();
    ++out.interrupted;
    out.job_ids.push_back(a.id);
  }
  return out;
}

}  // namespace jobtape::store::sqlite
