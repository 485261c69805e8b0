#include "http/handlers/routes.hpp"

#include <chrono>

#include "http/handlers/metrics.hpp"

namespace jobtape::http {

void AddApiRoutes(Router& router, ServerContext& ctx) {
  AddJobRoutes(router, ctx);
  AddClaimRoutes(router, ctx);
  AddLeaseRoutes(router, ctx);
  AddQueueRoutes(router, ctx);
  AddBatchRoutes(router, ctx);
  AddScheduleRoutes(router, ctx);
  AddStreamRoutes(router, ctx);
  AddHealthRoutes(router, ctx);
  AddMetricsRoutes(router, ctx);
  AddOpenApiRoutes(router, ctx);
}

Handler InstrumentedHandler(const Router& router, ServerContext& ctx) {
  return [&router, &ctx](Request& request) -> boost::asio::awaitable<Response> {
    const auto start = std::chrono::steady_clock::now();
    Response response = co_await router.Dispatch(request);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    ctx.metrics.ObserveRequest(request.method, request.route, response.status, took.count());
    co_return response;
  };
}

}  // namespace jobtape::http
