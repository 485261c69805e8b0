// HttpServer::Stop: stop accepting, close idle connections, let requests in
// flight finish, cancel what outlives the deadline.
#include <future>

#include "server_fixture.hpp"

namespace jobtape::http::testing {
namespace {

constexpr auto kGuard = std::chrono::seconds(10);

TEST_F(ServerTest, StopLetsRequestsInFlightFinish) {
  std::promise<void> draining;
  HttpServerOptions options;
  options.shutdown_timeout = std::chrono::seconds(30);  // never reached here
  options.on_draining = [&] { draining.set_value(); };
  Start(options);

  TestClient idle(port());
  ASSERT_EQ(idle.Send("GET", "/hello")->status, 200);

  auto busy = std::async(std::launch::async, [p = port()] {
    TestClient client(p);
    return client.Send("GET", "/wait");
  });
  auto held = held_.get_future();
  ASSERT_EQ(held.wait_for(kGuard), std::future_status::ready);
  store::Done<int> done = held.get();  // the handler now awaits the "store"

  auto stopped = std::async(std::launch::async, [this] { server_->Stop(); });
  ASSERT_EQ(draining.get_future().wait_for(kGuard), std::future_status::ready);

  EXPECT_TRUE(idle.WaitForClose());              // idle keep-alive: closed at once
  EXPECT_FALSE(TestClient(port()).connected());  // no longer accepting
  EXPECT_NE(stopped.wait_for(std::chrono::milliseconds(0)), std::future_status::ready);

  done(Result<int>(7));  // the store answers; the request completes
  ASSERT_EQ(busy.wait_for(kGuard), std::future_status::ready);
  auto reply = busy.get();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, "7");
  EXPECT_FALSE(reply->keep_alive);  // Connection: close while stopping
  ASSERT_EQ(stopped.wait_for(kGuard), std::future_status::ready);
}

TEST_F(ServerTest, StopCancelsRequestsPastTheDeadline) {
  HttpServerOptions options;
  options.shutdown_timeout = std::chrono::milliseconds(100);
  Start(options);

  auto busy = std::async(std::launch::async, [p = port()] {
    TestClient client(p);
    return client.Send("GET", "/wait");
  });
  auto held = held_.get_future();
  ASSERT_EQ(held.wait_for(kGuard), std::future_status::ready);
  store::Done<int> done = held.get();

  auto stopped = std::async(std::launch::async, [this] { server_->Stop(); });
  ASSERT_EQ(stopped.wait_for(kGuard), std::future_status::ready);

  // The handler resumed with kUnavailable instead of waiting for the store.
  auto resumed = resumed_.get_future();
  ASSERT_EQ(resumed.wait_for(std::chrono::milliseconds(0)), std::future_status::ready);
  EXPECT_EQ(resumed.get().code(), ErrorCode::kUnavailable);
  ASSERT_EQ(busy.wait_for(kGuard), std::future_status::ready);
  busy.get();  // the connection was closed under it: no reply, or a 503

  done(Result<int>(7));  // a late store completion is dropped harmlessly
}

TEST_F(ServerTest, StopEndsIdleStreams) {
  HttpServerOptions options;
  options.shutdown_timeout = std::chrono::seconds(30);  // must not be waited for
  Start(options);
  TestClient watcher(port());
  ASSERT_TRUE(watcher.WriteRaw("GET /stream-idle HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto waiting = stream_waiting_.get_future();
  ASSERT_EQ(waiting.wait_for(kGuard), std::future_status::ready);

  // A stream waiting for events is not a request in flight: Stop ends it at once.
  auto stopped = std::async(std::launch::async, [this] { server_->Stop(); });
  ASSERT_EQ(stopped.wait_for(kGuard), std::future_status::ready);

  auto r = watcher.ReadReply();  // the body ends with the connection
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->Header("Content-Type"), "text/event-stream");
  EXPECT_EQ(r->body, ": hello\n\n");
  EXPECT_TRUE(Errors().empty());  // the cancelled wait is not reported as an error
}

TEST_F(ServerTest, StopIsIdempotentAndStopsAnUnusedServer) {
  Start();
  server_->Stop();
  server_->Stop();
  EXPECT_FALSE(TestClient(port()).connected());
}

}  // namespace
}  // namespace jobtape::http::testing
