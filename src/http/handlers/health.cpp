// Health: GET /health/live (the process answers), GET /health/ready (the store
// answers, its schema is the one this binary writes and no background loop is
// stalled; not while shutting down), GET /health (the background loops'
// snapshots, R6).
//
// Both read only published snapshots, never live objects, so each loop's
// cycle, status and last_updated belong together. A loop that has not
// published for kStallIntervals of its intervals is reported `stalled` - a
// silent stall must be visible - and turns /health "degraded" (503) and
// /health/ready "stalled" (503, naming the loops), so a load balancer or
// orchestrator stops relying on a node whose scheduler or reaper hangs.
#include <algorithm>
#include <string>
#include <vector>

#include "engine/snapshot.hpp"
#include "http/handlers/handler_util.hpp"
#include "http/handlers/routes.hpp"
#include "http/job_encode.hpp"
#include "http/store_await.hpp"

namespace jobtape::http {
namespace {

using boost::asio::awaitable;

int64_t Millis(Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

// The snapshot as health judges it: a loop that has not published yet counts
// from the server's start (not from the epoch).
engine::LoopSnapshot HealthView(const engine::LoopSnapshot& snap, const ServerContext& ctx) {
  engine::LoopSnapshot view = snap;
  if (view.status == engine::kLoopStarting) {
    view.last_updated = std::max(view.last_updated, ctx.started_at);
  }
  return view;
}

// The names of the loops stalled at `now`, in name order.
std::vector<std::string> StalledLoops(const ServerContext& ctx, TimePoint now) {
  std::vector<std::string> stalled;
  for (const auto& snap : ctx.snapshots.All()) {
    if (engine::IsStalled(HealthView(*snap, ctx), now)) stalled.push_back(snap->name);
  }
  return stalled;
}

awaitable<Response> Live(Request&) {
  co_return JsonResponse(200, R"({"status":"ok"})");
}

awaitable<Response> Ready(ServerContext& ctx, Request& req) {
  if (ctx.draining.load()) co_return DrainingResponse(req);
  auto r = co_await AwaitStore<store::StoreHealth>(
      [&](store::Done<store::StoreHealth> done) { ctx.store.HealthAsync(std::move(done)); });
  if (!r.ok()) co_return ErrorResponse(r.status(), req);
  const bool current = r->schema_version == r->expected_schema_version;
  const std::vector<std::string> stalled = StalledLoops(ctx, ctx.clock.Now());
  const bool ready = current && stalled.empty();
  JsonWriter w;
  w.BeginObject();
  w.Key("status").String(!current ? "schema_mismatch" : ready ? "ready" : "stalled");
  w.Key("stalled_loops").BeginArray();
  for (const std::string& name : stalled)
    w.String(name);
  w.EndArray();
  w.Key("backend").String(r->backend);
  w.Key("schema_version").Int(r->schema_version);
  w.Key("expected_schema_version").Int(r->expected_schema_version);
  if (ctx.kinds != nullptr) {
    // A malformed kind file is skipped while the others run: reported here,
    // in the log and in /metrics, without failing readiness.
    w.Key("kinds").BeginObject();
    w.Key("loaded").Int(ctx.kinds->LoadedKinds());
    w.Key("errors").BeginArray();
    for (const KindProblem& p : ctx.kinds->Problems()) {
      w.BeginObject();
      w.Key("file").String(p.file);
      w.Key("message").String(p.message);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndObject();
  Response response = JsonReply(ready ? 200 : 503, w);
  if (!ready) response.SetHeader("Retry-After", "1");
  co_return response;
}

awaitable<Response> Health(ServerContext& ctx, Request& /*req*/) {
  auto store_health = co_await AwaitStore<store::StoreHealth>(
      [&](store::Done<store::StoreHealth> done) { ctx.store.HealthAsync(std::move(done)); });
  const TimePoint now = ctx.clock.Now();
  bool healthy =
      store_health.ok() && store_health->schema_version == store_health->expected_schema_version;
  JsonWriter w;
  w.BeginObject();
  w.Key("loops").BeginArray();
  for (const auto& snap : ctx.snapshots.All()) {
    const engine::LoopSnapshot view = HealthView(*snap, ctx);
    const bool stalled = engine::IsStalled(view, now);
    healthy = healthy && !stalled && view.status != engine::kLoopError;
    w.BeginObject();
    w.Key("name").String(snap->name);
    w.Key("cycle").Uint(snap->cycle);
    w.Key("status").String(stalled ? "stalled" : snap->status);
    w.Key("stalled").Bool(stalled);
    // Never published: no time to show (rather than the epoch).
    WriteTime(w, "last_updated",
              snap->cycle == 0 && snap->status == engine::kLoopStarting
                  ? std::nullopt
                  : std::optional<TimePoint>(snap->last_updated));
    w.Key("age_ms").Int(Millis(now - view.last_updated));
    w.Key("interval_ms").Int(Millis(snap->interval));
    w.Key("last_error");
    if (snap->last_error.empty()) {
      w.Null();
    } else {
      w.String(snap->last_error);
    }
    w.Key("counts").BeginObject();
    for (const auto& [name, value] : snap->counts)
      w.Key(name).Int(value);
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.Key("store").BeginObject();
  if (store_health.ok()) {
    w.Key("status").String(store_health->schema_version == store_health->expected_schema_version
                               ? "ok"
                               : "schema_mismatch");
    w.Key("backend").String(store_health->backend);
    w.Key("schema_version").Int(store_health->schema_version);
  } else {
    w.Key("status").String("error");
    w.Key("error").String(store_health.status().ToString());
  }
  w.EndObject();
  w.Key("open_streams").Int(ctx.streams.open());
  const bool draining = ctx.draining.load();
  w.Key("status").String(draining ? "stopping" : healthy ? "ok" : "degraded");
  WriteTime(w, "time", now);
  w.EndObject();
  co_return JsonReply(healthy && !draining ? 200 : 503, w);
}

}  // namespace

void AddHealthRoutes(Router& router, ServerContext& ctx) {
  router.Add(Method::kGet, "/health/live", Permission::kPublic, Live);
  router.Add(Method::kGet, "/health/ready", Permission::kPublic,
             [&ctx](Request& req) -> awaitable<Response> { return Ready(ctx, req); });
  router.Add(Method::kGet, "/health", Permission::kRead,
             [&ctx](Request& req) -> awaitable<Response> { return Health(ctx, req); });
}

}  // namespace jobtape::http
