// The queues resource: GET /v1/queues (settings, job counts per state and
// the reaper's totals since start) and PATCH /v1/queues/{name}
// {max_concurrent: int | null (unlimited), paused}.
#include <map>

#include "core/limits.hpp"
#include "http/handlers/handler_util.hpp"
#include "http/handlers/routes.hpp"
#include "http/job_encode.hpp"
#include "http/json_fields.hpp"
#include "http/store_await.hpp"

namespace jobtape::http {
namespace {

using boost::asio::awaitable;
namespace json = boost::json;

awaitable<Response> ListQueues(ServerContext& ctx, Request& req) {
  auto r = co_await AwaitStore<std::vector<store::QueueInfo>>(
      [&](store::Done<std::vector<store::QueueInfo>> done) {
        ctx.store.QueuesListAsync(std::move(done));
      });
  if (!r.ok()) co_return ErrorResponse(r.status(), req);
  const std::map<std::string, QueueReaperTotals> reaper = ctx.metrics.ReaperTotals();
  JsonWriter w;
  w.BeginObject().Key("queues").BeginArray();
  for (const store::QueueInfo& q : *r) {
    auto it = reaper.find(q.name);
    WriteQueueInfo(w, q, it != reaper.end() ? it->second : QueueReaperTotals{});
  }
  w.EndArray().EndObject();
  co_return JsonReply(200, w);
}

awaitable<Response> PatchQueue(ServerContext& ctx, Request& req) {
  auto body = ParseObjectBody(req, ctx);
  if (!body.ok()) co_return ErrorResponse(body.status(), req, Phase::kDecode);
  const json::object& o = body->get_object();
  store::QueueUpdateParams p{.now = ctx.clock.Now(), .name = std::string(req.Param("name"))};
  Status s = CheckKnownFields(o, {"max_concurrent", "paused"});
  if (s.ok() && o.contains("max_concurrent")) {
    if (o.at("max_concurrent").is_null()) {
      p.max_concurrent.emplace(std::nullopt);  // unlimited
    } else {
      int limit = 0;
      s = ReadInt(o, "max_concurrent", limit);
      p.max_concurrent.emplace(limit);
    }
  }
  if (s.ok() && FindField(o, "paused") != nullptr) {
    bool paused = false;
    s = ReadBool(o, "paused", paused);
    p.paused = paused;
  }
  if (!s.ok()) co_return ErrorResponse(s, req, Phase::kDecode);
  if (!IsValidName(p.name)) {
    co_return ErrorResponse(Status::InvalidArgument("must match [A-Za-z0-9_.:-]{1,128}", "name"),
                            req);
  }
  if (!p.max_concurrent && !p.paused) {
    co_return ErrorResponse(
        Status::InvalidArgument("nothing to change: give max_concurrent and/or paused"), req);
  }
  auto r = co_await AwaitStore<store::QueueInfo>([&](store::Done<store::QueueInfo> done) {
    ctx.store.QueueUpdateAsync(std::move(p), std::move(done));
  });
  if (!r.ok()) co_return ErrorResponse(r.status(), req);
  const std::map<std::string, QueueReaperTotals> reaper = ctx.metrics.ReaperTotals();
  auto it = reaper.find(r->name);
  JsonWriter w;
  WriteQueueInfo(w, *r, it != reaper.end() ? it->second : QueueReaperTotals{});
  co_return JsonReply(200, w);
}

}  // namespace

void AddQueueRoutes(Router& router, ServerContext& ctx) {
  router.Add(Method::kGet, "/v1/queues", Permission::kRead,
             [&ctx](Request& req) -> awaitable<Response> { return ListQueues(ctx, req); });
  router.Add(
      Method::kPatch, "/v1/queues/{name}", Permission::kQueuesAdmin,
      [&ctx](Request& req) -> awaitable<Response> { return PatchQueue(ctx, req); },
      RequestBody::kJson);
}

}  // namespace jobtape::http
