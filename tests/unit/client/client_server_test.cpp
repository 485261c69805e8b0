// Client over real sockets against canned handlers: keep-alive reuse, the
// request shapes it sends, error replies, tokens, dead connections.
#include <thread>

#include "stub_server.hpp"

namespace jobtape::client::testing {
namespace {

using http::Method;

Job SomeJob(JobId id) {
  Job job;
  job.id = id;
  job.spec.kind = "k";
  job.state = JobState::kQueued;
  job.created_at = kT0;
  return job;
}

http::Handler GetJobHandler(StubServerTest* t) {
  return [t](Request& r) -> asio::awaitable<Response> {
    t->Record(r);
    JobId id = std::stoll(std::string(r.Param("id")));
    if (id == 404) {
      co_return http::ErrorResponse(Status::NotFound("job 404 not found"), r);
    }
    co_return http::JsonResponse(200, http::EncodeJob(SomeJob(id)));
  };
}

TEST_F(StubServerTest, KeepAliveServesManyCallsOnOneConnection) {
  Route(Method::kGet, "/v1/jobs/{id}", GetJobHandler(this));
  Start();
  Client client(Options());
  for (JobId id = 1; id <= 5; ++id) {
    auto job = client.Get(id);
    ASSERT_TRUE(job.ok()) << job.status().ToString();
    EXPECT_EQ(job->id, id);
  }
  EXPECT_EQ(server_->Stats().connections_accepted, 1u);
}

TEST_F(StubServerTest, ErrorReplyIsTheServersStatusAndKeepsTheConnection) {
  Route(Method::kGet, "/v1/jobs/{id}", GetJobHandler(this));
  Start();
  Client client(Options());
  auto missing = client.Get(404);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "job 404 not found");
  EXPECT_TRUE(client.Get(1).ok());
  EXPECT_EQ(server_->Stats().connections_accepted, 1u);
}

TEST_F(StubServerTest, UnknownRouteIsNotFound) {
  Start();
  Client client(Options());
  auto r = client.Queues();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kNotFound);
}

TEST_F(StubServerTest, AConnectionTheServerClosedWhileIdleIsReplaced) {
  Route(Method::kGet, "/v1/jobs/{id}", GetJobHandler(this));
  http::HttpServerOptions options;
  options.idle_timeout = std::chrono::milliseconds(50);
  Start(options);
  Client client(Options());
  ASSERT_TRUE(client.Get(1).ok());
  // The signal: the server has dropped the idle connection.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (server_->Stats().open_connections != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(server_->Stats().open_connections, 0u);
  auto again = client.Get(2);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(server_->Stats().connections_accepted, 2u);
}

TEST_F(StubServerTest, NoServerIsUnavailable) {
  Start();
  ClientOptions o = Options();
  Stop();  // the port is free again
  Client client(o);
  auto r = client.Get(1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(r.status().message().find("cannot connect"), std::string::npos) << r.status().message();
}

TEST_F(StubServerTest, BearerTokenIsSentAndItsAbsenceRefused) {
  auto auth = http::Authenticator::Create({{"ci", http::Role::kReader, "reader-token-0123456789"}});
  ASSERT_TRUE(auth.ok());
  auth_ = std::move(auth).value();
  Route(Method::kGet, "/v1/jobs/{id}", GetJobHandler(this));
  Route(Method::kPost, "/v1/jobs/{id}/cancel", GetJobHandler(this), http::Permission::kJobsCancel);
  Start();
  Client anonymous(Options());
  auto refused = anonymous.Get(1);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kUnauthenticated);

  ClientOptions o = Options();
  o.token = "reader-token-0123456789";
  Client client(o);
  ASSERT_TRUE(client.Get(1).ok());
  EXPECT_EQ(seen().back().authorization, "Bearer reader-token-0123456789");
  auto denied = client.Cancel(1);  // a reader may not cancel
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.status().code(), ErrorCode::kPermissionDenied);
}

