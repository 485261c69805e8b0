// Reads. Each runs on a read-only connection; multi-statement reads run in one
// read transaction so they see one snapshot.
#include <string>

#include "store/sqlite/ops.hpp"

namespace jobtape::store::sqlite {
namespace {

// Holds a read transaction open for the scope.
class ReadTxn {
 public:
  explicit ReadTxn(Db& db) : db_(db) { ok_ = db_.Exec("BEGIN").ok(); }
  ~ReadTxn() {
    if (ok_) (void)db_.Exec("COMMIT");
  }

 private:
  Db& db_;
  bool ok_;
};

}  // namespace

Result<Job> OpGet(Db& db, JobId id) {
  Stmt& q = db.Prepare("SELECT " JT_JOB_COLUMNS " FROM jobs WHERE id = ?1");
  StmtScope scope(q);
  q.Bind(1, id);
  auto row = q.Step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::NotFound("no job " + std::to_string(id));
  return ReadJob(q);
}

Result<JobPage> OpList(Db& db, const ListParams& p) {
  std::string sql = "SELECT " JT_JOB_COLUMNS " FROM jobs WHERE 1";
  int n = 0;
  int queue_i = 0, state_i = 0, kind_i = 0, cursor_i = 0;
  if (p.queue) sql += " AND queue = ?" + std::to_string(queue_i = ++n);
  if (p.state) sql += " AND state = ?" + std::to_string(state_i = ++n);
  if (p.kind) sql += " AND kind = ?" + std::to_string(kind_i = ++n);
  if (p.cursor) sql += " AND id < ?" + std::to_string(cursor_i = ++n);
  sql += " ORDER BY id DESC LIMIT ?" + std::to_string(++n);
  Stmt q = db.PrepareOnce(sql);
  if (queue_i) q.Bind(queue_i, std::string_view(*p.queue));
  if (state_i) q.Bind(state_i, static_cast<int64_t>(*p.state));
  if (kind_i) q.Bind(kind_i, std::string_view(*p.kind));
  if (cursor_i) q.Bind(cursor_i, *p.cursor);
  q.Bind(n, p.limit + 1);
  JobPage page;
  JT_RETURN_IF_ERROR(q.ForEach([&](const Stmt& q) { page.jobs.push_back(ReadJob(q)); }));
  if (static_cast<int>(page.jobs.size()) > p.limit) {
    page.jobs.pop_back();
    page.next_cursor = page.jobs.back().id;
  }
  return page;
}

Result<TapePage> OpTapeRead(Db& db, const TapeReadParams& p) {
  ReadTxn txn(db);
  TapePage page;
  {
    Stmt& q = db.Prepare("SELECT state, last_seq FROM jobs WHERE id = ?1");
    StmtScope scope(q);
    q.Bind(1, p.job_id);
    auto row = q.Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::NotFound("no job " + std::to_string(p.job_id));
    page.state = static_cast<JobState>(q.Int(0));
    page.last_seq = q.Int(1);
  }
  Stmt& q = db.Prepare(
      "SELECT seq, type, at, attempt, data FROM events WHERE job_id = ?1 AND seq > ?2 "
      "ORDER BY seq LIMIT ?3");
  StmtScope scope(q);
  q.Bind(1, p.job_id).Bind(2, p.after).Bind(3, p.limit);
  JT_RETURN_IF_ERROR(q.ForEach([&](const Stmt& q) {
    page.events.push_back(Event{p.job_id, q.Int(0), static_cast<EventType>(q.Int(1)),
                                FromMicros(q.Int(2)), static_cast<int>(q.Int(3)), q.Text(4)});
  }));
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
