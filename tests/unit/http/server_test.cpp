// HttpServer over real loopback sockets: keep-alive, limits, slow clients,
// errors at the handler boundary, the connection cap, streamed bodies.
#include <boost/json/parse.hpp>

#include "server_fixture.hpp"

namespace jobtape::http::testing {
namespace {
namespace json = boost::json;

// `r` is a reply with `status` whose body is a JSON error with `code`.
::testing::AssertionResult IsJsonError(const std::optional<Reply>& r, int status,
                                       std::string_view code) {
  if (!r) return ::testing::AssertionFailure() << "no reply";
  if (r->status != status) {
    return ::testing::AssertionFailure() << "status " << r->status << ", not " << status;
  }
  boost::system::error_code ec;
  json::value body = json::parse(r->body, ec);
  const json::value* got = ec ? nullptr : body.find_pointer("/error/code", ec);
  if (got == nullptr || !got->is_string() || got->get_string() != code) {
    return ::testing::AssertionFailure() << "no error code " << code << " in " << r->body;
  }
  return ::testing::AssertionSuccess();
}

TEST_F(ServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  Start();
  TestClient client(port());
  ASSERT_TRUE(client.connected());
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    auto r = client.Send("GET", "/hello");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, R"({"hello":"world"})");
    EXPECT_EQ(r->Header("Content-Type"), "application/json");
    EXPECT_TRUE(r->keep_alive);
    ids.push_back(r->Header("X-Request-Id"));
  }
  EXPECT_NE(ids[0], ids[1]);
  EXPECT_NE(ids[1], ids[2]);
  EXPECT_EQ(server_->Stats().connections_accepted, 1u);
  EXPECT_EQ(server_->Stats().requests, 3u);
}

TEST_F(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
  Start();
  TestClient client(port());
  ASSERT_TRUE(
      client.WriteRaw("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
                      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: "
                      "application/json\r\nContent-Length: 7\r\n\r\n"
                      "[1,2,3]"));
  auto first = client.ReadReply();
  auto second = client.ReadReply();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->body, R"({"hello":"world"})");
  EXPECT_EQ(second->body, "[1,2,3]");
}

TEST_F(ServerTest, ConnectionCloseIsHonoured) {
  Start();
  TestClient client(port());
  auto r = client.Send("GET", "/hello", "", {{"Connection", "close"}});
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->keep_alive);
  EXPECT_TRUE(client.WaitForClose());
}

TEST_F(ServerTest, UnknownRouteAndWrongMethodAreJson) {
  Start();
  TestClient client(port());
  auto missing = client.Send("GET", "/nope");
  ASSERT_TRUE(IsJsonError(missing, 404, "not_found"));
  auto wrong = client.Send("DELETE", "/hello");
  ASSERT_TRUE(IsJsonError(wrong, 405, "method_not_allowed"));
  EXPECT_EQ(wrong->Header("Allow"), "GET");
  EXPECT_TRUE(wrong->keep_alive);  // errors do not cost the connection
}

