#include "store/rules.hpp"

#include <sys/random.h>

#include <boost/json.hpp>

namespace jobtape::store {
namespace json = boost::json;

// ---- validation ----

bool IsValidJson(std::string_view text) {
  json::error_code ec;
  json::parse_options opts;
  opts.max_depth = 64;
  json::parse(text, ec, json::storage_ptr(), opts);
  return !ec;
}

bool IsJsonObject(std::string_view text) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  return !ec && v.is_object();
}

Status ValidateEnqueue(const EnqueueParams& p, const Limits& limits) {
  if (p.jobs.empty()) return Status::InvalidArgument("no jobs", "jobs");
  if (p.jobs.size() > limits.max_batch) {
    return Status::LimitExceeded("batch of " + std::to_string(p.jobs.size()) + " jobs, limit " +
                                     std::to_string(limits.max_batch),
                                 "jobs");
  }
  for (std::size_t i = 0; i < p.jobs.size(); ++i) {
    const JobSpec& spec = p.jobs[i];
    Status s = ValidateJobSpec(spec, limits, p.now);
    if (s.ok() && !IsValidJson(spec.payload)) {
      s = Status::InvalidArgument("not valid JSON", "payload");
    }
    if (!s.ok()) {
      return p.jobs.size() == 1 ? s : s.WithFieldPrefix("jobs[" + std::to_string(i) + "]");
    }
  }
  return Status::Ok();
}

Status ValidateJobTemplate(const JobSpec& job, const Limits& limits, TimePoint now,
                           std::string_view set_by) {
  const std::string set = "set by " + std::string(set_by) + "; must be empty";
  if (job.run_at) return Status::InvalidArgument(set, "run_at");
  if (!job.idempotency_key.empty()) return Status::InvalidArgument(set, "idempotency_key");
  if (job.retry_of) return Status::InvalidArgument("must be empty", "retry_of");
  if (job.tags.size() >= kMaxTags) {
    return Status::InvalidArgument(
        "at most " + std::to_string(kMaxTags - 1) + " tags (" + std::string(set_by) + " adds one)",
        "tags");
  }
  Status v = ValidateJobSpec(job, limits, now);
  if (v.ok() && !IsValidJson(job.payload)) v = Status::InvalidArgument("not valid JSON", "payload");
  return v;
}

JobSpec JobFromTemplate(const JobSpec& tmpl, std::string tag, std::string_view key_suffix) {
  JobSpec spec = tmpl;
  spec.idempotency_key = tag + ":";
  spec.idempotency_key += key_suffix;
  spec.tags.push_back(std::move(tag));
  spec.run_at.reset();
  spec.retry_of.reset();
  spec.batch_id.clear();
  return spec;
}

Status ValidateClaim(const ClaimParams& p, const Limits& limits) {
  if (p.queues.empty()) return Status::InvalidArgument("at least one queue", "queues");
  if (p.queues.size() > kMaxClaimQueues) {
    return Status::InvalidArgument("at most " + std::to_string(kMaxClaimQueues) + " queues",
                                   "queues");
  }
  for (std::size_t i = 0; i < p.queues.size(); ++i) {
    std::string field = "queues[" + std::to_string(i) + "]";
    if (!IsValidName(p.queues[i])) {
      return Status::InvalidArgument("must match [A-Za-z0-9_.:-]{1,128}", field);
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (p.queues[j] == p.queues[i]) return Status::InvalidArgument("named twice", field);
    }
  }
  if (p.max < 1 || static_cast<std::size_t>(p.max) > limits.max_claim) {
    return Status::InvalidArgument("must be between 1 and " + std::to_string(limits.max_claim),
                                   "max");
  }
  if (!p.worker_id.empty() && !IsValidName(p.worker_id)) {
    return Status::InvalidArgument("must match [A-Za-z0-9_.:-]{1,128}", "worker_id");
  }
  return ValidateLeaseTtl(p.lease_ttl);
}

