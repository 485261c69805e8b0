// Live tape streams (R7): GET /v1/jobs/{id}/stream (Server-Sent Events) and
// GET /v1/jobs/{id}/ws (WebSocket), both fed by a StreamHub subscription.
//
// SSE: each event is "id: <seq>", "event: <type>", "data: <event JSON>"; the
// stream resumes after the Last-Event-ID header (or ?after=), sends a comment
// every stream_keepalive while idle, and ends after the `final` event. A
// reconnect to a finished tape gets 204, which tells a browser's EventSource
// to stop reconnecting. WebSocket: the same event JSON as text frames,
// resuming after ?after=, closed normally after `final`.
//
// Isolation: every watcher has its own bounded subscription buffer, and the
// coroutine writing to its socket waits (asynchronously, bounded by the
// server's write timeout) only for its own client. A watcher that stops
// reading therefore stalls nobody: its subscription falls back to reading
// the store, and its connection is dropped at the write timeout.
//
// Shutdown: the hub closes every subscription; each stream then sends an
// `event: shutdown` (SSE) or a {"type":"shutdown"} message and close code
// 1001 (WebSocket) carrying the last seq sent, and ends.
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/this_coro.hpp>

#include "http/handlers/handler_util.hpp"
#include "http/handlers/routes.hpp"
#include "http/handlers/waker.hpp"
#include "http/job_encode.hpp"
#include "http/sse.hpp"
#include "http/store_await.hpp"

namespace jobtape::http {
namespace {

namespace asio = boost::asio;
using asio::awaitable;

// Events gathered into one socket write at most (SSE): large enough that a
// burst costs few writes, small enough to bound one watcher's write buffer.
constexpr std::size_t kMaxChunkBytes = 64 * 1024;
// A browser reconnects this long after losing a stream.
constexpr std::chrono::milliseconds kReconnectDelay(1000);

// How events leave the server: SSE frames or WebSocket messages.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual awaitable<bool> Send(const std::vector<Event>& events) = 0;
  virtual awaitable<bool> KeepAlive() = 0;
  // The stream ends otherwise than after `final`: shutdown or an error.
  virtual awaitable<void> End(const Status& why, bool shutdown, Seq last_seq) = 0;
  virtual bool closed() const { return false; }
};

std::string EndData(const Status& why, bool shutdown, Seq last_seq) {
  JsonWriter w;
  w.BeginObject();
  w.Key("type").String(shutdown ? "shutdown" : "error");
  if (shutdown) {
    w.Key("reason").String(why.message());
  } else {
    w.Key("error").BeginObject();
    w.Key("code").String(ErrorCodeName(why.code()));
    w.Key("message").String(why.message());
    w.EndObject();
  }
  w.Key("last_seq").Int(last_seq);
  w.EndObject();
  return w.Release();
}

class SseSink final : public EventSink {
 public:
  explicit SseSink(BodyWriter& w) : w_(w) {}
  awaitable<bool> Send(const std::vector<Event>& events) override {
    std::string out;
    for (const Event& e : events) {
      AppendSseEvent(out, std::to_string(e.seq), EventTypeName(e.type), EncodeEvent(e));
    }
    co_return co_await w_.Write(out);
  }
  awaitable<bool> KeepAlive() override { co_return co_await w_.Write(": keep-alive\n\n"); }
  awaitable<void> End(const Status& why, bool shutdown, Seq last_seq) override {
    co_await w_.Write(
        FormatSseEvent("", shutdown ? "shutdown" : "error", EndData(why, shutdown, last_seq)));
  }

 private:
  BodyWriter& w_;
};

class WsSink final : public EventSink {
 public:
  explicit WsSink(MessageWriter& w) : w_(w) {}
  awaitable<bool> Send(const std::vector<Event>& events) override {
    for (const Event& e : events) {
      if (!co_await w_.Send(EncodeEvent(e))) co_return false;
    }
    co_return true;
  }
  // The WebSocket layer pings on its own; an idle tick only checks the peer.
  awaitable<bool> KeepAlive() override { co_return !w_.closed(); }
  awaitable<void> End(const Status& why, bool shutdown, Seq last_seq) override {
    co_await w_.Send(EndData(why, shutdown, last_seq));
    // 1001 going away; 1011 the server could not go on.
    w_.SetCloseCode(shutdown ? 1001 : 1011, shutdown ? "server shutting down" : "stream error");
  }
  bool closed() const override { return w_.closed(); }

