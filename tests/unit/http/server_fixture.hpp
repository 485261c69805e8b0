// A server on 127.0.0.1:<any port> with a small route table, for the server tests.
#pragma once

#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "http/errors.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "http/sse.hpp"
#include "http/store_await.hpp"
#include "test_client.hpp"

namespace jobtape::http::testing {

class ServerTest : public ::testing::Test {
 protected:
  ServerTest() : router_(auth_) {
    router_.Add(Method::kGet, "/hello", Permission::kPublic,
                [](Request&) -> boost::asio::awaitable<Response> {
                  co_return JsonResponse(200, R"({"hello":"world"})");
                });
    router_.Add(
        Method::kPost, "/echo", Permission::kPublic,
        [](Request& r) -> boost::asio::awaitable<Response> { co_return JsonResponse(200, r.body); },
        RequestBody::kJson);
    router_.Add(Method::kGet, "/throw", Permission::kPublic,
                [](Request&) -> boost::asio::awaitable<Response> {
                  throw std::runtime_error("boom");
                  co_return Response();
                });
    router_.Add(Method::kGet, "/stream", Permission::kPublic,
                [](Request&) -> boost::asio::awaitable<Response> {
                  co_return SseResponse([](BodyWriter& w) -> boost::asio::awaitable<void> {
                    for (int i = 1; i <= 3; ++i) {
                      if (!co_await w.Write(FormatSseEvent(std::to_string(i), "tick", "n"))) {
                        co_return;
                      }
                    }
                  });
                });
    // Writes one comment, then waits "forever" for the next event.
    router_.Add(Method::kGet, "/stream-idle", Permission::kPublic,
                [this](Request&) -> boost::asio::awaitable<Response> {
                  co_return SseResponse([this](BodyWriter& w) -> boost::asio::awaitable<void> {
                    std::string hello;
                    AppendSseComment(hello, "hello");
                    if (!co_await w.Write(hello)) co_return;
                    stream_waiting_.set_value();
                    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor,
                                                    std::chrono::hours(1));
                    co_await timer.async_wait(boost::asio::use_awaitable);
                  });
                });
    // Awaits a completion the test holds (through held_), then answers its value.
    router_.Add(Method::kGet, "/wait", Permission::kPublic,
                [this](Request&) -> boost::asio::awaitable<Response> {
                  Result<int> r = co_await AwaitStore<int>(
                      [this](store::Done<int> done) { held_.set_value(std::move(done)); });
                  resumed_.set_value(r.ok() ? Status::Ok() : r.status());
                  if (!r.ok()) co_return ErrorResponse(r.status(), Phase::kApply, "");
                  co_return JsonResponse(200, std::to_string(*r));
                });
  }

  ~ServerTest() override {
    if (server_) server_->Stop();
  }

  void Start(HttpServerOptions options = {}) {
    options.address = "127.0.0.1";
    options.port = 0;
    if (!options.on_internal_error) {
      options.on_internal_error = [this](std::string_view id, std::string_view what) {
        std::lock_guard<std::mutex> lock(mu_);
        errors_.emplace_back(std::string(id), std::string(what));
      };
    }
    server_ = std::make_unique<HttpServer>(std::move(options), router_.AsHandler());
    Status s = server_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_NE(server_->port(), 0);
  }

  uint16_t port() const { return server_->port(); }

  std::vector<std::pair<std::string, std::string>> Errors() {
    std::lock_guard<std::mutex> lock(mu_);
    return errors_;
  }

  Authenticator auth_ = Authenticator::Open();
  Router router_;
  std::unique_ptr<HttpServer> server_;
  std::promise<store::Done<int>> held_;
  std::promise<Status> resumed_;
  std::promise<void> stream_waiting_;
  std::mutex mu_;
  std::vector<std::pair<std::string, std::string>> errors_;  // GUARDED_BY(mu_)
};

}  // namespace jobtape::http::testing
