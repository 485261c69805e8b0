// Reads. Each runs on a read-only connection; multi-statement reads run in one
// read transaction so they see one snapshot.
#include <algorithm>
#include <string>

#include "store/rules.hpp"
#include "store/sqlite/ops.hpp"

namespace jobtape::store::sqlite {
Result<Job> OpGet(Db& db, JobId id) {
  Stmt& q = db.Prepare("SELECT " JT_JOB_COLUMNS " FROM jobs WHERE id = ?1");
  StmtScope scope(q);
  q.Bind(1, id);
  auto row = q.Step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::NotFound("no job " + std::to_string(id));
  return ReadJob(q);
}

namespace {

// "SELECT <job columns> FROM jobs WHERE id IN (?1, ..., ?n)" for n = 64, 16, 4
// or 1. The statement cache is keyed by the SQL text's address, so each
// size's text is built once and kept.
const char* MultiIdSelect(int n) {
  auto build = [](int n) {
    std::string sql = "SELECT " JT_JOB_COLUMNS " FROM jobs WHERE id IN (";
    for (int i = 1; i <= n; ++i)
      sql += (i == 1 ? "?" : ",?") + std::to_string(i);
    return sql + ")";
  };
  static const ChunkedSql kSql(build);
  return kSql.For(n);
}

}  // namespace

Result<ClaimResult> OpHydrateClaimed(Db& db, ClaimResult claimed) {
  // One read transaction for all the rows (each autocommit SELECT would open
  // and close its own WAL snapshot), and one statement per 64, 16, 4 or 1
  // rows (12.5k -> 10.5k instructions a row; most of the rest is decoding
  // the 35 columns).
  ReadTxn txn(db);
  std::vector<ClaimedJob>& jobs = claimed.jobs;
  std::size_t i = 0;
  while (i < jobs.size()) {
    const std::size_t left = jobs.size() - i;
    const int n = ChunkRows(left);
    Stmt& q = db.Prepare(MultiIdSelect(n));
    StmtScope scope(q);
    for (int k = 0; k < n; ++k)
      q.Bind(k + 1, jobs[i + static_cast<std::size_t>(k)].job.id);
    int found = 0;
    JT_RETURN_IF_ERROR(q.ForEach([&](const Stmt& q) {
      const JobId id = q.Int(0);
      for (int k = 0; k < n; ++k) {
        ClaimedJob& c = jobs[i + static_cast<std::size_t>(k)];
        // The row as committed by the claim, or as changed since (a cancel
        // may already have been requested); the lease stays the claim's.
        if (c.job.id == id) {
          c.job = ReadJob(q);
          ++found;
          break;
        }
      }
    }));
    if (found != n) return Status::NotFound("a claimed job is gone");
    i += static_cast<std::size_t>(n);
  }
  return claimed;
}

Result<JobPage> OpList(Db& db, const ListParams& p, std::size_t max_bytes) {
  std::string sql = "SELECT " JT_JOB_COLUMNS " FROM jobs WHERE 1";
  int n = 0;
  int queue_i = 0, state_i = 0, kind_i = 0, batch_i = 0, cursor_i = 0;
  if (p.queue) sql += " AND queue = ?" + std::to_string(queue_i = ++n);
  if (p.state) {
    sql += " AND state = ?" + std::to_string(state_i = ++n);
    // Failed and cancelled jobs have an index (schema v3); the planner uses
    // it only when the query names its column.
    if (*p.state == JobState::kFailed || *p.state == JobState::kCancelled) {
      sql += " AND unsuccessful = ?" + std::to_string(state_i);
    }
  }
  if (p.kind) sql += " AND kind = ?" + std::to_string(kind_i = ++n);
  if (p.batch) sql += " AND batch = ?" + std::to_string(batch_i = ++n);  // jobs_by_batch
  if (p.cursor) sql += " AND id < ?" + std::to_string(cursor_i = ++n);
  sql += " ORDER BY id DESC LIMIT ?" + std::to_string(++n);
  Stmt q = db.PrepareOnce(sql);
  if (queue_i) q.Bind(queue_i, std::string_view(*p.queue));
  if (state_i) q.Bind(state_i, static_cast<int64_t>(*p.state));
  if (kind_i) q.Bind(kind_i, std::string_view(*p.kind));
  if (batch_i) q.Bind(batch_i, *p.batch);
  if (cursor_i) q.Bind(cursor_i, *p.cursor);
  q.Bind(n, p.limit + 1);
  JobPage page;
  std::size_t bytes = 0;
  while (true) {
    auto row = q.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    if (static_cast<int>(page.jobs.size()) == p.limit || bytes >= max_bytes) {
      page.next_cursor = page.jobs.back().id;  // more rows follow
      break;
    }
    page.jobs.push_back(ReadJob(q));
    const Job& j = page.jobs.back();
    bytes += j.spec.payload.size() + j.result.size() + j.error.size();
  }
  return page;
}

Result<TapePage> OpTapeRead(Db& db, const TapeReadParams& p, std::size_t max_bytes) {
  ReadTxn txn(db);
  TapePage page;
  std::size_t bytes = 0;
  {
    Stmt& q = db.Prepare("SELECT state, last_seq, queue, kind, created_at FROM jobs WHERE id = ?1");
    StmtScope scope(q);
    q.Bind(1, p.job_id);
    auto row = q.Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::NotFound("no job " + std::to_string(p.job_id));
    page.state = static_cast<JobState>(q.Int(0));
    page.last_seq = q.Int(1);
    if (p.after < 1) {  // seq 1 is served from the job row (FlushEvents)
      page.events.push_back(Event{p.job_id, 1, EventType::kCreated, FromMicros(q.Int(4)), 0,
                                  CreatedData(q.TextView(2), q.TextView(3))});
      bytes += page.events.back().data.size();
    }
  }
  Stmt& q = db.Prepare(
      "SELECT seq, type, at, attempt, data FROM events WHERE job_id = ?1 AND seq > ?2 "
      "ORDER BY seq LIMIT ?3");
  StmtScope scope(q);
  q.Bind(1, p.job_id).Bind(2, std::max<Seq>(p.after, 1)).Bind(3, p.limit);
  // At least one event, however large.
  while ((page.events.empty() || bytes < max_bytes) &&
         static_cast<int>(page.events.size()) < p.limit) {
    auto row = q.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    page.events.push_back(Event{p.job_id, q.Int(0), static_cast<EventType>(q.Int(1)),
                                FromMicros(q.Int(2)), static_cast<int>(q.Int(3)), q.Text(4)});
    bytes += page.events.back().data.size();
  }
  return page;
}

Result<std::vector<QueueInfo>> OpQueueSettings(Db& db) {
  Stmt& q = db.Prepare("SELECT name, paused, max_concurrent FROM queues ORDER BY name");
  StmtScope scope(q);
  std::vector<QueueInfo> out;
  JT_RETURN_IF_ERROR(q.ForEach([&](const Stmt& q) {
    QueueInfo info;
    info.name = q.Text(0);
    info.paused = q.Int(1) != 0;
    if (!q.IsNull(2)) info.max_concurrent = static_cast<int>(q.Int(2));
    out.push_back(std::move(info));
  }));
  return out;
}

Result<std::vector<CountDelta>> OpCountByQueueState(Db& db) {
  Stmt& q = db.Prepare("SELECT queue, state, count(*) FROM jobs GROUP BY queue, state");
  StmtScope scope(q);
  std::vector<CountDelta> out;
  JT_RETURN_IF_ERROR(q.ForEach([&](const Stmt& q) {
    out.push_back({q.Text(0), static_cast<JobState>(q.Int(1)), q.Int(2)});
  }));
  return out;
}

}  // namespace jobtape::store::sqlite
