// The jobs resource: submit (single and batch), list, get, tape page, cancel,
// retry. Each handler decodes, makes one store call, encodes.
#include <limits>
#include <string>

#include "core/limits.hpp"
#include "http/handlers/handler_util.hpp"
#include "http/handlers/metrics.hpp"
#include "http/handlers/routes.hpp"
#include "http/job_decode.hpp"
#include "http/job_encode.hpp"
#include "http/json_fields.hpp"
#include "http/store_await.hpp"

namespace jobtape::http {
namespace {

using boost::asio::awaitable;

int ClampToInt(int64_t v) {
  if (v > std::numeric_limits<int>::max()) return std::numeric_limits<int>::max();
  if (v < std::numeric_limits<int>::min()) return std::numeric_limits<int>::min();
  return static_cast<int>(v);
}

// POST /v1/jobs: 201 when something was created; 200 when every job was an
// idempotency-key repeat (the body then names the original jobs).
awaitable<Response> Submit(ServerContext& ctx, Request& req) {
  if (ctx.draining.load()) co_return DrainingResponse(req);
  auto body = ParseObjectBody(req, ctx);
  if (!body.ok()) co_return ErrorResponse(body.status(), req, Phase::kDecode);
  const TimePoint now = ctx.clock.Now();
  const Limits& limits = ctx.store.limits();
  auto submission = DecodeSubmission(*body, req.body, now, limits.max_batch);
  if (!submission.ok()) co_return ErrorResponse(submission.status(), req, Phase::kDecode);
  const bool batch = submission->batch;
  // The store checks the same rules; checking here first only keeps the
  // error's field path ("jobs[3].priority") independent of the store.
  for (std::size_t i = 0; i < submission->jobs.size(); ++i) {
    Status s = ValidateJobSpec(submission->jobs[i], limits, now);
    if (s.ok() && ctx.kinds != nullptr)
      s = ctx.kinds->Apply(submission->jobs[i], submission->fields[i]);
    if (!s.ok()) {
      co_return ErrorResponse(batch ? s.WithFieldPrefix("jobs[" + std::to_string(i) + "]") : s,
                              req);
    }
  }
  store::EnqueueParams p{.now = now, .jobs = std::move(submission->jobs)};
  auto r = co_await AwaitStore<store::EnqueueResult>([&](store::Done<store::EnqueueResult> done) {
    ctx.store.JobsEnqueueAsync(std::move(p), std::move(done));
  });
  if (!r.ok()) co_return ErrorResponse(r.status(), req);
  uint64_t duplicates = 0;
  for (const store::EnqueuedJob& j : r->jobs)
    duplicates += j.duplicate ? 1 : 0;
  const uint64_t created = r->jobs.size() - duplicates;
  ctx.metrics.JobsSubmitted(created, duplicates);
  const int status = created > 0 ? 201 : 200;
  JsonWriter w;
  if (!batch) {
    WriteEnqueuedJob(w, r->jobs.at(0));
    Response response = JsonReply(status, w);
    response.SetHeader("Location", "/v1/jobs/" + std::to_string(r->jobs[0].id));
    co_return response;
  }
  w.BeginObject().Key("jobs").BeginArray();
  for (const store::EnqueuedJob& j : r->jobs)
    WriteEnqueuedJob(w, j);
  w.EndArray().EndObject();
  co_return JsonReply(status, w);
}

// GET /v1/jobs?queue=&state=&kind=&batch=&limit=&cursor=: newest first.
awaitable<Response> List(ServerContext& ctx, Request& req) {
  Status s = CheckKnownQuery(req, {"queue", "state", "kind", "batch", "limit", "cursor"});
  store::ListParams p;
  if (auto q = req.Query("queue")) p.queue = std::string(*q);
  if (auto k = req.Query("kind")) p.kind = std::string(*k);
  if (auto st = req.Query("state"); s.ok() && st) {
    p.state = ParseJobState(*st);
    if (!p.state) {
      s = Status::InvalidArgument(
          "must be one of scheduled, queued, running, succeeded, failed, cancelled", "state");
    }
  }
  std::optional<int64_t> limit, cursor;
  if (s.ok()) s = QueryInt(req, "limit", limit);
  if (s.ok()) s = QueryInt(req, "cursor", cursor);
  if (s.ok()) s = QueryInt(req, "batch", p.batch);
  if (!s.ok()) co_return ErrorResponse(s, req, Phase::kDecode);
  if (limit) p.limit = ClampToInt(*limit);
  p.cursor = cursor;
  auto r = co_await AwaitStore<store::JobPage>([&](store::Done<store::JobPage> done) {
    ctx.store.JobsListAsync(std::move(p), std::move(done));
  });
  if (!r.ok()) co_return ErrorResponse(r.status(), req);
  JsonWriter w;
  w.BeginObject().Key("jobs").BeginArray();
  for (const Job& job : r->jobs)
    WriteJob(w, job);
  w.EndArray().Key("next_cursor");
  if (r->next_cursor) {
    w.Int(*r->next_cursor);
  } else {
    w.Null();
  }
  w.EndObject();
  co_return JsonReply(200, w);
}

// GET /v1/jobs/{id}
awaitable<Response> Get(ServerContext& ctx, Request& req) {
  auto id = PathId(req, "id");
  if (!id.ok()) co_return ErrorResponse(id.status(), req, Phase::kDecode);
  auto r = co_await AwaitStore<Job>(
      [&](store::Done<Job> done) { ctx.store.JobGetAsync(*id, std::move(done)); });
  if (!r.ok()) co_return ErrorResponse(r.status(), req);
  co_return JsonResponse(200, EncodeJob(*r));
}

// GET /v1/jobs/{id}/events?after=&limit=: one page of the tape.
awaitable<Response> Events(ServerContext& ctx, Request& req) {
  auto id = PathId(req, "id");
  if (!id.ok()) co_return ErrorResponse(id.status(), req, Phase::kDecode);
  Status s = CheckKnownQuery(req, {"after", "limit"});
  std::optional<int64_t> after, limit;
  if (s.ok()) s = QueryInt(req, "after", after);
  if (s.ok()) s = QueryInt(req, "limit", limit);
  if (!s.ok()) co_return ErrorResponse(s, req, Phase::kDecode);
  store::TapeReadParams p{.job_id = *id, .after = after.value_or(0)};
  if (limit) p.limit = ClampToInt(*limit);
  auto r = co_await AwaitStore<store::TapePage>(
      [&](store::Done<store::TapePage> done) { ctx.store.TapeReadAsync(p, std::move(done)); });
  if (!r.ok()) co_return ErrorResponse(r.status(), req);
  JsonWriter w;
  w.BeginObject().Key("events").BeginArray();
  for (const Event& e : r->events)
    WriteEvent(w, e);
  w.EndArray();
  w.Key("state").String(JobStateName(r->state));
  w.Key("last_seq").Int(r->last_seq);
  w.EndObject();
  co_return JsonReply(200, w);
}

// POST /v1/jobs/{id}/cancel {"reason"?, "grace_ms"?}. Always 200 for a known
// job: `changed` is false when it was already terminal (or already asked).
awaitable<Response> Cancel(ServerContext& ctx, Request& req) {
  auto id = PathId(req, "id");
  if (!id.ok()) co_return ErrorResponse(id.status(), req, Phase::kDecode);
  auto body = ParseObjectBody(req, ctx, /*allow_empty=*/true);
  if (!body.ok()) co_return ErrorResponse(body.status(), req, Phase::kDecode);
  const boost::json::object& o = body->get_object();
  store::CancelParams p{.now = ctx.clock.Now(), .id = *id, .grace = ctx.settings.cancel_grace};
  Status s = CheckKnownFields(o, {"reason", "grace_ms"});
  if (s.ok()) s = ReadString(o, "reason", p.reason);
  if (s.ok()) s = ReadMillis(o, "grace_ms", p.grace);
  if (!s.ok()) co_return ErrorResponse(s, req, Phase::kDecode);
  if (p.reason.size() > kMaxKeyLength) {
    co_return ErrorResponse(Status::InvalidArgument("at most 256 bytes", "reason"), req);
  }
  auto r = co_await AwaitStore<store::CancelResult>([&](store::Done<store::CancelResult> done) {
    ctx.store.JobCancelAsync(std::move(p), std::move(done));
  });
  if (!r.ok()) co_return ErrorResponse(r.status(), req);
  JsonWriter w;
  w.BeginObject();
  w.Key("id").Int(*id);
  w.Key("state").String(JobStateName(r->state));
  w.Key("changed").Bool(r->changed);
  w.Key("cancel_requested").Bool(r->cancel_requested);
  w.EndObject();
  co_return JsonReply(200, w);
}

// POST /v1/jobs/{id}/retry: a new job copying a failed or cancelled one.
awaitable<Response> Retry(ServerContext& ctx, Request& req) {
  if (ctx.draining.load()) co_return DrainingResponse(req);
  auto id = PathId(req, "id");
  if (!id.ok()) co_return ErrorResponse(id.status(), req, Phase::kDecode);
  auto body = ParseObjectBody(req, ctx, /*allow_empty=*/true);
  if (!body.ok()) co_return ErrorResponse(body.status(), req, Phase::kDecode);
  Status s = CheckKnownFields(body->get_object(), {});
  if (!s.ok()) co_return ErrorResponse(s, req, Phase::kDecode);
  auto r = co_await AwaitStore<store::EnqueuedJob>([&](store::Done<store::EnqueuedJob> done) {
    ctx.store.JobRetryAsync({.now = ctx.clock.Now(), .id = *id}, std::move(done));
  });
  if (!r.ok()) co_return ErrorResponse(r.status(), req);
  ctx.metrics.JobsSubmitted(1, 0);
  JsonWriter w;
  w.BeginObject();
  w.Key("id").Int(r->id);
  w.Key("state").String(JobStateName(r->state));
  w.Key("duplicate").Bool(false);
  w.Key("retry_of").Int(*id);
  w.EndObject();
  Response response = JsonReply(201, w);
  response.SetHeader("Location", "/v1/jobs/" + std::to_string(r->id));
  co_return response;
}

}  // namespace

void AddJobRoutes(Router& router, ServerContext& ctx) {
  auto bind = [&ctx](auto fn) {
    return [&ctx, fn](Request& req) -> awaitable<Response> { return fn(ctx, req); };
  };
  router.Add(Method::kPost, "/v1/jobs", Permission::kJobsSubmit, bind(Submit), RequestBody::kJson);
  router.Add(Method::kGet, "/v1/jobs", Permission::kRead, bind(List));
  router.Add(Method::kGet, "/v1/jobs/{id}", Permission::kRead, bind(Get));
  router.Add(Method::kGet, "/v1/jobs/{id}/events", Permission::kRead, bind(Events));
  router.Add(Method::kPost, "/v1/jobs/{id}/cancel", Permission::kJobsCancel, bind(Cancel),
             RequestBody::kJson);
  router.Add(Method::kPost, "/v1/jobs/{id}/retry", Permission::kJobsRetry, bind(Retry),
             RequestBody::kJson);
}

}  // namespace jobtape::http