TEST_F(StubServerTest, RequestsCarryTheirParametersAndBodies) {
  auto record_and = [this](std::string reply) -> http::Handler {
    return [this, reply](Request& r) -> asio::awaitable<Response> {
      Record(r);
      co_return http::JsonResponse(200, reply);
    };
  };
  Route(Method::kGet, "/v1/jobs", record_and(R"({"jobs":[],"next_cursor":null})"));
  Route(Method::kPost, "/v1/jobs", record_and(R"({"id":7,"state":"scheduled","duplicate":false})"),
        http::Permission::kJobsSubmit);
  Route(Method::kGet, "/v1/jobs/{id}/events",
        record_and(R"({"events":[],"state":"running","last_seq":3})"));
  Route(Method::kPost, "/v1/jobs/{id}/cancel",
        record_and(R"({"id":7,"state":"running","changed":true,"cancel_requested":true})"),
        http::Permission::kJobsCancel);
  Route(Method::kPost, "/v1/leases/{job}/{attempt}/heartbeat",
        record_and(R"({"expires_at_ms":1700000000000,"cancel_requested":false})"),
        http::Permission::kLeases);
  Start();
  Client client(Options());

  ListFilter filter;
  filter.queue = "a b";
  filter.state = JobState::kFailed;
  filter.limit = 5;
  filter.cursor = 99;
  auto page = client.List(filter);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_FALSE(page->next_cursor.has_value());
  EXPECT_EQ(seen().back().target, "/v1/jobs?queue=a%20b&state=failed&limit=5&cursor=99");

  SubmitSpec spec;
  spec.kind = "k";
  spec.payload = R"({"x":0.1})";
  spec.delay = std::chrono::seconds(2);
  std::string json;
  auto submitted = client.Submit(spec, &json);
  ASSERT_TRUE(submitted.ok()) << submitted.status().ToString();
  EXPECT_EQ(submitted->id, 7);
  EXPECT_EQ(submitted->state, JobState::kScheduled);
  EXPECT_EQ(json, R"({"id":7,"state":"scheduled","duplicate":false})");
  EXPECT_EQ(seen().back().body, R"({"kind":"k","payload":{"x":0.1},"delay_ms":2000})");
  EXPECT_EQ(seen().back().content_type, "application/json");

  auto tape = client.Events(7, 2, 10);
  ASSERT_TRUE(tape.ok()) << tape.status().ToString();
  EXPECT_EQ(tape->last_seq, 3);
  EXPECT_EQ(seen().back().target, "/v1/jobs/7/events?after=2&limit=10");

  auto cancel = client.Cancel(7);
  ASSERT_TRUE(cancel.ok()) << cancel.status().ToString();
  EXPECT_TRUE(cancel->cancel_requested);

  Lease lease{7, 3, "tok", kT0};
  auto hb = client.Heartbeat(lease);
  ASSERT_TRUE(hb.ok()) << hb.status().ToString();
  EXPECT_EQ(seen().back().target, "/v1/leases/7/3/heartbeat");
  EXPECT_EQ(seen().back().body, R"({"lease_token":"tok"})");
  EXPECT_EQ(server_->Stats().connections_accepted, 1u);
}

TEST_F(StubServerTest, HealthReportsUnhealthyWithoutFailing) {
  Route(Method::kGet, "/health", [](Request&) -> asio::awaitable<Response> {
    co_return http::JsonResponse(503, R"({"status":"stalled"})");
  });
  Start();
  Client client(Options());
  std::string json;
  auto health = client.Health(&json);
  ASSERT_TRUE(health.ok()) << health.status().ToString();
  EXPECT_EQ(health->http_status, 503);
  EXPECT_EQ(health->status, "stalled");
  EXPECT_EQ(json, R"({"status":"stalled"})");
}

}  // namespace
}  // namespace jobtape::client::testing
