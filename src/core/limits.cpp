#include "core/limits.hpp"

#include <string>

namespace jobtape {
namespace {

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == ':' || c == '-';
}

Status CheckName(std::string_view value, const char* field) {
  if (!IsValidName(value)) {
    return Status::InvalidArgument(std::string("must match [A-Za-z0-9_.:-]{1,128}, got '") +
                                       std::string(value.substr(0, 64)) +
                                       (value.size() > 64 ? "...'" : "'"),
                                   field);
  }
  return Status::Ok();
}

Status CheckKey(std::string_view value, const char* field) {
  if (value.size() > kMaxKeyLength) {
    return Status::InvalidArgument("longer than " + std::to_string(kMaxKeyLength) + " bytes",
                                   field);
  }
  return Status::Ok();
}

}  // namespace

bool IsValidName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  for (char c : name) {
    if (!IsNameChar(c)) return false;
  }
  return true;
}

Status ValidateJobSpec(const JobSpec& spec, const Limits& limits, TimePoint now) {
  JT_RETURN_IF_ERROR(CheckName(spec.kind, "kind"));
  JT_RETURN_IF_ERROR(CheckName(spec.queue, "queue"));
  if (spec.payload.size() > limits.max_payload_bytes) {
    return Status::PayloadTooLarge("payload is " + std::to_string(spec.payload.size()) +
                                       " bytes, limit " + std::to_string(limits.max_payload_bytes),
                                   "payload");
  }
  if (spec.priority < kMinPriority || spec.priority > kMaxPriority) {
    return Status::InvalidArgument("must be between -100 and 100", "priority");
  }
  if (spec.max_attempts < kMinAttempts || spec.max_attempts > kMaxAttempts) {
    return Status::InvalidArgument("must be between 1 and 100", "max_attempts");
  }
  if (spec.run_at && *spec.run_at > now + kMaxScheduleAhead) {
    return Status::InvalidArgument("more than ten years ahead", "run_at");
  }
  if (spec.timeout && (*spec.timeout <= Duration::zero() || *spec.timeout > kMaxTimeout)) {
    return Status::InvalidArgument("must be between 1 ms and 7 days", "timeout_ms");
  }
  const Backoff& b = spec.backoff;
  if (b.initial < Duration::zero() || b.max < b.initial || b.max > kMaxBackoff) {
    return Status::InvalidArgument("need 0 <= initial <= max <= 7 days", "backoff");
  }
  if (!(b.multiplier >= 1.0 && b.multiplier <= 100.0)) {
    return Status::InvalidArgument("multiplier must be between 1 and 100", "backoff.multiplier");
  }
  if (!(b.jitter >= 0.0 && b.jitter <= 1.0)) {
    return Status::InvalidArgument("jitter must be between 0 and 1", "backoff.jitter");
  }
  if (!spec.concurrency_key.empty()) {
    JT_RETURN_IF_ERROR(CheckKey(spec.concurrency_key, "concurrency_key"));
  }
  if (spec.concurrency_limit < 1 || spec.concurrency_limit > kMaxConcurrencyLimit) {
    return Status::InvalidArgument("must be between 1 and 10000", "concurrency_limit");
  }
  JT_RETURN_IF_ERROR(CheckKey(spec.idempotency_key, "idempotency_key"));
  // The keys the server gives the jobs it enqueues itself (a schedule's fires,
  // a batch's on_complete); a client's job holding one could stand in for them.
  for (std::string_view reserved : {"schedule:", "batch:"}) {
    if (spec.idempotency_key.starts_with(reserved)) {
      return Status::InvalidArgument(
          "keys starting with '" + std::string(reserved) + "' are the server's", "idempotency_key");
    }
  }
  // Only the server sets it, on the members of a batch it creates.
  if (!spec.batch_id.empty()) {
    return Status::InvalidArgument("set by the server on the members of a batch (POST /v1/batches)",
                                   "batch_id");
  }
  if (spec.tags.size() > kMaxTags) {
    return Status::InvalidArgument("at most 32 tags", "tags");
  }
  for (std::size_t i = 0; i < spec.tags.size(); ++i) {
    if (!IsValidName(spec.tags[i])) {
      return Status::InvalidArgument("must match [A-Za-z0-9_.:-]{1,128}",
                                     "tags[" + std::to_string(i) + "]");
    }
  }
  return Status::Ok();
}

Status ValidateNewEvent(const NewEvent& event, const Limits& limits) {
  if (!IsWorkerEventType(event.type)) {
    return Status::InvalidArgument("an attempt may append only progress and log events", "type");
  }
  if (event.data.size() > limits.max_event_bytes) {
    return Status::PayloadTooLarge("event data is " + std::to_string(event.data.size()) +
                                       " bytes, limit " + std::to_string(limits.max_event_bytes),
                                   "data");
  }
  return Status::Ok();
}

Status ValidateLeaseTtl(Duration ttl) {
  if (ttl < kMinLeaseTtl || ttl > kMaxLeaseTtl) {
    return Status::InvalidArgument("lease must be between 1 s and 1 h", "lease_ms");
  }
  return Status::Ok();
}

}  // namespace jobtape