 private:
  MessageWriter& w_;
};

// Moves events from the subscription to the sink until the tape ends, the
// client goes away or the hub closes the stream.
awaitable<void> Pump(ServerContext& ctx, std::shared_ptr<engine::Subscription> sub,
                     EventSink& sink) {
  struct Unhook {
    engine::Subscription& sub;
    ~Unhook() { sub.SetNotify(nullptr); }
  } unhook{*sub};
  auto waker = std::make_shared<Waker>(co_await asio::this_coro::executor);
  sub->SetNotify(waker->Notifier());
  std::vector<Event> batch;
  while (true) {
    batch.clear();
    std::size_t bytes = 0;
    engine::PopResult r = engine::PopResult::kEmpty;
    Event e;
    while (bytes < kMaxChunkBytes && (r = sub->TryPop(e)) == engine::PopResult::kEvent) {
      bytes += e.data.size() + 160;  // the event's other fields, roughly
      batch.push_back(std::move(e));
    }
    if (!batch.empty() && !co_await sink.Send(batch)) co_return;
    if (r == engine::PopResult::kEnd) {
      Status end = sub->end_status();
      if (!end.ok()) co_await sink.End(end, ctx.draining.load(), sub->last_popped());
      co_return;
    }
    if (r == engine::PopResult::kEvent) continue;  // a full chunk; more is buffered
    if (sink.closed()) co_return;
    if (!co_await waker->Wait(ctx.settings.stream_keepalive)) {
      if (!co_await sink.KeepAlive()) co_return;
    }
  }
}

awaitable<void> StreamSse(ServerContext& ctx, std::shared_ptr<engine::Subscription> sub,
                          BodyWriter& writer) {
  std::string hello;
  AppendSseRetry(hello, kReconnectDelay);
  if (!co_await writer.Write(hello)) co_return;
  SseSink sink(writer);
  co_await Pump(ctx, std::move(sub), sink);
}

awaitable<void> StreamWs(ServerContext& ctx, std::shared_ptr<engine::Subscription> sub,
                         MessageWriter& writer) {
  WsSink sink(writer);
  co_await Pump(ctx, std::move(sub), sink);
}

// Where a stream starts: the id, and the seq it resumes after.
struct StreamStart {
  JobId id = 0;
  Seq after = 0;
  bool finished = false;  // the tape is complete and `after` is its end
};

// Checks the job and the resume point before any stream starts, so a bad
// request gets a plain HTTP error: 404 unknown job, 422 `after` beyond the tape.
awaitable<Result<StreamStart>> Prepare(ServerContext& ctx, const Request& req, bool sse,
                                       Phase& phase) {
  phase = Phase::kDecode;
  auto id = PathId(req, "id");
  if (!id.ok()) co_return id.status();
  std::optional<int64_t> after;
  Status s = CheckKnownQuery(req, {"after"});
  if (s.ok()) s = QueryInt(req, "after", after);
  if (!s.ok()) co_return s;
  if (sse) {
    if (auto header = req.Header("Last-Event-ID")) {
      std::optional<Seq> seq = ParseLastEventId(*header);
      if (!seq) co_return Status::InvalidArgument("must be an event seq", "Last-Event-ID");
      after = *seq;  // a reconnecting browser's position wins over the URL's
    }
  }
  phase = Phase::kApply;
  if (after.value_or(0) < 0) co_return Status::InvalidArgument("must be >= 0", "after");
  if (ctx.draining.load()) co_return Status::Unavailable("the server is shutting down");
  auto job = co_await AwaitStore<Job>(
      [&](store::Done<Job> done) { ctx.store.JobGetAsync(*id, std::move(done)); });
  if (!job.ok()) co_return job.status();
  StreamStart start{.id = *id, .after = after.value_or(0)};
  if (start.after > job->last_seq) {
    co_return Status::InvalidArgument(
        "beyond the end of the job's tape (last seq " + std::to_string(job->last_seq) + ")",
        "after");
  }
  start.finished = IsTerminal(job->state) && start.after == job->last_seq;
  co_return start;
}

awaitable<Response> Sse(ServerContext& ctx, Request& req) {
  Phase phase;
  auto start = co_await Prepare(ctx, req, /*sse=*/true, phase);
  if (!start.ok()) co_return ErrorResponse(start.status(), req, phase);
  if (start->finished) {
    Response done;
    done.status = 204;  // nothing more will ever come: EventSource stops reconnecting
    co_return done;
  }
  auto token = std::make_shared<StreamHold>(ctx.streams);
  auto sub = ctx.hub.Subscribe(start->id, start->after, ctx.settings.stream_capacity);
  co_return SseResponse([&ctx, sub, token](BodyWriter& writer) -> awaitable<void> {
    return StreamSse(ctx, sub, writer);
  });
}

awaitable<Response> Ws(ServerContext& ctx, Request& req) {
  auto upgrade = req.Header("Upgrade");
  if (!upgrade || !EqualsIgnoreCase(*upgrade, "websocket")) {
    co_return ErrorResponse(
        Status::InvalidArgument("this route needs a WebSocket upgrade (Upgrade: websocket)",
                                "Upgrade"),
        req, Phase::kDecode);
  }
  Phase phase;
  auto start = co_await Prepare(ctx, req, /*sse=*/false, phase);
  if (!start.ok()) co_return ErrorResponse(start.status(), req, phase);
  auto token = std::make_shared<StreamHold>(ctx.streams);
  auto sub = ctx.hub.Subscribe(start->id, start->after, ctx.settings.stream_capacity);
  Response response;
  response.status = 101;
  response.websocket = [&ctx, sub, token](MessageWriter& writer) -> awaitable<void> {
    return StreamWs(ctx, sub, writer);
  };
  co_return response;
}

}  // namespace

void AddStreamRoutes(Router& router, ServerContext& ctx) {
  router.Add(Method::kGet, "/v1/jobs/{id}/stream", Permission::kRead,
             [&ctx](Request& req) -> awaitable<Response> { return Sse(ctx, req); });
  router.Add(Method::kGet, "/v1/jobs/{id}/ws", Permission::kRead,
             [&ctx](Request& req) -> awaitable<Response> { return Ws(ctx, req); });
}

}  // namespace jobtape::http
