// Decoding job rows and writing tape events: shared by every SQLite operation.
#include <boost/json.hpp>

#include "store/sqlite/ops.hpp"

namespace jobtape::store::sqlite {

namespace {
std::optional<TimePoint> OptTime(const Stmt& s, int col) {
  if (s.IsNull(col)) return std::nullopt;
  return FromMicros(s.Int(col));
}
}  // namespace

Job ReadJob(const Stmt& s, int c) {
  Job j;
  j.id = s.Int(c + 0);
  j.spec.queue = s.Text(c + 1);
  j.spec.kind = s.Text(c + 2);
  j.state = static_cast<JobState>(s.Int(c + 3));
  j.spec.priority = static_cast<int>(s.Int(c + 4));
  j.spec.payload = s.Text(c + 5);
  j.run_at = FromMicros(s.Int(c + 6));
  j.spec.run_at = j.run_at;
  j.spec.max_attempts = static_cast<int>(s.Int(c + 7));
  j.attempt = static_cast<int>(s.Int(c + 8));
  j.spec.backoff.initial = Duration(s.Int(c + 9));
  j.spec.backoff.max = Duration(s.Int(c + 10));
  j.spec.backoff.multiplier = s.Real(c + 11);
  j.spec.backoff.jitter = s.Real(c + 12);
  if (!s.IsNull(c + 13)) j.spec.timeout = Duration(s.Int(c + 13));
  j.spec.concurrency_key = s.Text(c + 14);
  j.spec.concurrency_limit = static_cast<int>(s.Int(c + 15));
  j.spec.idempotency_key = s.Text(c + 16);
  j.spec.batch_id = s.Text(c + 17);
  if (!s.IsNull(c + 18)) {
    boost::json::error_code ec;
    auto v = boost::json::parse(s.TextView(c + 18), ec);
    if (!ec && v.is_array()) {
      for (const auto& t : v.as_array()) {
        if (t.is_string()) j.spec.tags.emplace_back(t.as_string());
      }
    }
  }
  if (!s.IsNull(c + 19)) j.spec.retry_of = s.Int(c + 19);
  j.created_at = FromMicros(s.Int(c + 20));
  j.updated_at = FromMicros(s.Int(c + 21));
  j.started_at = OptTime(s, c + 22);
  j.finished_at = OptTime(s, c + 23);
  j.lease_expires_at = OptTime(s, c + 24);
  j.worker_id = s.Text(c + 25);
  j.node_id = s.Text(c + 26);
  j.cancel_requested = !s.IsNull(c + 27);
  j.last_seq = s.Int(c + 28);
  j.error = s.Text(c + 29);
  j.result = s.Text(c + 30);
  return j;
}

Status InsertEvent(WriteCtx& ctx, JobId job_id, Seq seq, EventType type, TimePoint at, int attempt,
                   std::string data) {
  // Written by FlushEvents when the request's operation is done.
  ctx.fx.events.push_back(Event{job_id, seq, type, at, attempt, std::move(data)});
  return Status::Ok();
}

namespace {

// "INSERT INTO events(...) VALUES (?,?,?,?,?,?), ..." with `rows` rows. The
// statement cache is keyed by the SQL text's address, so each size's text is
// built once and kept.
const char* MultiRowInsert(int rows) {
  auto build = [](int n) {
    std::string sql = "INSERT INTO events(job_id, seq, type, at, attempt, data) VALUES ";
    for (int i = 0; i < n; ++i)
      sql += i == 0 ? "(?,?,?,?,?,?)" : ",(?,?,?,?,?,?)";
    return sql;
  };
  static const ChunkedSql kSql(build);
  return kSql.For(rows);
}

}  // namespace

// One multi-row INSERT per chunk of 64, 16, 4 or 1 events: SQLite's cost per
// statement (step, cursors, reset) is paid per chunk instead of per event,
// which is most of an event insert's cost (bench/store_profile under
// callgrind: about 7.3k instructions per event one by one, 4.3k in chunks of 64).
//
// `created` events are published but not stored: seq 1 of every tape is
// served from the job row (OpTapeRead), whose queue, kind and created_at are
// all it says. That is one b-tree insert fewer per job, in the middle of the
// events tree. Databases written before this hold stored `created` rows,
// which OpTapeRead passes over: the row says the same.
Status FlushEvents(WriteCtx& ctx) {
  const std::vector<Event>& events = ctx.fx.events;
  std::vector<const Event*> stored;
  stored.reserve(events.size() - ctx.events_written);
  for (std::size_t i = ctx.events_written; i < events.size(); ++i) {
    if (events[i].type != EventType::kCreated) stored.push_back(&events[i]);
  }
  std::size_t i = 0;
  while (i < stored.size()) {
    const int rows = ChunkRows(stored.size() - i);
    Stmt& ins = ctx.db.Prepare(MultiRowInsert(rows));
    for (int r = 0; r < rows; ++r) {
      const Event& e = *stored[i + static_cast<std::size_t>(r)];
      const int b = r * 6;
      ins.Bind(b + 1, e.job_id).Bind(b + 2, e.seq).Bind(b + 3, static_cast<int64_t>(e.type));
      ins.Bind(b + 4, ToMicros(e.at)).Bind(b + 5, e.attempt).Bind(b + 6, std::string_view(e.data));
    }
    JT_RETURN_IF_ERROR(ins.Run());
    i += static_cast<std::size_t>(rows);
  }
  ctx.events_written = events.size();
  return Status::Ok();
}

}  // namespace jobtape::store::sqlite
