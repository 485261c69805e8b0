#include "http/job_decode.hpp"

#include <string>

#include "http/json_fields.hpp"
#include "json_text/raw_text.hpp"

namespace jobtape::http {
namespace json = boost::json;
using json_text::RawArrayElements;
using json_text::RawMemberValue;
namespace {

Status DecodeBackoff(const json::object& job, Backoff& out) {
  const json::value* v = FindField(job, "backoff");
  if (v == nullptr) return Status::Ok();
  auto object = AsObject(*v);
  if (!object.ok()) return object.status().WithFieldPrefix("backoff");
  const json::object& o = **object;
  Status s = CheckKnownFields(o, {"initial_ms", "max_ms", "multiplier", "jitter"});
  if (s.ok()) s = ReadMillis(o, "initial_ms", out.initial);
  if (s.ok()) s = ReadMillis(o, "max_ms", out.max);
  if (s.ok()) s = ReadDouble(o, "multiplier", out.multiplier);
  if (s.ok()) s = ReadDouble(o, "jitter", out.jitter);
  return s.ok() ? s : s.WithFieldPrefix("backoff");
}

Status DecodeSchedule(const json::object& o, TimePoint now, JobSpec& spec) {
  std::optional<TimePoint> run_at;
  JT_RETURN_IF_ERROR(ReadTime(o, "run_at", run_at));
  std::optional<Duration> delay;
  JT_RETURN_IF_ERROR(ReadOptionalMillis(o, "delay_ms", delay));
  if (run_at && delay) {
    return Status::InvalidArgument("give run_at or delay_ms, not both", "delay_ms");
  }
  if (delay) run_at = now + *delay;
  spec.run_at = run_at;
  return Status::Ok();
}

}  // namespace

Result<JobSpec> DecodeJobSpec(const json::value& value, std::string_view raw, TimePoint now) {
  auto object = AsObject(value);
  if (!object.ok()) return object.status();
  const json::object& o = **object;
  JT_RETURN_IF_ERROR(
      CheckKnownFields(o, {"kind", "queue", "payload", "priority", "run_at", "delay_ms",
                           "max_attempts", "backoff", "timeout_ms", "concurrency_key",
                           "concurrency_limit", "idempotency_key", "batch_id", "tags"}));
  JobSpec spec;
  JT_RETURN_IF_ERROR(ReadRequiredString(o, "kind", spec.kind));
  JT_RETURN_IF_ERROR(ReadString(o, "queue", spec.queue));
  if (o.contains("payload")) {
    std::optional<std::string_view> text = RawMemberValue(raw, "payload");
    if (!text) return Status::Internal("payload present but not found in the request text");
    spec.payload = std::string(*text);
  }
  JT_RETURN_IF_ERROR(ReadInt(o, "priority", spec.priority));
  JT_RETURN_IF_ERROR(DecodeSchedule(o, now, spec));
  JT_RETURN_IF_ERROR(ReadInt(o, "max_attempts", spec.max_attempts));
  JT_RETURN_IF_ERROR(DecodeBackoff(o, spec.backoff));
  JT_RETURN_IF_ERROR(ReadOptionalMillis(o, "timeout_ms", spec.timeout));
  JT_RETURN_IF_ERROR(ReadString(o, "concurrency_key", spec.concurrency_key));
  JT_RETURN_IF_ERROR(ReadInt(o, "concurrency_limit", spec.concurrency_limit));
  JT_RETURN_IF_ERROR(ReadString(o, "idempotency_key", spec.idempotency_key));
  JT_RETURN_IF_ERROR(ReadString(o, "batch_id", spec.batch_id));
  JT_RETURN_IF_ERROR(ReadStringArray(o, "tags", spec.tags));
  return spec;
}

SubmittedFields FieldsPresent(const json::value& value) {
  SubmittedFields f;
  if (const json::object* o = value.if_object()) {
    f.queue = o->contains("queue");
    f.max_attempts = o->contains("max_attempts");
    f.backoff = o->contains("backoff");
  }
  return f;
}

namespace {

// Decodes the array `jobs` (`jobs_text` its exact text inside the body) into
// `out`; errors carry "jobs[i]." paths.
Status DecodeJobArray(const json::value& jobs, std::optional<std::string_view> jobs_text,
                      TimePoint now, std::size_t max_jobs, Submission& out) {
  if (!jobs.is_array()) return Status::InvalidArgument("must be an array of jobs", "jobs");
  const json::array& a = jobs.get_array();
  if (a.empty()) return Status::InvalidArgument("must hold at least one job", "jobs");
  if (a.size() > max_jobs) {
    return Status::LimitExceeded(
        "batch of " + std::to_string(a.size()) + " jobs, limit " + std::to_string(max_jobs),
        "jobs");
  }
  std::optional<std::vector<std::string_view>> texts;
  if (jobs_text) texts = RawArrayElements(*jobs_text);
  if (!texts || texts->size() != a.size()) {
    return Status::Internal("jobs array not found in the request text");
  }
  out.jobs.reserve(a.size());
  out.fields.reserve(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto spec = DecodeJobSpec(a[i], (*texts)[i], now);
    if (!spec.ok()) return spec.status().WithFieldPrefix("jobs[" + std::to_string(i) + "]");
    out.jobs.push_back(std::move(spec).value());
    out.fields.push_back(FieldsPresent(a[i]));
  }
  return Status::Ok();
}

}  // namespace

Result<Submission> DecodeSubmission(const json::value& value, std::string_view raw, TimePoint now,
                                    std::size_t max_batch) {
  auto object = AsObject(value);
  if (!object.ok()) return object.status();
  const json::object& o = **object;
  Submission submission;
  if (!o.contains("jobs")) {
    auto spec = DecodeJobSpec(value, raw, now);
    if (!spec.ok()) return spec.status();
    submission.jobs.push_back(std::move(spec).value());
    submission.fields.push_back(FieldsPresent(value));
    return submission;
  }
  submission.batch = true;
  JT_RETURN_IF_ERROR(CheckKnownFields(o, {"jobs"}));
  JT_RETURN_IF_ERROR(
      DecodeJobArray(o.at("jobs"), RawMemberValue(raw, "jobs"), now, max_batch, submission));
  return submission;
}

Result<BatchSubmission> DecodeBatchSubmission(const json::value& value, std::string_view raw,
                                              TimePoint now, std::size_t max_members) {
  auto object = AsObject(value);
  if (!object.ok()) return object.status();
  const json::object& o = **object;
  JT_RETURN_IF_ERROR(CheckKnownFields(o, {"jobs", "on_complete", "idempotency_key"}));
  BatchSubmission out;
  const json::value* jobs = o.if_contains("jobs");
  if (jobs == nullptr) return Status::InvalidArgument("required", "jobs");
  JT_RETURN_IF_ERROR(
      DecodeJobArray(*jobs, RawMemberValue(raw, "jobs"), now, max_members, out.members));
  if (const json::value* cb = o.if_contains("on_complete"); cb != nullptr && !cb->is_null()) {
    std::optional<std::string_view> text = RawMemberValue(raw, "on_complete");
    if (!text) return Status::Internal("on_complete not found in the request text");
    auto spec = DecodeJobSpec(*cb, *text, now);
    if (!spec.ok()) return spec.status().WithFieldPrefix("on_complete");
    out.on_complete = std::move(spec).value();
    out.on_complete_fields = FieldsPresent(*cb);
  }
  JT_RETURN_IF_ERROR(ReadString(o, "idempotency_key", out.idempotency_key));
  return out;
}

}  // namespace jobtape::http
