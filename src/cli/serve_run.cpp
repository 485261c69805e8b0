// RunServer: wires store, engine and HTTP together, serves until a signal,
// then shuts down in the order that loses nothing:
//   1. draining: new submissions and claims are answered 503, and the cron
//      scheduler stops (a fire it misses now is made up at the next start
//      under the schedule's misfire policy; the store never fires twice);
//   2. the dispatcher stops: parked long polls are answered 503 at once;
//   3. the stream hub closes: every SSE/WebSocket watcher gets a `shutdown`
//      event with the last seq it has (waited for, briefly);
//   4. the HTTP server stops accepting, lets requests in flight finish for
//      up to shutdown_timeout, then cancels what is left;
//   5. the reaper stops; the store is destroyed last but one (its writer
//      commits what is queued), before the objects it reports to.
#include <sys/resource.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>

#include <spdlog/spdlog.h>

#include "cli/builtin_executor.hpp"
#include "cli/node_id.hpp"
#include "cli/serve.hpp"
#include "cli/signal_watcher.hpp"
#include "engine/dispatcher.hpp"
#include "engine/reaper.hpp"
#include "engine/scheduler.hpp"
#include "engine/snapshot.hpp"
#include "engine/stream_hub.hpp"
#include "http/auth.hpp"
#include "http/handlers/metrics.hpp"
#include "http/handlers/routes.hpp"
#include "http/handlers/server_context.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace jobtape::cli {
namespace {

// How long shutdown waits for streams to deliver their `shutdown` event
// before connections are closed under them (a client that does not read
// must not hold up the exit).
constexpr std::chrono::milliseconds kStreamGoodbye(2000);

// 10,000 watchers need 10,000 descriptors; the usual soft limit is 1,024.
void RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

Result<http::Authenticator> BuildAuthenticator(const ServerConfig& config) {
  std::vector<http::TokenConfig> tokens;
  for (std::size_t i = 0; i < config.tokens.size(); ++i) {
    const TokenConfig& t = config.tokens[i];
    http::TokenConfig out;
    out.role = http::ParseRole(t.role).value_or(http::Role::kReader);
    out.name = t.name.empty() ? t.role + "-" + std::to_string(i) : t.name;
    out.token = t.token;
    tokens.push_back(std::move(out));
  }
  if (tokens.empty()) return http::Authenticator::Open();
  return http::Authenticator::Create(std::move(tokens));
}

http::HttpServerOptions ServerOptions(const ServerConfig& c, const std::string& host,
                                      uint16_t port) {
  http::HttpServerOptions o;
  o.address = host;
  o.port = port;
  o.io_threads = c.io_threads;
  o.max_connections = static_cast<std::size_t>(c.max_connections);
  o.header_timeout = c.header_timeout;
  o.idle_timeout = c.idle_timeout;
  o.write_timeout = c.write_timeout;
  o.body_timeout = std::max(c.header_timeout, http::kDefaultBodyTimeout);
  o.shutdown_timeout = c.shutdown_timeout;
  o.limits.max_body_bytes = c.max_body_bytes;
  o.limits.max_large_body_bytes = c.max_batch_body_bytes;
  o.limits.max_header_bytes = c.max_header_bytes;
  o.limits.max_json_depth = static_cast<std::size_t>(c.max_json_depth);
  o.limits.max_object_keys = c.max_object_keys;
  o.limits.max_string_bytes = c.max_string_bytes;
  o.on_internal_error = [](std::string_view request_id, std::string_view what) {
    spdlog::error("request {} failed: {}", request_id, what);
  };
  return o;
}

}  // namespace

