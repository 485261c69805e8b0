// The v1 API route table (DESIGN §3): one Add*Routes function per resource,
// each defined in that resource's handler file, and the whole table.
//
//   jobs       POST/GET /v1/jobs, GET /v1/jobs/{id}, GET .../events,
//              POST .../cancel, POST .../retry                       jobs.cpp
//   claims     POST /v1/claims (long poll)                           claims.cpp
//   leases     POST /v1/leases/{job}/{attempt}/heartbeat|events|complete|fail,
//              POST /v1/leases/complete (batch)                      leases.cpp
//   queues     GET /v1/queues, PATCH /v1/queues/{name}               queues.cpp
//   schedules  GET /v1/schedules, GET|PUT|DELETE /v1/schedules/{name} schedules.cpp
//   streams    GET /v1/jobs/{id}/stream (SSE), GET /v1/jobs/{id}/ws  streams.cpp
//   health     GET /health/live, /health/ready, /health              health.cpp
//   metrics    GET /metrics                                          metrics_route.cpp
//   openapi    GET /openapi.json                                     openapi.cpp
//
// Thread-safety: build the table before serving (Router's rule); `ctx` must
// outlive the router.
#pragma once

#include "http/handlers/server_context.hpp"
#include "http/router.hpp"

namespace jobtape::http {

void AddJobRoutes(Router& router, ServerContext& ctx);
void AddClaimRoutes(Router& router, ServerContext& ctx);
void AddLeaseRoutes(Router& router, ServerContext& ctx);
void AddQueueRoutes(Router& router, ServerContext& ctx);
void AddBatchRoutes(Router& router, ServerContext& ctx);
void AddScheduleRoutes(Router& router, ServerContext& ctx);
void AddStreamRoutes(Router& router, ServerContext& ctx);
void AddHealthRoutes(Router& router, ServerContext& ctx);
void AddMetricsRoutes(Router& router, ServerContext& ctx);
void AddOpenApiRoutes(Router& router, ServerContext& ctx);

// Every route above.
void AddApiRoutes(Router& router, ServerContext& ctx);

// The router's handler, wrapped to record each request's method, route
// pattern, status and latency in ctx.metrics. Use it as the server's Handler.
Handler InstrumentedHandler(const Router& router, ServerContext& ctx);

}  // namespace jobtape::http
