// Batches: creation with every member in one transaction, the count of
// members that ended (advanced with each member's `final`), the on_complete
// job enqueued by the last one, cancelling what is left, and reading a
// batch's counts per state.
#include "store/batch_rules.hpp"
#include "store/schedule_rules.hpp"
#include "store/sqlite/ops.hpp"

namespace jobtape::store::sqlite {
namespace {

// The batch row and its members' counts per state. The caller provides the
// snapshot (a write transaction, or ReadTxn on a reader).
Result<BatchInfo> LoadBatch(Db& db, BatchId id) {
  BatchInfo b;
  b.id = id;
  {
    Stmt& q = db.Prepare(
        "SELECT total, on_complete, on_complete_job_id, idempotency_key, created_at, finished_at "
        "FROM batches WHERE id = ?1");
    StmtScope scope(q);
    q.Bind(1, id);
    auto row = q.Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::NotFound("no batch " + BatchIdText(id));
    b.total = q.Int(0);
    if (!q.IsNull(1)) {
      auto tmpl = JobTemplateFromJson(q.TextView(1));
      if (!tmpl.ok()) return tmpl.status();
      b.on_complete = std::move(*tmpl);
    }
    b.on_complete_job_id = q.OptInt(2);
    if (!q.IsNull(3)) b.idempotency_key = q.Text(3);
    b.created_at = FromMicros(q.Int(4));
    if (auto f = q.OptInt(5)) b.finished_at = FromMicros(*f);
  }
  Stmt& q = db.Prepare(
      "SELECT state, count(*) FROM jobs WHERE batch = ?1 AND batch IS NOT NULL GROUP BY state");
  StmtScope scope(q);
  q.Bind(1, id);
  JT_RETURN_IF_ERROR(q.ForEach([&](const Stmt& q) {
    const int64_t state = q.Int(0);
    if (state >= 0 && state < kJobStateCount) b.counts[state] = q.Int(1);
  }));
  return b;
}

Result<std::vector<JobId>> MemberIds(Db& db, BatchId id) {
  std::vector<JobId> ids;
  Stmt& q = db.Prepare("SELECT id FROM jobs WHERE batch = ?1 AND batch IS NOT NULL ORDER BY id");
  StmtScope scope(q);
  q.Bind(1, id);
  JT_RETURN_IF_ERROR(q.ForEach([&](const Stmt& q) { ids.push_back(q.Int(0)); }));
  return ids;
}

}  // namespace

Result<BatchCreateResult> OpBatchCreate(WriteCtx& ctx, const BatchCreateParams& p) {
  BatchCreateResult out;
  if (!p.idempotency_key.empty()) {
    Stmt& find = ctx.db.Prepare("SELECT id FROM batches WHERE idempotency_key = ?1");
    std::optional<BatchId> existing;
    {
      StmtScope scope(find);
      find.Bind(1, std::string_view(p.idempotency_key));
      auto row = find.Step();
      if (!row.ok()) return row.status();
      if (*row) existing = find.Int(0);
    }
    if (existing) {
      auto batch = LoadBatch(ctx.db, *existing);
      if (!batch.ok()) return batch.status();
      auto ids = MemberIds(ctx.db, *existing);
      if (!ids.ok()) return ids.status();
      out.batch = std::move(*batch);
      out.job_ids = std::move(*ids);
      out.duplicate = true;
      return out;
    }
  }
  const std::string tmpl = p.on_complete ? JobTemplateToJson(*p.on_complete) : std::string();
  Stmt& ins = ctx.db.Prepare(
      "INSERT INTO batches(total, on_complete, idempotency_key, created_at) VALUES (?1, ?2, ?3, "
      "?4)");
  ins.Bind(1, static_cast<int64_t>(p.jobs.size())).BindTextOrNull(2, tmpl);
  ins.BindTextOrNull(3, p.idempotency_key).Bind(4, ToMicros(p.now));
  JT_RETURN_IF_ERROR(ins.Run());
  const BatchId id = sqlite3_last_insert_rowid(ctx.db.raw());
  const std::string id_text = BatchIdText(id);
  BatchInfo& b = out.batch;
  b.id = id;
  b.total = static_cast<int64_t>(p.jobs.size());
  b.on_complete = p.on_complete;
  b.idempotency_key = p.idempotency_key;
  b.created_at = p.now;
  std::vector<JobSpec> members = p.jobs;
  for (JobSpec& m : members)
    m.batch_id = id_text;
  auto inserted = InsertNewJobs(ctx, members, p.now);
  if (!inserted.ok()) return inserted.status();
  out.job_ids.reserve(inserted->size());
  for (const EnqueuedJob& j : *inserted) {
    out.job_ids.push_back(j.id);
    ++b.counts[static_cast<int>(j.state)];
  }
  // Membership: InsertNewJobs gave the members consecutive ids.
  Stmt& join =
      ctx.db.Prepare("UPDATE jobs SET batch = ?1 WHERE id >= ?2 AND id <= ?3 AND batch_id = ?4");
  join.Bind(1, id).Bind(2, out.job_ids.front()).Bind(3, out.job_ids.back());
  join.Bind(4, std::string_view(id_text));
  JT_RETURN_IF_ERROR(join.Run());
  if (ctx.db.Changes() != static_cast<int64_t>(out.job_ids.size())) {
    return Status::Internal("batch members were not inserted with consecutive ids");
  }
  return out;
}

Status BatchMemberEnded(WriteCtx& ctx, BatchId id, TimePoint now) {
  Stmt& up = ctx.db.Prepare("UPDATE batches SET done = done + 1 WHERE id = ?1");
  up.Bind(1, id);
  JT_RETURN_IF_ERROR(up.Run());
  if (ctx.db.Changes() != 1) {
    return Status::Internal("no batch " + BatchIdText(id) + " for its member");
  }
  ctx.fx.batches.push_back(id);
  int64_t done = 0, total = 0;
  std::string tmpl;
  bool enqueued = false;
  {
    Stmt& q = ctx.db.Prepare(
        "SELECT done, total, on_complete, on_complete_job_id IS NOT NULL FROM batches "
        "WHERE id = ?1");
    StmtScope scope(q);
    q.Bind(1, id);
    auto row = q.Step();
    if (!row.ok()) return row.status();
    done = q.Int(0);
    total = q.Int(1);
    if (!q.IsNull(2)) tmpl = q.Text(2);
    enqueued = q.Int(3) != 0;
  }
  if (done != total) return Status::Ok();  // each member ends once: `total` is reached once
  // The last member: the batch is finished, in this member's transaction.
  std::optional<int64_t> job_id;
  if (!tmpl.empty() && !enqueued) {
    auto spec = JobTemplateFromJson(tmpl);
    if (!spec.ok()) return spec.status();
    auto r = InsertJob(ctx, OnCompleteJobSpec(id, *spec), now);
    if (!r.ok()) return r.status();
    job_id = r->id;
  }
  Stmt& fin = ctx.db.Prepare(
      "UPDATE batches SET finished_at = ?2, on_complete_job_id = coalesce(on_complete_job_id, ?3) "
      "WHERE id = ?1");
  fin.Bind(1, id).Bind(2, ToMicros(now)).BindOpt(3, job_id);
  return fin.Run();
}

Result<BatchCancelResult> OpBatchCancel(WriteCtx& ctx, const BatchCancelParams& p) {
  {
    Stmt& q = ctx.db.Prepare("SELECT 1 FROM batches WHERE id = ?1");
    StmtScope scope(q);
    q.Bind(1, p.id);
    auto row = q.Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::NotFound("no batch " + BatchIdText(p.id));
  }
  std::vector<JobId> open;
  {
    Stmt& q = ctx.db.Prepare(
        "SELECT id FROM jobs WHERE batch = ?1 AND batch IS NOT NULL AND state IN (0, 1, 2) "
        "ORDER BY id");
    StmtScope scope(q);
    q.Bind(1, p.id);
    JT_RETURN_IF_ERROR(q.ForEach([&](const Stmt& q) { open.push_back(q.Int(0)); }));
  }
  BatchCancelResult out;
  CancelParams cp{
      .now = p.now, .grace = p.grace, .reason = p.reason.empty() ? "batch cancelled" : p.reason};
  for (JobId job : open) {
    cp.id = job;
    auto r = OpCancel(ctx, cp);
    if (!r.ok()) return r.status();
    if (!r->changed) continue;
    if (r->cancel_requested) {
      ++out.cancel_requested;
    } else {
      ++out.cancelled;
    }
  }
  return out;
}

Result<BatchInfo> OpBatchGet(Db& db, BatchId id) {
  ReadTxn txn(db);
  return LoadBatch(db, id);
}

}  // namespace jobtape::store::sqlite
