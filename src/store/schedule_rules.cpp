#include "store/schedule_rules.hpp"

#include <boost/json.hpp>

#include "store/cron.hpp"
#include "store/rules.hpp"

namespace jobtape::store {
namespace json = boost::json;

// ---- validation ----

Status ValidateScheduleName(std::string_view name) {
  if (!IsValidName(name) || name.size() > kMaxScheduleNameLength) {
    return Status::InvalidArgument(
        "must match [A-Za-z0-9_.:-]{1," + std::to_string(kMaxScheduleNameLength) + "}", "name");
  }
  return Status::Ok();
}

Status ValidateScheduleUpsert(const ScheduleUpsertParams& p, const Limits& limits) {
  const ScheduleSpec& s = p.spec;
  JT_RETURN_IF_ERROR(ValidateScheduleName(s.name));
  auto expr = ParseCron(s.cron);
  if (!expr.ok()) return Status::InvalidArgument(expr.status().message(), "cron");
  if (s.timezone.empty()) return Status::InvalidArgument("required", "timezone");
  Status tz = ValidateTimeZone(s.timezone);
  if (!tz.ok()) {
    return tz.code() == ErrorCode::kInvalidArgument
               ? Status::InvalidArgument(tz.message(), "timezone")
               : tz;
  }
  if (s.misfire != MisfirePolicy::kSkip && s.misfire != MisfirePolicy::kRunOnce) {
    return Status::InvalidArgument("must be skip or run_once", "misfire");
  }
  Status v = ValidateJobTemplate(s.job, limits, p.now, "each fire");
  if (!v.ok()) return v.WithFieldPrefix("job");
  return Status::Ok();
}

Status ValidateSchedulesList(const SchedulesListParams& p) {
  if (p.limit < 1 || p.limit > 1000) {
    return Status::InvalidArgument("must be between 1 and 1000", "limit");
  }
  if (p.after.size() > kMaxNameLength) return Status::InvalidArgument("too long", "after");
  return Status::Ok();
}

Status ValidateSchedulesFireDue(const SchedulesFireDueParams& p) {
  if (p.limit < 1 || p.limit > 1000) {
    return Status::InvalidArgument("must be between 1 and 1000", "limit");
  }
  if (p.misfire_grace < Duration::zero() || p.misfire_grace > kMaxMisfireGrace) {
    return Status::InvalidArgument("must be between 0 and 1 day", "misfire_grace");
  }
  return Status::Ok();
}

// ---- the stored template ----

std::string JobTemplateToJson(const JobSpec& spec) {
  json::object o;
  o["kind"] = spec.kind;
  o["queue"] = spec.queue;
  o["payload"] = spec.payload;  // as a string: kept byte for byte
  o["priority"] = spec.priority;
  o["max_attempts"] = spec.max_attempts;
  o["backoff_initial_us"] = spec.backoff.initial.count();
  o["backoff_max_us"] = spec.backoff.max.count();
  o["backoff_multiplier"] = spec.backoff.multiplier;
  o["backoff_jitter"] = spec.backoff.jitter;
  if (spec.timeout) o["timeout_us"] = spec.timeout->count();
  if (!spec.concurrency_key.empty()) o["concurrency_key"] = spec.concurrency_key;
  o["concurrency_limit"] = spec.concurrency_limit;
  json::array tags;
  for (const auto& t : spec.tags)
    tags.emplace_back(t);
  o["tags"] = std::move(tags);
  return json::serialize(o);
}

Result<JobSpec> JobTemplateFromJson(std::string_view text) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return Status::Internal("stored job template is not a JSON object");
  const json::object& o = v.get_object();
  try {
    JobSpec spec;
    spec.kind = json::value_to<std::string>(o.at("kind"));
    spec.queue = json::value_to<std::string>(o.at("queue"));
    spec.payload = json::value_to<std::string>(o.at("payload"));
    spec.priority = json::value_to<int>(o.at("priority"));
    spec.max_attempts = json::value_to<int>(o.at("max_attempts"));
    spec.backoff.initial = Duration(json::value_to<int64_t>(o.at("backoff_initial_us")));
    spec.backoff.max = Duration(json::value_to<int64_t>(o.at("backoff_max_us")));
    spec.backoff.multiplier = o.at("backoff_multiplier").to_number<double>();
    spec.backoff.jitter = o.at("backoff_jitter").to_number<double>();
    if (const json::value* t = o.if_contains("timeout_us")) {
      spec.timeout = Duration(json::value_to<int64_t>(*t));
    }
    if (const json::value* k = o.if_contains("concurrency_key")) {
      spec.concurrency_key = json::value_to<std::string>(*k);
    }
    spec.concurrency_limit = json::value_to<int>(o.at("concurrency_limit"));
    // "batch_id" in templates stored before only batches could set it is
    // ignored: a fire never joins a batch.
    spec.tags = json::value_to<std::vector<std::string>>(o.at("tags"));
    return spec;
  } catch (const std::exception& e) {
    return Status::Internal(std::string("stored job template is malformed: ") + e.what());
  }
}

// ---- firing ----

Result<std::optional<TimePoint>> ScheduleNextFire(const std::string& cron, const std::string& tz,
                                                  TimePoint after) {
  auto expr = ParseCron(cron);
  if (!expr.ok()) return expr.status();
  return NextFire(*expr, tz, after);
}

Result<FireDecision> DecideFire(const std::string& cron, const std::string& tz,
                                MisfirePolicy policy, TimePoint due, TimePoint now,
                                Duration grace) {
  auto expr = ParseCron(cron);
  if (!expr.ok()) return expr.status();
  FireDecision d;
  auto next = NextFire(*expr, tz, now);
  if (!next.ok()) return next.status();
  d.next_fire_at = *next;
  if (due > now) return d;  // not due: nothing fires (callers only pass due schedules)
  const TimePoint window_start = now - grace;
  if (due >= window_start) {
    d.fire_at = due;
    return d;
  }
  // `due` was missed; is there a later fire within the window?
  auto on_time = NextFire(*expr, tz, window_start - Duration(1));
  if (!on_time.ok()) return on_time.status();
  if (*on_time && **on_time <= now) {
    d.fire_at = **on_time;
    return d;
  }
  if (policy == MisfirePolicy::kRunOnce) {
    d.fire_at = due;
    d.catch_up = true;
  } else {
    d.skipped = true;
  }
  return d;
}

JobSpec FireJobSpec(std::string_view name, const JobSpec& tmpl, TimePoint fire_at) {
  std::string tag(kScheduleTagPrefix);
  tag += name;
  return JobFromTemplate(tmpl, std::move(tag), std::to_string(ToMicros(fire_at)));
}

}  // namespace jobtape::store