TEST_F(ServerTest, OversizedContentLengthIs413BeforeTheBodyIsRead) {
  Start();  // the default 1 MiB limit
  TestClient client(port());
  ASSERT_TRUE(
      client.WriteRaw("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      "Content-Length: 1048577\r\n\r\n["));
  auto r = client.ReadReply();
  ASSERT_TRUE(IsJsonError(r, 413, "payload_too_large"));
  EXPECT_FALSE(r->keep_alive);
  EXPECT_TRUE(client.WaitForClose());
}

TEST_F(ServerTest, BodyAtTheLimitIsAccepted) {
  HttpServerOptions options;
  options.limits.max_body_bytes = 64 * 1024;
  Start(options);
  TestClient client(port());
  std::string body = "\"" + std::string(64 * 1024 - 2, 'x') + "\"";
  auto r = client.Send("POST", "/echo", body);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body.size(), body.size());
}

TEST_F(ServerTest, OversizedChunkedBodyIs413) {
  HttpServerOptions options;
  options.limits.max_body_bytes = 1000;
  Start(options);
  TestClient client(port());
  std::string chunk(600, 'x');
  ASSERT_TRUE(
      client.WriteRaw("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n258\r\n" +
                      chunk + "\r\n258\r\n" + chunk + "\r\n0\r\n\r\n"));
  auto r = client.ReadReply();
  ASSERT_TRUE(IsJsonError(r, 413, "payload_too_large"));
}

TEST_F(ServerTest, OversizedHeadersAre431) {
  HttpServerOptions options;
  options.limits.max_header_bytes = 1024;
  Start(options);
  TestClient client(port());
  auto r = client.Send("GET", "/hello", "", {{"X-Big", std::string(2000, 'a')}});
  ASSERT_TRUE(IsJsonError(r, 431, "payload_too_large"));
}

TEST_F(ServerTest, MalformedRequestIs400) {
  Start();
  TestClient client(port());
  ASSERT_TRUE(client.WriteRaw("GET /hello HTTP/1.1\r\nHost x\r\n\r\n"));
  auto r = client.ReadReply();
  ASSERT_TRUE(IsJsonError(r, 400, "invalid_argument"));
}

TEST_F(ServerTest, NonOriginFormTargetIs400) {
  Start();
  TestClient client(port());
  auto r = client.Send("GET", "http://example.com/hello");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 400);
}

TEST_F(ServerTest, ExpectContinueGetsAnInterimResponse) {
  Start();
  TestClient client(port());
  ASSERT_TRUE(
      client.WriteRaw("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      "Content-Length: 2\r\nExpect: 100-continue\r\n\r\n"));
  auto interim = client.ReadReply();
  ASSERT_TRUE(interim.has_value());
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(client.WriteRaw("{}"));
  auto r = client.ReadReply();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "{}");
}

TEST_F(ServerTest, SlowClientDoesNotBlockOthers) {
  HttpServerOptions options;
  options.io_threads = 1;  // even with a single I/O thread
  options.header_timeout = std::chrono::milliseconds(300);
  Start(options);

  TestClient slow(port());
  ASSERT_TRUE(slow.WriteRaw("G"));  // one byte of a request, then nothing

  TestClient normal(port(), std::chrono::seconds(5));
  auto r = normal.Send("GET", "/hello");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);

  // The stalled request runs out of header time and is closed.
  EXPECT_TRUE(slow.WaitForClose());
  // The normal client's connection is unaffected.
  EXPECT_EQ(normal.Send("GET", "/hello")->status, 200);
}

TEST_F(ServerTest, SilentConnectionIsClosedAfterHeaderTimeout) {
  HttpServerOptions options;
  options.header_timeout = std::chrono::milliseconds(200);
  Start(options);
  TestClient silent(port());
  ASSERT_TRUE(silent.connected());
  EXPECT_TRUE(silent.WaitForClose());
}

TEST_F(ServerTest, IdleKeepAliveConnectionIsClosedAfterIdleTimeout) {
  HttpServerOptions options;
  options.idle_timeout = std::chrono::milliseconds(200);
  Start(options);
  TestClient client(port());
  ASSERT_EQ(client.Send("GET", "/hello")->status, 200);
  EXPECT_TRUE(client.WaitForClose());
}

TEST_F(ServerTest, HandlerExceptionIsJson500WithRequestId) {
  Start();
  TestClient client(port());
  auto r = client.Send("GET", "/throw");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 500);
  auto error = json::parse(r->body).at("error");
  EXPECT_EQ(error.at("code").as_string(), "internal");
  std::string id = r->Header("X-Request-Id");
  EXPECT_FALSE(id.empty());
  EXPECT_EQ(error.at("request_id").as_string(), id);
  EXPECT_EQ(r->body.find("boom"), std::string::npos);  // no internals leak to the client
  auto errors = Errors();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].first, id);
  EXPECT_EQ(errors[0].second, "boom");
  // The connection survives.
  EXPECT_EQ(client.Send("GET", "/hello")->status, 200);
}

TEST_F(ServerTest, ConnectionsOverTheCapGet503) {
  HttpServerOptions options;
  options.max_connections = 2;
  Start(options);
  TestClient a(port()), b(port());
  // A reply proves the server accepted and counts each connection.
  ASSERT_EQ(a.Send("GET", "/hello")->status, 200);
  ASSERT_EQ(b.Send("GET", "/hello")->status, 200);
  TestClient c(port());
  auto r = c.Send("GET", "/hello");
  ASSERT_TRUE(IsJsonError(r, 503, "unavailable"));
  EXPECT_EQ(r->Header("Retry-After"), "1");
  EXPECT_TRUE(c.WaitForClose());
  EXPECT_EQ(server_->Stats().connections_rejected, 1u);
  // Those within the cap carry on.
  EXPECT_EQ(a.Send("GET", "/hello")->status, 200);
}

TEST_F(ServerTest, StreamedBodyIsWrittenUntilTheStreamerReturns) {
  Start();
  TestClient client(port());
  auto r = client.Send("GET", "/stream");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->Header("Content-Type"), "text/event-stream");
  EXPECT_EQ(r->Header("Cache-Control"), "no-cache");
  EXPECT_EQ(r->body,
            "id: 1\nevent: tick\ndata: n\n\nid: 2\nevent: tick\ndata: n\n\n"
            "id: 3\nevent: tick\ndata: n\n\n");
  EXPECT_FALSE(r->keep_alive);
}

TEST(ServerStartTest, ReportsBadAddressesAndBusyPorts) {
  Authenticator auth = Authenticator::Open();
  Router router(auth);
  HttpServerOptions bad;
  bad.address = "not-an-ip";
  HttpServer s1(bad, router.AsHandler());
  EXPECT_EQ(s1.Start().code(), ErrorCode::kInvalidArgument);

  HttpServerOptions any;
  any.port = 0;
  HttpServer s2(any, router.AsHandler());
  ASSERT_TRUE(s2.Start().ok());
  EXPECT_EQ(s2.Start().code(), ErrorCode::kFailedPrecondition);
  HttpServerOptions same;
  same.port = s2.port();
  HttpServer s3(same, router.AsHandler());
  EXPECT_EQ(s3.Start().code(), ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace jobtape::http::testing
