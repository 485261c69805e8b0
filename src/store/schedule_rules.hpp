// Store-independent rules of cron schedules, shared by every Store so they
// cannot drift apart: validation of a schedule (R9), the stored form of its
// job template, which fire a due schedule acts on under its misfire policy,
// and the job a fire enqueues.
//
// Thread-safety: pure functions (the tz database is loaded once, thread-safely;
// see store/cron.hpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/job.hpp"
#include "core/limits.hpp"
#include "core/status.hpp"
#include "store/store.hpp"

namespace jobtape::store {

// Every job a schedule enqueues carries the tag kScheduleTagPrefix + name. A
// tag is a name of at most kMaxNameLength bytes, so schedule names are shorter.
inline constexpr std::string_view kScheduleTagPrefix = "schedule:";
inline constexpr std::size_t kMaxScheduleNameLength = kMaxNameLength - kScheduleTagPrefix.size();
// The upper bound of SchedulesFireDueParams::misfire_grace: beyond a day,
// "on time" stops meaning anything.
inline constexpr Duration kMaxMisfireGrace = std::chrono::hours(24);

// ---- validation (runs before any transaction; an error writes nothing) ----
Status ValidateScheduleName(std::string_view name);
// Name, cron expression, zone, template (as ValidateEnqueue would, plus the
// fields a schedule sets itself: run_at, idempotency_key, retry_of must be
// empty and one tag must stay free). Errors name the field: "cron",
// "timezone", "job.priority", ...
Status ValidateScheduleUpsert(const ScheduleUpsertParams& p, const Limits& limits);
Status ValidateSchedulesList(const SchedulesListParams& p);
Status ValidateSchedulesFireDue(const SchedulesFireDueParams& p);

// ---- the stored template ----
// A JSON object of the template's fields (the payload kept verbatim as a JSON
// string). JSON rather than columns: the template is read only when firing and
// never queried, and a new JobSpec field then needs no migration.
std::string JobTemplateToJson(const JobSpec& spec);
// kInternal if `text` is not what JobTemplateToJson wrote.
Result<JobSpec> JobTemplateFromJson(std::string_view text);

// ---- firing ----

// The first fire of `cron` in zone `tz` strictly after `after`; nullopt if it
// never fires again. Errors: those of ParseCron / NextFire.
Result<std::optional<TimePoint>> ScheduleNextFire(const std::string& cron, const std::string& tz,
                                                  TimePoint after);

struct FireDecision {
  std::optional<TimePoint> fire_at;       // enqueue one job standing for this fire; absent = none
  bool catch_up = false;                  // fire_at is a missed fire (kRunOnce)
  bool skipped = false;                   // missed fires were dropped and nothing fires (kSkip)
  std::optional<TimePoint> next_fire_at;  // first fire strictly after now
};

// What a schedule due at `due` (<= now) does at `now`. A fire is on time when
// it lies within `grace` of now (due >= now - grace, or a later fire in
// [now - grace, now]); it fires under either policy, and any earlier missed
// fires are folded into it. Without an on-time fire, kSkip fires nothing and
// kRunOnce fires `due` (the first missed fire) once. Either way the schedule
// moves on to its first fire after now, so one call enqueues at most one job
// per schedule.
Result<FireDecision> DecideFire(const std::string& cron, const std::string& tz,
                                MisfirePolicy policy, TimePoint due, TimePoint now, Duration grace);

// The job fire `fire_at` of schedule `name` enqueues: the template with the
// tag "schedule:<name>" and the idempotency key "schedule:<name>:<fire µs>".
JobSpec FireJobSpec(std::string_view name, const JobSpec& tmpl, TimePoint fire_at);

}  // namespace jobtape::store