Status ValidateAppend(const AppendParams& p, const Limits& limits) {
  if (p.events.empty()) return Status::InvalidArgument("no events", "events");
  if (p.events.size() > limits.max_events_per_append) {
    return Status::LimitExceeded("too many events in one append", "events");
  }
  for (std::size_t i = 0; i < p.events.size(); ++i) {
    Status s = ValidateNewEvent(p.events[i], limits);
    if (s.ok() && !IsJsonObject(p.events[i].data)) {
      s = Status::InvalidArgument("must be a JSON object", "data");
    }
    if (!s.ok()) return s.WithFieldPrefix("events[" + std::to_string(i) + "]");
  }
  return Status::Ok();
}

Status ValidateFinish(const FinishParams& p, const Limits& limits) {
  const Outcome& o = p.outcome;
  if (!o.result.empty()) {
    if (o.result.size() > limits.max_payload_bytes) {
      return Status::PayloadTooLarge("result larger than the payload limit", "result");
    }
    if (!IsValidJson(o.result)) return Status::InvalidArgument("not valid JSON", "result");
  }
  if (o.error_code.size() > kMaxNameLength) {
    return Status::InvalidArgument("longer than 128 bytes", "error.code");
  }
  if (o.error_message.size() > limits.max_event_bytes) {
    return Status::PayloadTooLarge("error message too long", "error.message");
  }
  if (o.retry_delay && (*o.retry_delay < Duration::zero() || *o.retry_delay > kMaxBackoff)) {
    return Status::InvalidArgument("must be between 0 and 7 days", "retry_delay_ms");
  }
  return Status::Ok();
}

Status ValidateCancel(const CancelParams& p) {
  if (p.grace < Duration::zero() || p.grace > kMaxCancelGrace) {
    return Status::InvalidArgument("must be between 0 and 1 hour", "grace_ms");
  }
  if (p.reason.size() > kMaxKeyLength) {
    return Status::InvalidArgument("longer than 256 bytes", "reason");
  }
  return Status::Ok();
}

Status ValidateList(const ListParams& p) {
  if (p.limit < 1 || p.limit > 1000) {
    return Status::InvalidArgument("must be between 1 and 1000", "limit");
  }
  if (p.queue && !IsValidName(*p.queue)) return Status::InvalidArgument("bad name", "queue");
  if (p.kind && !IsValidName(*p.kind)) return Status::InvalidArgument("bad name", "kind");
  if (p.batch && *p.batch < 1) return Status::InvalidArgument("must be a batch id", "batch");
  return Status::Ok();
}

Status ValidateTapeRead(const TapeReadParams& p) {
  if (p.limit < 1 || p.limit > 10000) {
    return Status::InvalidArgument("must be between 1 and 10000", "limit");
  }
  if (p.after < 0) return Status::InvalidArgument("must be >= 0", "after");
  return Status::Ok();
}

Status ValidateQueueUpdate(const QueueUpdateParams& p) {
  if (!IsValidName(p.name)) return Status::InvalidArgument("bad queue name", "name");
  if (p.max_concurrent && *p.max_concurrent &&
      (**p.max_concurrent < 0 || **p.max_concurrent > 1'000'000)) {
    return Status::InvalidArgument("must be between 0 and 1000000", "max_concurrent");
  }
  return Status::Ok();
}

// ---- attempt end ----

std::string ErrorJson(std::string_view code, std::string_view message) {
  return json::serialize(json::object{{"code", code}, {"message", message}});
}

