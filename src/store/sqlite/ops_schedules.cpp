// Cron schedules: upsert, delete, reads, and the due scan that fires them. A
// fire's job (through InsertJob, like any enqueue) and the schedule's new
// next_fire_at/last_fire_at are written in the caller's transaction, so they
// commit together or not at all. The time arithmetic and the misfire policy
// are store/schedule_rules.hpp's.
#include <string>
#include <vector>

#include "store/schedule_rules.hpp"
#include "store/sqlite/ops.hpp"

namespace jobtape::store::sqlite {
namespace {

#define JT_SCHEDULE_COLUMNS                                                               \
  "name, cron, timezone, job, misfire, paused, next_fire_at, last_fire_at, last_job_id, " \
  "created_at, updated_at"

std::optional<TimePoint> OptTime(const Stmt& s, int col) {
  return s.IsNull(col) ? std::nullopt : std::optional<TimePoint>(FromMicros(s.Int(col)));
}
std::optional<int64_t> OptMicros(const std::optional<TimePoint>& t) {
  return t ? std::optional<int64_t>(ToMicros(*t)) : std::nullopt;
}

Result<Schedule> ReadSchedule(const Stmt& s) {
  Schedule out;
  out.spec.name = s.Text(0);
  out.spec.cron = s.Text(1);
  out.spec.timezone = s.Text(2);
  auto job = JobTemplateFromJson(s.TextView(3));
  if (!job.ok()) return job.status();
  out.spec.job = std::move(*job);
  out.spec.misfire = s.Int(4) == 1 ? MisfirePolicy::kRunOnce : MisfirePolicy::kSkip;
  out.spec.paused = s.Int(5) != 0;
  out.next_fire_at = OptTime(s, 6);
  out.last_fire_at = OptTime(s, 7);
  out.last_job_id = s.OptInt(8);
  out.created_at = FromMicros(s.Int(9));
  out.updated_at = FromMicros(s.Int(10));
  return out;
}

// nullopt (not an error) when there is no such schedule.
Result<std::optional<Schedule>> FindSchedule(Db& db, const std::string& name) {
  Stmt& q = db.Prepare("SELECT " JT_SCHEDULE_COLUMNS " FROM schedules WHERE name = ?1");
  StmtScope scope(q);
  q.Bind(1, std::string_view(name));
  auto row = q.Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<Schedule>();
  auto s = ReadSchedule(q);
  if (!s.ok()) return s.status();
  return std::optional<Schedule>(std::move(*s));
}

struct DueRow {
  std::string name, cron, timezone, job;
  MisfirePolicy misfire;
  TimePoint due;
};

Status SetFired(WriteCtx& ctx, const std::string& name, std::optional<TimePoint> next,
                std::optional<TimePoint> fire_at, std::optional<JobId> job_id) {
  // last_* change only when a job was enqueued (a skip keeps them).
  Stmt& up = ctx.db.Prepare(
      "UPDATE schedules SET next_fire_at = ?2, last_fire_at = coalesce(?3, last_fire_at), "
      "last_job_id = coalesce(?4, last_job_id) WHERE name = ?1");
  up.Bind(1, std::string_view(name)).BindOpt(2, OptMicros(next)).BindOpt(3, OptMicros(fire_at));
  up.BindOpt(4, job_id);
  return up.Run();
}

}  // namespace

Result<ScheduleUpsertResult> OpScheduleUpsert(WriteCtx& ctx, const ScheduleUpsertParams& p) {
  const ScheduleSpec& spec = p.spec;
  auto existing = FindSchedule(ctx.db, spec.name);
  if (!existing.ok()) return existing.status();
  ScheduleUpsertResult out;
  out.created = !existing->has_value();
  Schedule& s = out.schedule;
  s.spec = spec;
  s.created_at = p.now;
  s.updated_at = p.now;
  bool keep_next = false;
  if (const auto& old = *existing) {
    s.created_at = old->created_at;
    s.last_fire_at = old->last_fire_at;
    s.last_job_id = old->last_job_id;
    // Same expression, zone and pause state: a pending fire stays pending.
    keep_next = old->spec.cron == spec.cron && old->spec.timezone == spec.timezone &&
                old->spec.paused == spec.paused && old->next_fire_at.has_value();
    if (keep_next) s.next_fire_at = old->next_fire_at;
  }
  if (!keep_next) {
    auto next = ScheduleNextFire(spec.cron, spec.timezone, p.now);
    if (!next.ok()) return next.status();
    s.next_fire_at = *next;
  }
  Stmt& up = ctx.db.Prepare(
      "INSERT INTO schedules(name, cron, timezone, job, misfire, paused, next_fire_at, "
      "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8) "
      "ON CONFLICT(name) DO UPDATE SET cron = excluded.cron, timezone = excluded.timezone, "
      "job = excluded.job, misfire = excluded.misfire, paused = excluded.paused, "
      "next_fire_at = excluded.next_fire_at, updated_at = excluded.updated_at");
  std::string job = JobTemplateToJson(spec.job);
  up.Bind(1, std::string_view(spec.name)).Bind(2, std::string_view(spec.cron));
  up.Bind(3, std::string_view(spec.timezone)).Bind(4, std::string_view(job));
  up.Bind(5, spec.misfire == MisfirePolicy::kRunOnce ? 1 : 0).Bind(6, spec.paused ? 1 : 0);
  up.BindOpt(7, OptMicros(s.next_fire_at)).Bind(8, ToMicros(p.now));
  JT_RETURN_IF_ERROR(up.Run());
  return out;
}

Result<Schedule> OpScheduleDelete(WriteCtx& ctx, const std::string& name) {
  auto existing = FindSchedule(ctx.db, name);
  if (!existing.ok()) return existing.status();
  if (!existing->has_value()) return Status::NotFound("no schedule " + name);
  Stmt& del = ctx.db.Prepare("DELETE FROM schedules WHERE name = ?1");
  del.Bind(1, std::string_view(name));
  JT_RETURN_IF_ERROR(del.Run());
  return std::move(**existing);
}

Result<SchedulesFireDueResult> OpSchedulesFireDue(WriteCtx& ctx, const SchedulesFireDueParams& p) {
  std::vector<DueRow> due;
  {
    Stmt& q = ctx.db.Prepare(
        "SELECT name, cron, timezone, job, misfire, next_fire_at FROM schedules "
        "INDEXED BY schedules_due WHERE paused = 0 AND next_fire_at <= ?1 "
        "ORDER BY next_fire_at, name LIMIT ?2");
    StmtScope scope(q);
    q.Bind(1, ToMicros(p.now)).Bind(2, p.limit + 1);
    JT_RETURN_IF_ERROR(q.ForEach([&](const Stmt& q) {
      due.push_back({q.Text(0), q.Text(1), q.Text(2), q.Text(3),
                     q.Int(4) == 1 ? MisfirePolicy::kRunOnce : MisfirePolicy::kSkip,
                     FromMicros(q.Int(5))});
    }));
  }
  SchedulesFireDueResult out;
  if (static_cast<int>(due.size()) > p.limit) {
    due.pop_back();
    out.more = true;
  }
  for (const DueRow& row : due) {
    auto decision =
        DecideFire(row.cron, row.timezone, row.misfire, row.due, p.now, p.misfire_grace);
    Result<JobSpec> tmpl = decision.ok() && decision->fire_at ? JobTemplateFromJson(row.job)
                                                              : Result<JobSpec>(JobSpec{});
    if (!decision.ok() || !tmpl.ok()) {
      // This schedule cannot fire (its zone left the tz database, or its row
      // is corrupt): stop it rather than fail every other schedule's fires.
      out.failed.push_back(row.name);
      JT_RETURN_IF_ERROR(SetFired(ctx, row.name, std::nullopt, std::nullopt, std::nullopt));
      continue;
    }
    if (!decision->fire_at) {
      if (decision->skipped) ++out.skipped;
      JT_RETURN_IF_ERROR(
          SetFired(ctx, row.name, decision->next_fire_at, std::nullopt, std::nullopt));
      continue;
    }
    TimePoint fire_at = *decision->fire_at;
    auto job = InsertJob(ctx, FireJobSpec(row.name, *tmpl, fire_at), p.now);
    if (!job.ok()) return job.status();
    JT_RETURN_IF_ERROR(SetFired(ctx, row.name, decision->next_fire_at, fire_at, job->id));
    out.fired.push_back({row.name, fire_at, job->id, job->duplicate, decision->catch_up});
  }
  {
    Stmt& q = ctx.db.Prepare(
        "SELECT min(next_fire_at), count(*) FROM schedules INDEXED BY schedules_due "
        "WHERE paused = 0");
    StmtScope scope(q);
    auto row = q.Step();
    if (!row.ok()) return row.status();
    if (*row) {
      out.next_fire_at = OptTime(q, 0);
      out.active = q.Int(1);
    }
  }
  return out;
}

Result<Schedule> OpScheduleGet(Db& db, const std::string& name) {
  auto s = FindSchedule(db, name);
  if (!s.ok()) return s.status();
  if (!s->has_value()) return Status::NotFound("no schedule " + name);
  return std::move(**s);
}

Result<SchedulePage> OpSchedulesList(Db& db, const SchedulesListParams& p) {
  Stmt& q = db.Prepare("SELECT " JT_SCHEDULE_COLUMNS
                       " FROM schedules WHERE name > ?1 ORDER BY name LIMIT ?2");
  StmtScope scope(q);
  q.Bind(1, std::string_view(p.after)).Bind(2, p.limit + 1);
  SchedulePage page;
  Status bad;
  JT_RETURN_IF_ERROR(q.ForEach([&](const Stmt& q) {
    auto s = ReadSchedule(q);
    if (!s.ok()) {
      if (bad.ok()) bad = s.status();
      return;
    }
    page.schedules.push_back(std::move(*s));
  }));
  JT_RETURN_IF_ERROR(bad);
  if (static_cast<int>(page.schedules.size()) > p.limit) {
    page.schedules.pop_back();
    page.next_after = page.schedules.back().spec.name;
  }
  return page;
}

}  // namespace jobtape::store::sqlite
