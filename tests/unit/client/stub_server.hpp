// A real HttpServer on 127.0.0.1:<any port> with canned v1 handlers that
// tests script, for exercising the Client over sockets (keep-alive, errors,
// SSE reconnects) without an engine or a store.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "client/client.hpp"
#include "http/errors.hpp"
#include "http/job_encode.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "http/sse.hpp"

namespace jobtape::client::testing {

namespace asio = boost::asio;
using http::BodyWriter;
using http::Request;
using http::Response;

inline const TimePoint kT0 = FromMicros(1'700'000'000'000'000);

// Job 1's tape: created, started, progress 1..n-3 (percent = 10*k), final succeeded.
inline std::vector<Event> MakeTape(int n, JobId id = 1) {
  std::vector<Event> tape;
  for (int seq = 1; seq <= n; ++seq) {
    Event e;
    e.job_id = id;
    e.seq = seq;
    e.at = kT0 + std::chrono::milliseconds(seq);
    e.attempt = seq == 1 ? 0 : 1;
    if (seq == 1) {
      e.type = EventType::kCreated;
      e.data = R"({"queue":"default","kind":"k"})";
    } else if (seq == 2) {
      e.type = EventType::kStarted;
      e.data = R"({"attempt":1,"worker":"w"})";
    } else if (seq == n) {
      e.type = EventType::kFinal;
      e.data = R"({"state":"succeeded","attempt":1,"result":{"ok":true}})";
    } else {
      e.type = EventType::kProgress;
      e.data = R"({"percent":)" + std::to_string(10 * (seq - 2)) + R"(,"message":"step"})";
    }
    tape.push_back(e);
  }
  return tape;
}

inline std::string SseOf(const Event& e) {
  return http::FormatSseEvent(std::to_string(e.seq), EventTypeName(e.type), http::EncodeEvent(e));
}

// Waits on the connection's executor; false once the server is stopping.
inline asio::awaitable<bool> Pause(BodyWriter& w, std::chrono::milliseconds total) {
  auto executor = co_await asio::this_coro::executor;
  auto end = std::chrono::steady_clock::now() + total;
  while (std::chrono::steady_clock::now() < end) {
    if (w.stopping()) co_return false;
    asio::steady_timer timer(executor, std::chrono::milliseconds(10));
    co_await timer.async_wait(asio::use_awaitable);
  }
  co_return true;
}

class StubServerTest : public ::testing::Test {
 public:
  StubServerTest() : router_(auth_) {}
  ~StubServerTest() override { Stop(); }

  // Starts serving the routes added so far.
  void Start(http::HttpServerOptions options = {}) {
    options.address = "127.0.0.1";
    options.port = 0;
    options.shutdown_timeout = std::chrono::milliseconds(200);
    server_ = std::make_unique<http::HttpServer>(std::move(options), router_.AsHandler());
    Status s = server_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  void Stop() {
    if (server_) server_->Stop();
  }

  ClientOptions Options() const {
    ClientOptions o;
    o.server = BaseUrl{"127.0.0.1", server_->port(), ""};
    o.request_timeout = std::chrono::seconds(10);
    return o;
  }

  void Route(http::Method method, std::string_view pattern, http::Handler handler,
             http::Permission permission = http::Permission::kRead) {
    router_.Add(method, pattern, permission, std::move(handler),
                method == http::Method::kGet ? http::RequestBody::kNone : http::RequestBody::kJson);
  }

  // Records what a request carried (called on I/O threads).
  void Record(const Request& r) {
    std::lock_guard<std::mutex> lock(mu_);
    Seen seen;
    seen.target = r.target;
    seen.body = r.body;
    if (auto v = r.Header("Last-Event-ID")) seen.last_event_id = std::string(*v);
    if (auto v = r.Header("Authorization")) seen.authorization = std::string(*v);
    if (auto v = r.Header("Content-Type")) seen.content_type = std::string(*v);
    seen_.push_back(std::move(seen));
  }
  struct Seen {
    std::string target, body, last_event_id, authorization, content_type;
  };
  std::vector<Seen> seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

  http::Authenticator auth_ = http::Authenticator::Open();
  http::Router router_;
  std::unique_ptr<http::HttpServer> server_;
  std::mutex mu_;
  std::vector<Seen> seen_;  // GUARDED_BY(mu_)
};

}  // namespace jobtape::client::testing
