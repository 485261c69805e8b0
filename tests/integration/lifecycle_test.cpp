// The server process's life: acknowledged jobs survive kill -9; SIGTERM ends
// open streams with a `shutdown` event, answers parked long polls and exits 0
// in time; a non-loopback address without tokens is refused with exit 2;
// health, metrics and the OpenAPI document are served.
#include <signal.h>

#include <future>

#include "api_fixture.hpp"
#include "stream_clients.hpp"

namespace jobtape::integration {
namespace {

namespace json = boost::json;

class LifecycleTest : public ServerTest {};

TEST_F(LifecycleTest, AcknowledgedJobsSurviveKillMinus9) {
  StartServer();
  std::vector<int64_t> acknowledged;
  {
    Api api(port());
    for (int i = 0; i < 50; ++i) {
      ApiReply r =
          api.Post("/v1/jobs", R"({"kind":"durable","payload":)" + std::to_string(i) + "}");
      ASSERT_EQ(r.status, 201);
      acknowledged.push_back(r.json.at("id").as_int64());
    }
    ApiReply batch = api.Post("/v1/jobs", R"({"jobs":[{"kind":"durable"},{"kind":"durable"}]})");
    ASSERT_EQ(batch.status, 201);
    for (const auto& j : batch.json.at("jobs").as_array())
      acknowledged.push_back(j.at("id").as_int64());
  }
  server_->Signal(SIGKILL);
  ASSERT_EQ(server_->WaitForExit(), 128 + SIGKILL);

  ServerProcess restarted(dir_.path() + "/data");
  ASSERT_TRUE(restarted.WaitForListening()) << restarted.Output();
  Api api(restarted.port());
  for (int64_t id : acknowledged) {
    ApiReply r = api.Get("/v1/jobs/" + std::to_string(id));
    EXPECT_EQ(r.status, 200) << "job " << id << " lost";
  }
  EXPECT_EQ(api.Get("/v1/jobs?limit=1000").json.at("jobs").as_array().size(), acknowledged.size());
}

TEST_F(LifecycleTest, SigtermEndsStreamsWithShutdownAndExitsZero) {
  StartServer({"--shutdown-timeout-ms", "5000"});
  Api api(port());
  int64_t id = api.Submit("live");
  SseClient watcher(port());
  ASSERT_TRUE(watcher.Open("/v1/jobs/" + std::to_string(id) + "/stream"));
  auto created = watcher.Next();
  ASSERT_TRUE(created.has_value());
  WsClient ws(port());
  ASSERT_TRUE(ws.Connect("/v1/jobs/" + std::to_string(id) + "/ws"));
  ASSERT_TRUE(ws.Read().has_value());
  auto poll = std::async(std::launch::async, [p = port()] {
    return Api(p).Post("/v1/claims", R"({"queues":["empty"],"wait_ms":50000})");
  });
  for (int i = 0;
       i < 10000 && api.Get("/metrics").body.find("jobtape_claim_waiters 1") == std::string::npos;
       ++i) {
  }

  const auto start = std::chrono::steady_clock::now();
  server_->Signal(SIGTERM);
  auto goodbye = watcher.Next();
  ASSERT_TRUE(goodbye.has_value());
  EXPECT_EQ(goodbye->event, "shutdown");
  EXPECT_EQ(json::parse(goodbye->data).at("last_seq").as_int64(), 1);
  EXPECT_FALSE(watcher.Next().has_value());
  auto ws_goodbye = ws.Read();
  ASSERT_TRUE(ws_goodbye.has_value());
  EXPECT_EQ(json::parse(*ws_goodbye).at("type"), "shutdown");
  EXPECT_FALSE(ws.Read().has_value());
  EXPECT_EQ(ws.close_code(), 1001);

  ASSERT_EQ(poll.wait_for(kGuard), std::future_status::ready);
  EXPECT_EQ(poll.get().status, 503);
  EXPECT_EQ(server_->WaitForExit(), 0) << server_->Output();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5) + kGuard / 4);
  EXPECT_NE(server_->Output().find("stopped"), std::string::npos);
}

TEST_F(LifecycleTest, NonLoopbackWithoutTokensIsRefusedWithExit2) {
  ServerProcess refused(dir_.path() + "/data", {"--listen", "0.0.0.0:0"});
  EXPECT_EQ(refused.WaitForExit(), 2);
  EXPECT_NE(refused.Output().find("refusing"), std::string::npos) << refused.Output();
  ServerProcess bad(dir_.path() + "/data", {"--durability", "sometimes"});
  EXPECT_EQ(bad.WaitForExit(), 2);
}

TEST_F(LifecycleTest, HealthMetricsAndOpenApiAreServed) {
  StartServer();
  Api api(port());
  EXPECT_EQ(api.Get("/health/live").status, 200);
  ApiReply ready = api.Get("/health/ready");
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_EQ(ready.json.at("status"), "ready");
  ApiReply health = api.Get("/health");
  ASSERT_EQ(health.status, 200) << health.body;
  EXPECT_EQ(health.json.at("status"), "ok");
  std::set<std::string> loops;
  for (const auto& loop : health.json.at("loops").as_array()) {
    loops.insert(std::string(loop.at("name").as_string()));
    EXPECT_EQ(loop.at("stalled"), false);
    EXPECT_TRUE(loop.at("cycle").is_number());
    EXPECT_TRUE(loop.at("last_updated").is_string() || loop.at("last_updated").is_null());
  }
  EXPECT_EQ(loops, (std::set<std::string>{"dispatcher", "reaper", "scheduler"}));

  api.Submit("m");
  ApiReply metrics = api.Get("/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.Header("Content-Type").find("text/plain"), std::string::npos);
  for (const char* needle :
       {"jobtape_jobs{queue=\"m\",state=\"queued\"} 1", "jobtape_jobs_submitted_total",
        "jobtape_http_requests_total{method=\"POST\",route=\"/v1/jobs\",status=\"201\"} 1",
        "jobtape_http_request_duration_seconds_bucket", "jobtape_open_streams",
        "jobtape_store_commits_total", "jobtape_claim_waiters"}) {
    EXPECT_NE(metrics.body.find(needle), std::string::npos) << needle;
  }
  ApiReply openapi = api.Get("/openapi.json");
  ASSERT_EQ(openapi.status, 200);
  ASSERT_TRUE(openapi.json.is_object()) << openapi.body.substr(0, 200);
  EXPECT_TRUE(openapi.json.as_object().contains("openapi"));
}

}  // namespace
}  // namespace jobtape::integration
