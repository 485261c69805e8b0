// The whole v1 API in-process on 127.0.0.1:<any port>, as `jobtape serve`
// wires it (AddApiRoutes on a ServerContext), but on a ManualClock and with
// the engine parts in the test's hands: a SQLite store in a temp dir, a real
// Scheduler registered in the SnapshotRegistry (not started unless a test
// starts it), and ctx.schedules_changed waking it. The dispatcher is not
// registered for /health: it is never started here, so it would only show
// as a stalled loop once the virtual clock moves.
//
// Thread-safety: used from the test's thread; the server runs its own.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "../../store_contract/temp_dir.hpp"
#include "core/clock.hpp"
#include "engine/dispatcher.hpp"
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
#include "test_client.hpp"

namespace jobtape::http::testing {

// How long a test waits for a signal before declaring a hang.
inline constexpr std::chrono::milliseconds kSafety{30'000};

struct TestReply {
  int status = 0;  // 0: no reply
  std::string body;
  boost::json::value json;  // null unless the body is JSON
  std::string Header(std::string_view name) const { return reply.Header(name); }
  std::string ErrorCode() const { return Error("code"); }
  std::string ErrorField() const { return Error("field"); }
  std::string Error(std::string_view member) const {
    const auto* error = json.is_object() ? json.as_object().if_contains("error") : nullptr;
    const auto* v = error && error->is_object() ? error->as_object().if_contains(member) : nullptr;
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : "";
  }
  Reply reply;
};

class ApiServerTest : public ::testing::Test {
 protected:
  // The scheduler's interval: three of them make it stalled.
  static constexpr Duration kInterval = std::chrono::seconds(5);

  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    auto opened = store::sqlite::Open(
        {.path = dir_.path() + "/jobtape.db", .durability = store::sqlite::Durability::kNormal});
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
    dispatcher_ = std::make_unique<engine::Dispatcher>(*store_, clock_);
    hub_ = std::make_unique<engine::StreamHub>(*store_);
    store_->AddObserver(dispatcher_.get());
    store_->AddObserver(hub_.get());
    scheduler_ = std::make_unique<engine::Scheduler>(
        *store_, clock_, engine::SchedulerOptions{.interval = kInterval, .registry = &snapshots_});
    ctx_.reset(new ServerContext{.store = *store_,
                                 .dispatcher = *dispatcher_,
                                 .hub = *hub_,
                                 .snapshots = snapshots_,
                                 .clock = clock_,
                                 .metrics = metrics_,
                                 .started_at = clock_.Now()});
    ctx_->schedules_changed = [this] { scheduler_->Wake(); };
    router_ = std::make_unique<Router>(auth_);
    AddApiRoutes(*router_, *ctx_);
    HttpServerOptions options;
    options.address = "127.0.0.1";
    options.port = 0;
    server_ = std::make_unique<HttpServer>(std::move(options), router_->AsHandler());
    Status s = server_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  void TearDown() override {
    if (server_) server_->Stop();
    if (scheduler_) scheduler_->Stop();
    if (dispatcher_) dispatcher_->Stop();
    if (hub_) hub_->CloseAll(Status::Unavailable("test over"));
    store_.reset();  // before the observers it points to
  }

  TestReply Call(const std::string& method, const std::string& target,
                 const std::string& body = {}) {
    TestClient client(server_->port());
    std::vector<std::pair<std::string, std::string>> headers;
    if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
    TestReply out;
    auto reply = client.Send(method, target, body, headers);
    if (!reply) return out;
    out.reply = *reply;
    out.status = reply->status;
    out.body = reply->body;
    out.json = reply->BodyJson();
    return out;
  }

  store::testing::TempDir dir_;
  ManualClock clock_;
  std::unique_ptr<store::Store> store_;
  engine::SnapshotRegistry snapshots_;
  std::unique_ptr<engine::Dispatcher> dispatcher_;
  std::unique_ptr<engine::StreamHub> hub_;
  std::unique_ptr<engine::Scheduler> scheduler_;
  Metrics metrics_;
  std::unique_ptr<ServerContext> ctx_;
  Authenticator auth_ = Authenticator::Open();
  std::unique_ptr<Router> router_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace jobtape::http::testing
