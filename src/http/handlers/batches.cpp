// The batches resource: POST /v1/batches (up to 10,000 jobs and an optional
// on_complete job, one transaction), GET /v1/batches/{id} (counts per state
// and progress), GET /v1/batches/{id}/stream (the same document as Server-Sent
// Events, each time members end, until the batch is done), POST
// /v1/batches/{id}/cancel.
//
// A batch id is a string in the API (as a job's batch_id), decimal digits.
// The stream's event id is the number of members done, so a reconnect with
// Last-Event-ID gets the current state at once only if it moved on.
#include <boost/asio/this_coro.hpp>

#include "http/handlers/handler_util.hpp"
#include "http/handlers/metrics.hpp"
#include "http/handlers/routes.hpp"
#include "http/handlers/waker.hpp"
#include "http/job_decode.hpp"
#include "http/job_encode.hpp"
#include "http/json_fields.hpp"
#include "http/sse.hpp"
#include "http/store_await.hpp"
#include "store/batch_rules.hpp"

namespace jobtape::http {
namespace {

namespace asio = boost::asio;
using asio::awaitable;

constexpr std::chrono::milliseconds kReconnectDelay(1000);

Result<store::BatchId> PathBatchId(const Request& req) {
  std::optional<store::BatchId> id = store::ParseBatchId(req.Param("id"));
  if (!id) return Status::InvalidArgument("must be a batch id (digits)", "id");
  return *id;
}

bool Finished(const store::BatchInfo& b) {
  return b.done() >= b.total;
}

// {"id":"7","state":"running"|"done","total":..,"done":..,"progress":0-100,
//  "counts":{...},"on_complete":template|null,"on_complete_job_id":..|null,
//  "idempotency_key":..|null,"created_at":..,"finished_at":..}
void WriteBatch(JsonWriter& w, const store::BatchInfo& b) {
  w.BeginObject();
  w.Key("id").String(store::BatchIdText(b.id));
  w.Key("state").String(Finished(b) ? "done" : "running");
  w.Key("total").Int(b.total);
  w.Key("done").Int(b.done());
  // Whole percent of members done, as a job's progress; 100 only when done.
  const int64_t percent = b.total > 0 ? b.done() * 100 / b.total : 100;
  w.Key("progress").Int(percent);
  w.Key("counts").BeginObject();
  for (int s = 0; s < kJobStateCount; ++s)
    w.Key(JobStateName(static_cast<JobState>(s))).Int(b.counts[s]);
  w.EndObject();
  w.Key("on_complete");
  if (b.on_complete) {
    WriteJobTemplate(w, *b.on_complete);
  } else {
    w.Null();
  }
  w.Key("on_complete_job_id");
  if (b.on_complete_job_id) {
    w.Int(*b.on_complete_job_id);
  } else {
    w.Null();
  }
  w.Key("idempotency_key");
  if (b.idempotency_key.empty()) {
    w.Null();
  } else {
    w.String(b.idempotency_key);
  }
  WriteTime(w, "created_at", b.created_at);
  WriteTime(w, "finished_at", b.finished_at);
  w.EndObject();
}

awaitable<Result<store::BatchInfo>> LoadBatch(ServerContext& ctx, store::BatchId id) {
  co_return co_await AwaitStore<store::BatchInfo>(
      [&](store::Done<store::BatchInfo> done) { ctx.store.BatchGetAsync(id, std::move(done)); });
}

// POST /v1/batches: 201 with the batch and its members' ids; 200 when the
// idempotency key named an existing batch (that batch).
awaitable<Response> Create(ServerContext& ctx, Request& req) {
  if (ctx.draining.load()) co_return DrainingResponse(req);
  auto body = ParseObjectBody(req, ctx);
  if (!body.ok()) co_return ErrorResponse(body.status(), req, Phase::kDecode);
  const TimePoint now = ctx.clock.Now();
  const Limits& limits = ctx.store.limits();
  auto sub = DecodeBatchSubmission(*body, req.body, now, limits.max_batch_members);
  if (!sub.ok()) co_return ErrorResponse(sub.status(), req, Phase::kDecode);
  // Kinds first (a built-in kind's queue and retry policy), then the store's
  // rules, so errors carry the request's own field paths.
  for (std::size_t i = 0; i < sub->members.jobs.size(); ++i) {
    Status s = ctx.kinds != nullptr ? ctx.kinds->Apply(sub->members.jobs[i], sub->members.fields[i])
                                    : Status::Ok();
    if (!s.ok()) co_return ErrorResponse(s.WithFieldPrefix("jobs[" + std::to_string(i) + "]"), req);
  }
  if (sub->on_complete && ctx.kinds != nullptr) {
    Status s = ctx.kinds->Apply(*sub->on_complete, sub->on_complete_fields);
    if (!s.ok()) co_return ErrorResponse(s.WithFieldPrefix("on_complete"), req);
  }
  store::BatchCreateParams p{.now = now,
                             .jobs = std::move(sub->members.jobs),
                             .on_complete = std::move(sub->on_complete),
                             .idempotency_key = std::move(sub->idempotency_key)};
  auto r = co_await AwaitStore<store::BatchCreateResult>(
      [&](store::Done<store::BatchCreateResult> done) {
        ctx.store.BatchCreateAsync(std::move(p), std::move(done));
      });
  if (!r.ok()) co_return ErrorResponse(r.status(), req);
  if (!r->duplicate) ctx.metrics.JobsSubmitted(r->job_ids.size(), 0);
  JsonWriter w;
  w.BeginObject();
  w.Key("batch");
  WriteBatch(w, r->batch);
  w.Key("duplicate").Bool(r->duplicate);
  w.Key("job_ids").BeginArray();
  for (JobId id : r->job_ids)
    w.Int(id);
  w.EndArray();
  w.EndObject();
  Response response = JsonReply(r->duplicate ? 200 : 201, w);
  response.SetHeader("Location", "/v1/batches/" + store::BatchIdText(r->batch.id));
  co_return response;
}

// GET /v1/batches/{id}
awaitable<Response> Get(ServerContext& ctx, Request& req) {
  auto id = PathBatchId(req);
  if (!id.ok()) co_return ErrorResponse(id.status(), req, Phase::kDecode);
  auto r = co_await LoadBatch(ctx, *id);
  if (!r.ok()) co_return ErrorResponse(r.status(), req);
  JsonWriter w;
  WriteBatch(w, *r);
  co_return JsonReply(200, w);
}

// POST /v1/batches/{id}/cancel {"reason"?, "grace_ms"?}
awaitable<Response> Cancel(ServerContext& ctx, Request& req) {
  auto id = PathBatchId(req);
  if (!id.ok()) co_return ErrorResponse(id.status(), req, Phase::kDecode);
  auto body = ParseObjectBody(req, ctx, /*allow_empty=*/true);
  if (!body.ok()) co_return ErrorResponse(body.status(), req, Phase::kDecode);
  const boost::json::object& o = body->get_object();
  store::BatchCancelParams p{.now = ctx.clock.Now(), .id = *id, .grace = ctx.settings.cancel_grace};
  Status s = CheckKnownFields(o, {"reason", "grace_ms"});
  if (s.ok()) s = ReadString(o, "reason", p.reason);
  if (s.ok()) s = ReadMillis(o, "grace_ms", p.grace);
  if (!s.ok()) co_return ErrorResponse(s, req, Phase::kDecode);
  auto r = co_await AwaitStore<store::BatchCancelResult>(
      [&](store::Done<store::BatchCancelResult> done) {
        ctx.store.BatchCancelAsync(std::move(p), std::move(done));
      });
  if (!r.ok()) co_return ErrorResponse(r.status(), req);
  JsonWriter w;
  w.BeginObject();
  w.Key("id").String(store::BatchIdText(*id));
  w.Key("cancelled").Int(r->cancelled);
  w.Key("cancel_requested").Int(r->cancel_requested);
  w.EndObject();
  co_return JsonReply(200, w);
}

std::string BatchEvent(const store::BatchInfo& b) {
  JsonWriter w;
  WriteBatch(w, b);
  return FormatSseEvent(std::to_string(b.done()), Finished(b) ? "done" : "progress", w.Release());
}

// Sends the batch whenever members ended (a `progress` event), then `done`
// and the end of the stream. A notification during a read sets the waker
// again, so nothing is missed and a busy batch costs one read per round.
awaitable<void> StreamBatch(ServerContext& ctx, store::BatchId id, int64_t last_done,
                            BodyWriter& writer) {
  auto waker = std::make_shared<Waker>(co_await asio::this_coro::executor);
  std::shared_ptr<void> watch = ctx.hub.WatchBatch(id, waker->Notifier());
  std::string hello;
  AppendSseRetry(hello, kReconnectDelay);
  if (!co_await writer.Write(hello)) co_return;
  bool read = true;  // the first read follows WatchBatch, so no end is missed
  while (true) {
    if (ctx.hub.closed() || ctx.draining.load()) {
      co_await writer.Write(FormatSseEvent("", "shutdown", R"({"type":"shutdown"})"));
      co_return;
    }
    if (read) {
      auto b = co_await LoadBatch(ctx, id);
      if (!b.ok()) {
        JsonWriter w;
        w.BeginObject().Key("type").String("error").Key("error").BeginObject();
        w.Key("code").String(ErrorCodeName(b.status().code()));
        w.Key("message").String(b.status().message());
        w.EndObject().EndObject();
        co_await writer.Write(FormatSseEvent("", "error", w.Release()));
        co_return;
      }
      if (b->done() > last_done || Finished(*b)) {
        if (!co_await writer.Write(BatchEvent(*b))) co_return;
        last_done = b->done();
        if (Finished(*b)) co_return;
      }
    }
    read = co_await waker->Wait(ctx.settings.stream_keepalive);
    if (!read && !co_await writer.Write(": keep-alive\n\n")) co_return;
  }
}

// GET /v1/batches/{id}/stream: the batch now, then at each change. A batch
// already done answers 204 to a reconnect that saw its end (Last-Event-ID =
// total), which tells EventSource to stop.
awaitable<Response> Stream(ServerContext& ctx, Request& req) {
  auto id = PathBatchId(req);
  if (!id.ok()) co_return ErrorResponse(id.status(), req, Phase::kDecode);
  int64_t last_done = -1;  // send the state at once
  if (auto header = req.Header("Last-Event-ID")) {
    std::optional<Seq> seen = ParseLastEventId(*header);
    if (!seen) {
      co_return ErrorResponse(Status::InvalidArgument("must be a count", "Last-Event-ID"), req,
                              Phase::kDecode);
    }
    last_done = *seen;
  }
  if (ctx.draining.load()) co_return DrainingResponse(req);
  auto b = co_await LoadBatch(ctx, *id);
  if (!b.ok()) co_return ErrorResponse(b.status(), req);
  if (Finished(*b) && last_done >= b->total) {
    Response done;
    done.status = 204;
    co_return done;
  }
  auto token = std::make_shared<StreamHold>(ctx.streams);
  const store::BatchId batch = *id;
  co_return SseResponse([&ctx, batch, last_done, token](BodyWriter& writer) -> awaitable<void> {
    return StreamBatch(ctx, batch, last_done, writer);
  });
}

}  // namespace

void AddBatchRoutes(Router& router, ServerContext& ctx) {
  auto bind = [&ctx](auto fn) {
    return [&ctx, fn](Request& req) -> awaitable<Response> { return fn(ctx, req); };
  };
  router.Add(Method::kPost, "/v1/batches", Permission::kJobsSubmit, bind(Create),
             RequestBody::kJson);
  router.Add(Method::kGet, "/v1/batches/{id}", Permission::kRead, bind(Get));
  router.Add(Method::kGet, "/v1/batches/{id}/stream", Permission::kRead, bind(Stream));
  router.Add(Method::kPost, "/v1/batches/{id}/cancel", Permission::kJobsCancel, bind(Cancel),
             RequestBody::kJson);
}

}  // namespace jobtape::http
