#include <cctype>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "client/wire.hpp"

namespace jobtape::client {
namespace json = boost::json;
namespace {

// Builds one JSON object's text, member by member, with raw JSON splicing.
class ObjectText {
 public:
  ObjectText& Raw(std::string_view key, std::string_view json_text) {
    Key(key);
    out_.append(json_text);
    return *this;
  }
  ObjectText& Str(std::string_view key, std::string_view value) {
    Key(key);
    out_ += json::serialize(json::string_view(value.data(), value.size()));
    return *this;
  }
  ObjectText& Int(std::string_view key, int64_t value) {
    Key(key);
    out_ += std::to_string(value);
    return *this;
  }
  ObjectText& Double(std::string_view key, double value) {
    Key(key);
    out_ += json::serialize(json::value(value));
    return *this;
  }
  ObjectText& Bool(std::string_view key, bool value) {
    Key(key);
    out_ += value ? "true" : "false";
    return *this;
  }
  ObjectText& Null(std::string_view key) {
    Key(key);
    out_ += "null";
    return *this;
  }
  std::string Done() {
    out_.push_back('}');
    return std::move(out_);
  }

 private:
  void Key(std::string_view key) {
    if (out_.size() > 1) out_.push_back(',');
    out_ += json::serialize(json::string_view(key.data(), key.size()));
    out_.push_back(':');
  }
  std::string out_ = "{";
};

// The text itself, trimmed, if it is exactly one well-formed JSON value.
Result<std::string_view> CheckJson(std::string_view text, std::string_view field) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = 1000;  // the server enforces its own limit and says so
  json::parse(json::string_view(text.data(), text.size()), ec, {}, options);
  if (ec) {
    return Status::InvalidArgument("not valid JSON: " + ec.message(), std::string(field));
  }
  return text;
}

int64_t Ms(std::chrono::milliseconds d) {
  return d.count();
}

int64_t Ms(Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

Result<std::string> SpecText(const SubmitSpec& s) {
  ObjectText o;
  o.Str("kind", s.kind);
  if (s.queue) o.Str("queue", *s.queue);
  if (s.payload) {
    auto text = CheckJson(*s.payload, "payload");
    if (!text.ok()) return text.status();
    o.Raw("payload", *text);
  }
  if (s.priority) o.Int("priority", *s.priority);
  if (s.delay) o.Int("delay_ms", Ms(*s.delay));
  if (s.run_at) o.Str("run_at", FormatTime(*s.run_at));
  if (s.max_attempts) o.Int("max_attempts", *s.max_attempts);
  if (s.backoff) {
    ObjectText b;
    b.Int("initial_ms", Ms(s.backoff->initial))
        .Int("max_ms", Ms(s.backoff->max))
        .Double("multiplier", s.backoff->multiplier)
        .Double("jitter", s.backoff->jitter);
    o.Raw("backoff", b.Done());
  }
  if (s.timeout) o.Int("timeout_ms", Ms(*s.timeout));
  if (s.concurrency_key) o.Str("concurrency_key", *s.concurrency_key);
  if (s.concurrency_limit) o.Int("concurrency_limit", *s.concurrency_limit);
  if (s.idempotency_key) o.Str("idempotency_key", *s.idempotency_key);
  if (!s.tags.empty()) {
    json::array tags;
    for (const std::string& t : s.tags)
      tags.emplace_back(json::string_view(t.data(), t.size()));
    o.Raw("tags", json::serialize(tags));
  }
  return o.Done();
}

ObjectText LeaseBody(const Lease& lease) {
  ObjectText o;
  o.Str("lease_token", lease.token);
  return o;
}

}  // namespace

Result<std::string> EncodeSubmit(const SubmitSpec& spec) {
  return SpecText(spec);
}

Result<std::string> EncodeSubmitBatch(const std::vector<SubmitSpec>& specs) {
  std::string out = "{\"jobs\":[";
  for (std::size_t i = 0; i < specs.size(); ++i) {
    auto text = SpecText(specs[i]);
    if (!text.ok()) return text.status().WithFieldPrefix("jobs[" + std::to_string(i) + "]");
    if (i > 0) out.push_back(',');
    out += *text;
  }
  out += "]}";
  return out;
}

std::string EncodeClaim(const ClaimRequest& r) {
  ObjectText o;
  json::array queues;
  for (const std::string& q : r.queues)
    queues.emplace_back(json::string_view(q.data(), q.size()));
  o.Raw("queues", json::serialize(queues));
  o.Int("max", r.max);
  if (!r.worker_id.empty()) o.Str("worker_id", r.worker_id);
  if (r.wait) o.Int("wait_ms", Ms(*r.wait));
  if (r.lease) o.Int("lease_ms", Ms(*r.lease));
  return o.Done();
}

std::string EncodeHeartbeat(const Lease& lease, std::optional<std::chrono::milliseconds> extend) {
  ObjectText o = LeaseBody(lease);
  if (extend) o.Int("lease_ms", Ms(*extend));
  return o.Done();
}

Result<std::string> EncodeAppend(const Lease& lease, const std::vector<NewEvent>& events) {
  std::string list = "[";
  for (std::size_t i = 0; i < events.size(); ++i) {
    std::string field = "events[" + std::to_string(i) + "].data";
    auto data = CheckJson(events[i].data, field);
    if (!data.ok()) return data.status();
    ObjectText e;
    e.Str("type", EventTypeName(events[i].type)).Raw("data", *data);
    if (i > 0) list.push_back(',');
    list += e.Done();
  }
  list.push_back(']');
  return LeaseBody(lease).Raw("events", list).Done();
}

Result<std::string> EncodeComplete(const Lease& lease, std::string_view result_json) {
  ObjectText o = LeaseBody(lease);
  if (!result_json.empty()) {
    auto text = CheckJson(result_json, "result");
    if (!text.ok()) return text.status();
    o.Raw("result", *text);
  }
  return o.Done();
}

std::string EncodeFail(const Lease& lease, std::string_view code, std::string_view message,
                       bool retryable, std::optional<std::chrono::milliseconds> retry_delay) {
  ObjectText error;
  error.Str("code", code).Str("message", message);
  ObjectText o = LeaseBody(lease);
  o.Raw("error", error.Done()).Bool("retryable", retryable);
  if (retry_delay) o.Int("retry_delay_ms", Ms(*retry_delay));
  return o.Done();
}

std::string EncodeQueuePatch(const QueuePatch& patch) {
  ObjectText o;
  if (patch.max_concurrent) {
    if (*patch.max_concurrent) {
      o.Int("max_concurrent", **patch.max_concurrent);
    } else {
      o.Null("max_concurrent");
    }
  }
  if (patch.paused) o.Bool("paused", *patch.paused);
  return o.Done();
}

Result<std::string> EncodeSchedulePut(const ScheduleSpec& spec) {
  auto job = SpecText(spec.job);
  if (!job.ok()) return job.status().WithFieldPrefix("job");
  ObjectText o;
  o.Str("cron", spec.cron);
  if (spec.timezone) o.Str("timezone", *spec.timezone);
  if (spec.misfire) o.Str("misfire", *spec.misfire);
  o.Bool("paused", spec.paused);
  o.Raw("job", *job);
  return o.Done();
}

std::string EncodeCancel(const std::string& reason) {
  if (reason.empty()) return {};
  return ObjectText().Str("reason", reason).Done();
}

Result<std::string> EncodeCompleteMany(const std::vector<Lease>& leases,
                                       const std::vector<std::string>& results) {
  std::string list = "[";
  for (std::size_t i = 0; i < leases.size(); ++i) {
    ObjectText item;
    item.Int("job_id", leases[i].job_id)
        .Int("attempt", leases[i].attempt)
        .Str("lease_token", leases[i].token);
    if (i < results.size() && !results[i].empty()) {
      auto text = CheckJson(results[i], "items[" + std::to_string(i) + "].result");
      if (!text.ok()) return text.status();
      item.Raw("result", *text);
    }
    if (i > 0) list.push_back(',');
    list += item.Done();
  }
  list.push_back(']');
  return ObjectText().Raw("items", list).Done();
}

}  // namespace jobtape::client
