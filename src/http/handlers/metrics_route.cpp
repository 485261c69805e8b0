// GET /metrics: Prometheus text format. Gauges owned elsewhere (jobs per queue
// and state, dispatcher waiters, open streams, store commit batches) are read
// for each scrape; see metrics.hpp.
#include "http/handlers/handler_util.hpp"
#include "http/handlers/metrics.hpp"
#include "http/handlers/routes.hpp"
#include "http/store_await.hpp"

namespace jobtape::http {
namespace {

using boost::asio::awaitable;

awaitable<Response> Scrape(ServerContext& ctx, Request& req) {
  auto queues = co_await AwaitStore<std::vector<store::QueueInfo>>(
      [&](store::Done<std::vector<store::QueueInfo>> done) {
        ctx.store.QueuesListAsync(std::move(done));
      });
  if (!queues.ok()) co_return ErrorResponse(queues.status(), req);
  Metrics::Sources sources{.queues = std::move(queues).value(),
                           .store = ctx.store.Stats(),
                           .dispatcher = ctx.dispatcher.counters(),
                           .open_streams = ctx.streams.open(),
                           .stream_catchups = ctx.hub.catchups()};
  if (ctx.executor_reading) sources.executor = ctx.executor_reading();
  Response response;
  response.status = 200;
  response.content_type = std::string(kPrometheusContentType);
  response.body = ctx.metrics.Render(sources);
  co_return response;
}

}  // namespace

void AddMetricsRoutes(Router& router, ServerContext& ctx) {
  router.Add(Method::kGet, "/metrics", Permission::kRead,
             [&ctx](Request& req) -> awaitable<Response> { return Scrape(ctx, req); });
}

}  // namespace jobtape::http