AttemptEnd DecideAttemptEnd(const AttemptView& view, const Outcome& outcome, TimePoint now,
                            double unit_random) {
  AttemptEnd end;
  switch (outcome.kind) {
    case Outcome::Kind::kSucceeded: {
      end.state = JobState::kSucceeded;
      end.result = outcome.result;
      // The result is validated JSON: embed it as is (see the note on hot paths below).
      end.event_data = R"({"state":"succeeded","attempt":)" + std::to_string(view.attempt);
      if (!outcome.result.empty()) {
        end.event_data += R"(,"result":)";
        end.event_data += outcome.result;
      }
      end.event_data += '}';
      return end;
    }
    case Outcome::Kind::kCancelled:
      end.state = JobState::kCancelled;
      end.event_data = json::serialize(
          json::object{{"state", "cancelled"}, {"attempt", view.attempt}, {"reason", "worker"}});
      return end;
    case Outcome::Kind::kFailed:
      break;
  }
  end.error = ErrorJson(outcome.error_code, outcome.error_message);
  json::value error = json::parse(end.error);
  if (view.cancel_requested) {
    end.state = JobState::kCancelled;
    end.event_data = json::serialize(json::object{{"state", "cancelled"},
                                                  {"attempt", view.attempt},
                                                  {"reason", "cancel requested"},
                                                  {"error", error}});
    return end;
  }
  if (outcome.retryable && view.attempt < view.max_attempts) {
    Duration delay =
        outcome.retry_delay.value_or(BackoffDelay(view.backoff, view.attempt, unit_random));
    end.run_at = now + delay;
    end.state = delay > Duration::zero() ? JobState::kScheduled : JobState::kQueued;
    end.event = EventType::kAttemptFailed;
    end.event_data = json::serialize(json::object{{"attempt", view.attempt},
                                                  {"error", error},
                                                  {"retry_at", FormatTime(end.run_at)},
                                                  {"retry_at_ms", ToMillis(end.run_at)}});
    return end;
  }
  end.state = JobState::kFailed;
  end.event_data = json::serialize(json::object{{"state", "failed"},
                                                {"attempt", view.attempt},
                                                {"error", error},
                                                {"retryable", outcome.retryable}});
  return end;
}

// ---- event data ----

// The hot-path event data below is built by concatenation: every string in it
// is a validated name ([A-Za-z0-9_.:-]) and every other value a number or
// already-validated JSON, so nothing needs escaping. Anything carrying free
// text goes through Boost.JSON.

std::string CreatedData(std::string_view queue, std::string_view kind) {
  std::string out;
  out.reserve(32 + queue.size() + kind.size());
  out += R"({"queue":")";
  out += queue;
  out += R"(","kind":")";
  out += kind;
  out += R"("})";
  return out;
}

std::string CreatedData(const JobSpec& spec) {
  return CreatedData(spec.queue, spec.kind);
}

std::string StartedData(int attempt, std::string_view worker_id, TimePoint lease_expires_at) {
  std::string out;
  out.reserve(64 + worker_id.size());
  out += R"({"attempt":)";
  out += std::to_string(attempt);
  out += R"(,"worker":")";
  out += worker_id;
  out += R"(","lease_expires_at_ms":)";
  out += std::to_string(ToMillis(lease_expires_at));
  out += '}';
  return out;
}

std::string CancelRequestedData(std::string_view reason, Duration grace) {
  return json::serialize(json::object{
      {"reason", reason},
      {"grace_ms", std::chrono::duration_cast<std::chrono::milliseconds>(grace).count()}});
}

std::string CancelledFinalData(std::string_view reason) {
  return json::serialize(json::object{{"state", "cancelled"}, {"reason", reason}});
}

std::vector<std::string> NewLeaseTokens(std::size_t n) {
  std::vector<unsigned char> bytes(16 * n);
  std::size_t got = 0;
  while (got < bytes.size()) {
    // getrandom(2) blocks only before the kernel's pool is first seeded.
    ssize_t r = getrandom(bytes.data() + got, std::min<std::size_t>(bytes.size() - got, 256), 0);
    if (r > 0) got += static_cast<std::size_t>(r);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::vector<std::string> tokens(n, std::string(32, '0'));
  for (std::size_t t = 0; t < n; ++t) {
    for (std::size_t i = 0; i < 16; ++i) {
      unsigned char b = bytes[16 * t + i];
      tokens[t][2 * i] = kHex[b >> 4];
      tokens[t][2 * i + 1] = kHex[b & 15];
    }
  }
  return tokens;
}

bool TokensEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

}  // namespace jobtape::store
