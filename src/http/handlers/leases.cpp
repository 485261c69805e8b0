// The worker lease protocol (R2): every call names the attempt in its path
// (/v1/leases/{job}/{attempt}/...) and carries the lease_token in its body;
// the store compares both with the job's current attempt, so a stale lease
// changes nothing and gets 409 stale_lease.
//
//   heartbeat {lease_token, lease_ms?}            -> {expires_at, cancel_requested}
//   events    {lease_token, events: [{type, data}]} -> {last_seq}
//   complete  {lease_token, result?}              -> {state, retry_at, last_seq}
//   fail      {lease_token, error: {code, message}, retryable?, retry_delay_ms?}
//   POST /v1/leases/complete {items: [{job_id, attempt, lease_token, result?}]}
//             -> {results: [{job_id, state, last_seq} | {job_id, error}]}
#include <limits>
#include <string>
#include <vector>

#include "core/limits.hpp"
#include "http/handlers/handler_util.hpp"
#include "http/handlers/metrics.hpp"
#include "http/handlers/routes.hpp"
#include "http/job_encode.hpp"
#include "http/json_fields.hpp"
#include "http/store_await.hpp"
#include "json_text/raw_text.hpp"

namespace jobtape::http {
namespace {

using boost::asio::awaitable;
namespace json = boost::json;
using json_text::RawArrayElements;
using json_text::RawMemberValue;

// The lease named by the path and the body's lease_token.
Result<Lease> LeaseFrom(const Request& req, const json::object& o) {
  auto job = PathId(req, "job");
  if (!job.ok()) return job.status();
  auto attempt = PathId(req, "attempt");
  if (!attempt.ok()) return attempt.status();
  if (*attempt > std::numeric_limits<int>::max()) {
    return Status::InvalidArgument("attempt out of range", "attempt");
  }
  Lease lease{.job_id = *job, .attempt = static_cast<int>(*attempt)};
  JT_RETURN_IF_ERROR(ReadRequiredString(o, "lease_token", lease.token));
  return lease;
}

// The JSON text of member `key` of the object `raw`, or `fallback` when absent or null.
std::string RawMember(std::string_view raw, const json::object& o, std::string_view key,
                      std::string fallback) {
  if (FindField(o, key) == nullptr) return fallback;
  std::optional<std::string_view> text = RawMemberValue(raw, key);
  return text ? std::string(*text) : fallback;
}

Response StoreError(ServerContext& ctx, const Status& s, const Request& req) {
  if (s.code() == ErrorCode::kStaleLease) ctx.metrics.StaleLease();
  return ErrorResponse(s, req);
}

void WriteFinish(JsonWriter& w, const store::FinishResult& r) {
  w.Key("state").String(JobStateName(r.state));
  WriteTime(w, "retry_at", r.retry_at);
  w.Key("last_seq").Int(r.last_seq);
}

awaitable<Response> Heartbeat(ServerContext& ctx, Request& req) {
  auto body = ParseObjectBody(req, ctx);
  if (!body.ok()) co_return ErrorResponse(body.status(), req, Phase::kDecode);
  const json::object& o = body->get_object();
  store::HeartbeatParams p{.now = ctx.clock.Now(), .lease_ttl = ctx.settings.default_lease};
  Status s = CheckKnownFields(o, {"lease_token", "lease_ms"});
  if (s.ok()) s = ReadMillis(o, "lease_ms", p.lease_ttl);
  auto lease = s.ok() ? LeaseFrom(req, o) : Result<Lease>(s);
  if (!lease.ok()) co_return ErrorResponse(lease.status(), req, Phase::kDecode);
  p.lease = std::move(lease).value();
  auto r =
      co_await AwaitStore<store::HeartbeatResult>([&](store::Done<store::HeartbeatResult> done) {
        ctx.store.LeaseHeartbeatAsync(std::move(p), std::move(done));
      });
  if (!r.ok()) co_return StoreError(ctx, r.status(), req);
  JsonWriter w;
  w.BeginObject();
  WriteTime(w, "expires_at", r->expires_at);
  w.Key("cancel_requested").Bool(r->cancel_requested);
  w.EndObject();
  co_return JsonReply(200, w);
}

// Decodes {type, data} items; `raw` is the text of the events array.
Status DecodeEvents(const json::value& events, std::string_view raw, std::vector<NewEvent>& out) {
  if (!events.is_array()) return Status::InvalidArgument("must be an array", "events");
  const json::array& a = events.get_array();
  auto texts = RawArrayElements(raw);
  if (!texts || texts->size() != a.size()) return Status::Internal("events not found in the body");
  for (std::size_t i = 0; i < a.size(); ++i) {
    const std::string prefix = "events[" + std::to_string(i) + "]";
    auto item = AsObject(a[i]);
    if (!item.ok()) return item.status().WithFieldPrefix(prefix);
    const json::object& o = **item;
    Status s = CheckKnownFields(o, {"type", "data"});
    std::string type;
    if (s.ok()) s = ReadRequiredString(o, "type", type);
    if (!s.ok()) return s.WithFieldPrefix(prefix);
    NewEvent e;
    std::optional<EventType> parsed = ParseEventType(type);
    if (!parsed) return Status::InvalidArgument("must be progress or log", prefix + ".type");
    e.type = *parsed;
    const json::value* data = FindField(o, "data");
    if (data != nullptr && !data->is_object()) {
      return Status::InvalidArgument("must be a JSON object", prefix + ".data");
    }
    e.data = RawMember((*texts)[i], o, "data", "{}");
    out.push_back(std::move(e));
  }
  return Status::Ok();
}

awaitable<Response> AppendEvents(ServerContext& ctx, Request& req) {
  auto body = ParseObjectBody(req, ctx);
  if (!body.ok()) co_return ErrorResponse(body.status(), req, Phase::kDecode);
  const json::object& o = body->get_object();
  store::AppendParams p{.now = ctx.clock.Now()};
  Status s = CheckKnownFields(o, {"lease_token", "events"});
  const json::value* events = FindField(o, "events");
  if (s.ok() && events == nullptr) s = Status::InvalidArgument("is required", "events");
  if (s.ok()) {
    std::optional<std::string_view> raw = RawMemberValue(req.body, "events");
    s = DecodeEvents(*events, raw.value_or(""), p.events);
  }
  auto lease = s.ok() ? LeaseFrom(req, o) : Result<Lease>(s);
  if (!lease.ok()) co_return ErrorResponse(lease.status(), req, Phase::kDecode);
  p.lease = std::move(lease).value();
  const Limits& limits = ctx.store.limits();
  if (p.events.empty() || p.events.size() > limits.max_events_per_append) {
    co_return ErrorResponse(
        Status::LimitExceeded(
            "1 to " + std::to_string(limits.max_events_per_append) + " events per call", "events"),
        req);
  }
  for (std::size_t i = 0; i < p.events.size(); ++i) {
    Status v = ValidateNewEvent(p.events[i], limits);
    if (!v.ok())
      co_return ErrorResponse(v.WithFieldPrefix("events[" + std::to_string(i) + "]"), req);
  }
  auto r = co_await AwaitStore<store::AppendResult>([&](store::Done<store::AppendResult> done) {
    ctx.store.TapeAppendAsync(std::move(p), std::move(done));
  });
  if (!r.ok()) co_return StoreError(ctx, r.status(), req);
  JsonWriter w;
  w.BeginObject().Key("last_seq").Int(r->last_seq).EndObject();
  co_return JsonReply(200, w);
}

awaitable<Response> Finish(ServerContext& ctx, Request& req, store::FinishParams p) {
  auto r = co_await AwaitStore<store::FinishResult>([&](store::Done<store::FinishResult> done) {
    ctx.store.JobFinishAsync(std::move(p), std::move(done));
  });
  if (!r.ok()) co_return StoreError(ctx, r.status(), req);
  ctx.metrics.AttemptFinished(r->state);
  JsonWriter w;
  w.BeginObject();
  WriteFinish(w, *r);
  w.EndObject();
  co_return JsonReply(200, w);
}

awaitable<Response> Complete(ServerContext& ctx, Request& req) {
  auto body = ParseObjectBody(req, ctx);
  if (!body.ok()) co_return ErrorResponse(body.status(), req, Phase::kDecode);
  const json::object& o = body->get_object();
  Status s = CheckKnownFields(o, {"lease_token", "result"});
  auto lease = s.ok() ? LeaseFrom(req, o) : Result<Lease>(s);
  if (!lease.ok()) co_return ErrorResponse(lease.status(), req, Phase::kDecode);
  store::FinishParams p{.now = ctx.clock.Now(),
                        .lease = std::move(lease).value(),
                        .outcome = Outcome::Succeeded(RawMember(req.body, o, "result", ""))};
  co_return co_await Finish(ctx, req, std::move(p));
}

awaitable<Response> Fail(ServerContext& ctx, Request& req) {
  auto body = ParseObjectBody(req, ctx);
  if (!body.ok()) co_return ErrorResponse(body.status(), req, Phase::kDecode);
  const json::object& o = body->get_object();
  Outcome outcome = Outcome::Failed("failed", "");
  std::optional<Duration> delay;
  Status s = CheckKnownFields(o, {"lease_token", "error", "retryable", "retry_delay_ms"});
  if (s.ok()) s = ReadBool(o, "retryable", outcome.retryable);
  if (s.ok()) s = ReadOptionalMillis(o, "retry_delay_ms", delay);
  if (s.ok()) {
    if (const json::value* error = FindField(o, "error")) {
      auto eo = AsObject(*error);
      s = eo.ok() ? CheckKnownFields(**eo, {"code", "message"}) : eo.status();
      if (s.ok()) s = ReadString(**eo, "code", outcome.error_code);
      if (s.ok()) s = ReadString(**eo, "message", outcome.error_message);
      if (!s.ok()) s = s.WithFieldPrefix("error");
    }
  }
  auto lease = s.ok() ? LeaseFrom(req, o) : Result<Lease>(s);
  if (!lease.ok()) co_return ErrorResponse(lease.status(), req, Phase::kDecode);
  if (outcome.error_code.empty() || !IsValidName(outcome.error_code)) {
    co_return ErrorResponse(
        Status::InvalidArgument("must match [A-Za-z0-9_.:-]{1,128}", "error.code"), req);
  }
  outcome.retry_delay = delay;
  store::FinishParams p{
      .now = ctx.clock.Now(), .lease = std::move(lease).value(), .outcome = std::move(outcome)};
  co_return co_await Finish(ctx, req, std::move(p));
}

// POST /v1/leases/complete: many completions in one transaction. Each item
// stands alone: a stale one fails only itself (its entry carries the error).
awaitable<Response> CompleteMany(ServerContext& ctx, Request& req) {
  auto body = ParseObjectBody(req, ctx);
  if (!body.ok()) co_return ErrorResponse(body.status(), req, Phase::kDecode);
  const json::object& o = body->get_object();
  Status s = CheckKnownFields(o, {"items"});
  const json::value* items = FindField(o, "items");
  if (s.ok() && (items == nullptr || !items->is_array())) {
    s = Status::InvalidArgument("must be an array", "items");
  }
  if (!s.ok()) co_return ErrorResponse(s, req, Phase::kDecode);
  const json::array& a = items->get_array();
  const std::size_t max = ctx.store.limits().max_claim;
  if (a.empty() || a.size() > max) {
    co_return ErrorResponse(
        Status::LimitExceeded("1 to " + std::to_string(max) + " items per call", "items"), req);
  }
  auto texts = RawArrayElements(RawMemberValue(req.body, "items").value_or(""));
  if (!texts || texts->size() != a.size()) {
    co_return ErrorResponse(Status::Internal("items not found in the body"), req);
  }
  std::vector<store::FinishParams> params;
  params.reserve(a.size());
  const TimePoint now = ctx.clock.Now();
  for (std::size_t i = 0; i < a.size(); ++i) {
    const std::string prefix = "items[" + std::to_string(i) + "]";
    auto item = AsObject(a[i]);
    Status is = item.ok() ? Status::Ok() : item.status();
    Lease lease;
    int64_t attempt = 0;
    if (is.ok()) is = CheckKnownFields(**item, {"job_id", "attempt", "lease_token", "result"});
    if (is.ok()) is = ReadInt64(**item, "job_id", lease.job_id);
    if (is.ok()) is = ReadInt64(**item, "attempt", attempt);
    if (is.ok()) is = ReadRequiredString(**item, "lease_token", lease.token);
    if (is.ok() &&
        (lease.job_id <= 0 || attempt <= 0 || attempt > std::numeric_limits<int>::max())) {
      is = Status::InvalidArgument("job_id and attempt must be positive integers");
    }
    if (!is.ok()) co_return ErrorResponse(is.WithFieldPrefix(prefix), req, Phase::kDecode);
    lease.attempt = static_cast<int>(attempt);
    params.push_back({.now = now,
                      .lease = std::move(lease),
                      .outcome = Outcome::Succeeded(RawMember((*texts)[i], **item, "result", ""))});
  }
  auto r = co_await AwaitStore<std::vector<Result<store::FinishResult>>>(
      [&](store::Done<std::vector<Result<store::FinishResult>>> done) {
        ctx.store.JobsFinishAsync(params, std::move(done));
      });
  if (!r.ok()) co_return ErrorResponse(r.status(), req);
  JsonWriter w;
  w.BeginObject().Key("results").BeginArray();
  for (std::size_t i = 0; i < r->size() && i < params.size(); ++i) {
    const Result<store::FinishResult>& item = (*r)[i];
    w.BeginObject().Key("job_id").Int(params[i].lease.job_id);
    if (item.ok()) {
      ctx.metrics.AttemptFinished(item->state);
      WriteFinish(w, *item);
    } else {
      if (item.status().code() == ErrorCode::kStaleLease) ctx.metrics.StaleLease();
      w.Key("error").BeginObject();
      w.Key("code").String(ErrorCodeName(item.status().code()));
      w.Key("message").String(item.status().message());
      if (!item.status().field().empty()) w.Key("field").String(item.status().field());
      w.EndObject();
    }
    w.EndObject();
  }
  w.EndArray().EndObject();
  co_return JsonReply(200, w);
}

}  // namespace

void AddLeaseRoutes(Router& router, ServerContext& ctx) {
  auto bind = [&ctx](auto fn) {
    return [&ctx, fn](Request& req) -> awaitable<Response> { return fn(ctx, req); };
  };
  router.Add(Method::kPost, "/v1/leases/{job}/{attempt}/heartbeat", Permission::kLeases,
             bind(Heartbeat), RequestBody::kJson);
  router.Add(Method::kPost, "/v1/leases/{job}/{attempt}/events", Permission::kLeases,
             bind(AppendEvents), RequestBody::kJson);
  router.Add(Method::kPost, "/v1/leases/{job}/{attempt}/complete", Permission::kLeases,
             bind(Complete), RequestBody::kJson);
  router.Add(Method::kPost, "/v1/leases/{job}/{attempt}/fail", Permission::kLeases, bind(Fail),
             RequestBody::kJson);
  router.Add(Method::kPost, "/v1/leases/complete", Permission::kLeases, bind(CompleteMany),
             RequestBody::kJson);
}

}  // namespace jobtape::http