int RunServer(const ServerConfig& config) {
  SignalWatcher signals;  // first: every thread started later inherits the mask
  RaiseOpenFileLimit();

  std::string host;
  uint16_t port = 0;
  Status s = SplitHostPort(config.listen, host, port);
  auto auth = s.ok() ? BuildAuthenticator(config) : Result<http::Authenticator>(s);
  if (auth.ok()) s = http::CheckBindSecurity(host, *auth);
  if (!auth.ok() || !s.ok()) {
    spdlog::error("invalid configuration: {}", (auth.ok() ? s : auth.status()).message());
    return 2;
  }

  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) {
    spdlog::error("cannot create data directory {}: {}", config.data_dir, ec.message());
    return 1;
  }
  store::sqlite::Options store_options;
  store_options.path = config.DatabasePath();
  store_options.durability = config.durability == "normal" ? store::sqlite::Durability::kNormal
                                                           : store::sqlite::Durability::kFull;
  auto opened = store::sqlite::Open(store_options);
  if (!opened.ok()) {
    spdlog::error("cannot open the database {}: {}", store_options.path,
                  opened.status().ToString());
    return 1;
  }
  std::unique_ptr<store::Store> store = std::move(opened).value();

  Clock& clock = SystemClock::Instance();
  auto node_id = config.node_id.empty() ? LoadOrCreateNodeId(config.data_dir)
                                        : Result<std::string>(config.node_id);
  if (!node_id.ok()) {
    spdlog::error("cannot determine the node id: {}", node_id.status().message());
    return 1;
  }
  engine::SnapshotRegistry snapshots;
  engine::Dispatcher dispatcher(*store, clock, {.registry = &snapshots});
  engine::StreamHub hub(*store);
  store->AddObserver(&dispatcher);
  store->AddObserver(&hub);
  std::unique_ptr<BuiltinExecutor> executor;
  if (!config.kinds_dir.empty()) {
    auto built = BuiltinExecutor::Create(config, *node_id, *store, dispatcher, clock, snapshots);
    if (!built.ok()) {
      spdlog::error("cannot start the built-in executor: {}", built.status().ToString());
      return 1;
    }
    executor = std::move(built).value();
  }
  // What a crash of this node left running on its own executor has no process
  // any more: those attempts end as `interrupted` and are retried (R8).
  // Expired leases of remote workers are the reaper's (its first cycle runs
  // at start).
  auto recovered = store->AttemptsRecover({clock.Now(), *node_id});
  if (!recovered.ok()) {
    spdlog::error("recovering this node's attempts failed: {}", recovered.status().ToString());
    if (executor) executor->Stop(Duration{0});
    store.reset();  // before the observers it points to
    return 1;
  }
  if (recovered->interrupted > 0) {
    spdlog::warn("recovered {} attempt(s) interrupted by the last shutdown of node {}",
                 recovered->interrupted, *node_id);
  }
  http::Metrics metrics;
  const store::ReapRules reap_rules{.expired_leases = config.reap_expired_leases,
                                    .runtime_backstop = config.reap_runtime_backstop,
                                    .cancel_grace = config.reap_cancel_grace};
  if (!(reap_rules == store::ReapRules{})) {
    spdlog::warn("reaper rules switched off:{}{}{} (their attempts are left running)",
                 reap_rules.expired_leases ? "" : " reap_expired_leases",
                 reap_rules.runtime_backstop ? "" : " reap_runtime_backstop",
                 reap_rules.cancel_grace ? "" : " reap_cancel_grace");
  }
  engine::Reaper reaper(*store, clock,
                        {.registry = &snapshots,
                         .rules = reap_rules,
                         .on_reaped = [&metrics](const store::ReapResult& r) {
                           metrics.LeasesReaped(r);
                           if (r.reaped() > 0 || r.raced > 0) {
                             spdlog::info(
                                 "reaper: {} leases expired, {} cancels completed, {} timed out, "
                                 "{} lost to a concurrent change",
                                 r.expired, r.cancelled, r.timed_out, r.raced);
                           }
                         }});

  engine::Scheduler scheduler(
      *store, clock,
      {.registry = &snapshots, .on_fired = [](const store::SchedulesFireDueResult& r) {
         for (const store::FiredSchedule& f : r.fired) {
           spdlog::info("scheduler: schedule {} fired for {}: job {}{}{}", f.name,
                        FormatTime(f.fire_at), f.job_id, f.catch_up ? " (catching up)" : "",
                        f.duplicate ? " (already enqueued)" : "");
         }
         if (r.skipped > 0)
           spdlog::info("scheduler: {} schedule(s) skipped missed fires", r.skipped);
         for (const std::string& name : r.failed) {
           spdlog::warn("scheduler: schedule {} stopped: its next fire cannot be computed", name);
         }
       }});

  http::ServerContext ctx{.store = *store,
                          .dispatcher = dispatcher,
                          .hub = hub,
                          .snapshots = snapshots,
                          .clock = clock,
                          .metrics = metrics,
                          .started_at = clock.Now()};
  ctx.settings.default_lease = config.default_lease;
  ctx.settings.max_claim_wait = config.max_claim_wait;
  ctx.settings.stream_keepalive = config.stream_keepalive;
  ctx.settings.cancel_grace = config.cancel_grace;
  ctx.schedules_changed = [&scheduler] { scheduler.Wake(); };
  if (executor) {
    ctx.kinds = executor.get();
    ctx.executor_reading = [&executor] { return executor->Reading(); };
  }
  http::HttpServerOptions server_options = ServerOptions(config, host, port);
  ctx.settings.http_limits = server_options.limits;

  http::Router router(*auth);
  http::AddApiRoutes(router, ctx);
  http::HttpServer server(std::move(server_options), http::InstrumentedHandler(router, ctx));

  dispatcher.Start();
  reaper.Start();
  scheduler.Start();
  if (executor) executor->Start();
  s = server.Start();
  if (!s.ok()) {
    spdlog::error("cannot serve on {}: {}", config.listen, s.message());
    if (executor) executor->Stop(Duration{0});
    scheduler.Stop();
    reaper.Stop();
    dispatcher.Stop();
    hub.CloseAll(Status::Unavailable("server failed to start"));
    store.reset();
    return 1;
  }
  const std::string shown_host = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  spdlog::info("jobtape {} node {}, data in {} (durability {}), {} API token(s)", "0.1.0", *node_id,
               config.data_dir, config.durability, config.tokens.size());
  spdlog::info("listening on http://{}:{}", shown_host, server.port());

  const int sig = signals.Wait();
  spdlog::info("received {}: shutting down (a second signal exits at once)", strsignal(sig));
  ctx.draining.store(true);
  scheduler.Stop();
  // Running commands get shutdown_timeout to stop; what is left is ended as
  // interrupted (retried later), so no attempt waits for its lease to expire.
  if (executor) executor->Stop(config.shutdown_timeout);
  dispatcher.Stop();
  hub.CloseAll(Status::Unavailable("server shutting down"));
  if (!ctx.streams.WaitForNone(std::min(kStreamGoodbye, config.shutdown_timeout))) {
    spdlog::warn("{} stream(s) did not take their shutdown event in time", ctx.streams.open());
  }
  server.Stop();
  reaper.Stop();
  store.reset();  // commits what is queued; before the observers it points to
  spdlog::info("stopped");
  return 0;
}

}  // namespace jobtape::cli
