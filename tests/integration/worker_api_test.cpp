// The worker lease protocol over HTTP (R2): long-poll claims woken by a
// submission, heartbeats, event appends, complete and fail, stale leases
// answered 409 stale_lease and changing nothing, batch completion, and a
// worker that disconnects mid-poll giving its waiter up.
#include <sys/socket.h>

#include <future>
#include <thread>

#include "api_fixture.hpp"
#include "stream_clients.hpp"

namespace jobtape::integration {
namespace {

class WorkerApiTest : public ServerTest {
 protected:
  void SetUp() override { StartServer(); }

  TestLease ClaimOne(Api& api, const std::string& queue) {
    ApiReply r = api.Post("/v1/claims", R"({"queues":[")" + queue + R"("],"wait_ms":0})");
    EXPECT_EQ(r.status, 200) << r.body;
    auto leases = LeasesOf(r);
    EXPECT_EQ(leases.size(), 1u) << r.body;
    return leases.empty() ? TestLease{} : leases[0];
  }
  // The value of a metric line "name value" (first match), or -1.
  double Metric(Api& api, const std::string& name) {
    ApiReply r = api.Get("/metrics");
    std::size_t at = r.body.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stod(r.body.substr(at + name.size() + 2));
  }
};

TEST_F(WorkerApiTest, LongPollIsWokenBySubmissionAndLeaseCallsWork) {
  auto claim = std::async(std::launch::async, [p = port()] {
    Api worker(p);
    return worker.Post("/v1/claims",
                       R"({"queues":["work"],"wait_ms":30000,"worker_id":"w-1","lease_ms":20000})");
  });
  Api api(port());
  // The claim is parked before the submission: wait for the waiter to show.
  for (int i = 0;
       i < 10000 && api.Get("/metrics").body.find("jobtape_claim_waiters 1") == std::string::npos;
       ++i) {
  }
  int64_t id = api.Submit("work", R"("payload":{"n":1})");
  ASSERT_EQ(claim.wait_for(kGuard), std::future_status::ready);
  ApiReply claimed = claim.get();
  ASSERT_EQ(claimed.status, 200) << claimed.body;
  auto leases = LeasesOf(claimed);
  ASSERT_EQ(leases.size(), 1u) << claimed.body;
  const TestLease lease = leases[0];
  EXPECT_EQ(lease.job_id, id);
  EXPECT_EQ(lease.attempt, 1);
  EXPECT_EQ(claimed.json.at("jobs").at(0).at("job").at("payload").at("n").as_int64(), 1);
  EXPECT_EQ(claimed.json.at("jobs").at(0).at("job").at("worker_id"), "w-1");

  ApiReply hb = api.Post(lease.Path("heartbeat"), lease.Body(R"("lease_ms":15000)"));
  ASSERT_EQ(hb.status, 200) << hb.body;
  EXPECT_EQ(hb.json.at("cancel_requested"), false);
  EXPECT_TRUE(hb.json.at("expires_at_ms").is_int64());

  ApiReply ev =
      api.Post(lease.Path("events"),
               lease.Body(R"("events":[{"type":"progress","data":{"percent":50,"message":"half"}},
                                                 {"type":"log","data":{"line":"hello"}}])"));
  ASSERT_EQ(ev.status, 200) << ev.body;
  EXPECT_EQ(ev.json.at("last_seq").as_int64(), 4);  // created, started, progress, log

  ApiReply done = api.Post(lease.Path("complete"), lease.Body(R"("result":{"ok":true})"));
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(done.json.at("state"), "succeeded");
  EXPECT_EQ(done.json.at("last_seq").as_int64(), 5);

  // Every lease call on the finished attempt is stale and changes nothing.
  for (const char* op : {"heartbeat", "events", "complete", "fail"}) {
    std::string extra = std::string(op) == "events" ? R"("events":[{"type":"progress","data":{}}])"
                        : std::string(op) == "fail" ? R"("error":{"code":"x"})"
                                                    : "";
    ApiReply stale = api.Post(lease.Path(op), lease.Body(extra));
    EXPECT_EQ(stale.status, 409) << op << " " << stale.body;
    EXPECT_EQ(stale.ErrorCode(), "stale_lease") << op;
  }
  ApiReply tape = api.Get("/v1/jobs/" + std::to_string(id) + "/events");
  EXPECT_EQ(tape.json.at("last_seq").as_int64(), 5);
  EXPECT_EQ(tape.json.at("events").as_array().back().at("type"), "final");
  ApiReply job = api.Get("/v1/jobs/" + std::to_string(id));
  EXPECT_EQ(job.json.at("result").at("ok"), true);
}

TEST_F(WorkerApiTest, ExpiredLeaseIsReapedAndTheJobRetried) {
  Api api(port());
  int64_t id = api.Submit("reap", R"("backoff":{"initial_ms":0,"max_ms":0})");
  ApiReply claimed = api.Post("/v1/claims", R"({"queues":["reap"],"lease_ms":1000})");
  auto leases = LeasesOf(claimed);
  ASSERT_EQ(leases.size(), 1u) << claimed.body;
  // The worker goes silent; the tape shows the reaper ending the attempt.
  SseClient watcher(port());
  ASSERT_TRUE(watcher.Open("/v1/jobs/" + std::to_string(id) + "/stream?after=2"));
  auto reaped = watcher.Next();
  ASSERT_TRUE(reaped.has_value());
  EXPECT_EQ(reaped->event, "attempt_failed") << reaped->data;
  EXPECT_EQ(api.Post(leases[0].Path("heartbeat"), leases[0].Body()).status, 409);
  TestLease second = ClaimOne(api, "reap");
  EXPECT_EQ(second.attempt, 2);
  EXPECT_NE(api.Get("/metrics")
                .body.find("jobtape_reaped_total{queue=\"reap\",reason=\"lease_expired\"} 1"),
            std::string::npos);
  // GET /v1/queues shows the reaper's totals per queue.
  ApiReply queues = api.Get("/v1/queues");
  ASSERT_EQ(queues.status, 200) << queues.body;
  bool found = false;
  for (const auto& q : queues.json.at("queues").as_array()) {
    const auto& reaper = q.at("reaper").as_object();
    if (q.at("name") != "reap") {
      EXPECT_EQ(reaper.at("lease_expired"), 0) << q;
      continue;
    }
    found = true;
    EXPECT_EQ(reaper.at("lease_expired"), 1) << q;
    EXPECT_EQ(reaper.at("runtime_backstop"), 0) << q;
    EXPECT_EQ(reaper.at("cancel_grace"), 0) << q;
    EXPECT_EQ(reaper.at("deferred"), 0) << q;
    EXPECT_EQ(reaper.at("raced"), 0) << q;
  }
  EXPECT_TRUE(found) << queues.body;
}

// With reap_expired_leases off, a silent worker's attempt stays running and
// each reaper cycle that sees it counts a deferral, per queue.
class ReaperSwitchedOffTest : public WorkerApiTest {
 protected:
  void SetUp() override { StartServer({"--reap-expired-leases", "false"}); }
};

TEST_F(ReaperSwitchedOffTest, ExpiredLeaseIsDeferredAndShownPerQueue) {
  Api api(port());
  int64_t id = api.Submit("held");
  ApiReply claimed = api.Post("/v1/claims", R"({"queues":["held"],"lease_ms":1000})");
  ASSERT_EQ(LeasesOf(claimed).size(), 1u) << claimed.body;
  // The lease runs out after 1 s; the reaper (every second) then defers it.
  int64_t deferred = 0;
  const auto deadline = std::chrono::steady_clock::now() + kGuard;
  while (deferred < 2 && std::chrono::steady_clock::now() < deadline) {
    ApiReply queues = api.Get("/v1/queues");
    ASSERT_EQ(queues.status, 200) << queues.body;
    for (const auto& q : queues.json.at("queues").as_array()) {
      if (q.at("name") == "held") deferred = q.at("reaper").at("deferred").as_int64();
    }
  }
  ASSERT_GE(deferred, 2) << "the reaper never deferred the expired lease";
  ApiReply job = api.Get("/v1/jobs/" + std::to_string(id));
  EXPECT_EQ(job.json.at("state"), "running") << job.body;
  EXPECT_EQ(job.json.at("attempt"), 1) << job.body;
  std::string metrics = api.Get("/metrics").body;
  EXPECT_NE(metrics.find("jobtape_reaped_total{queue=\"held\",reason=\"deferred\"}"),
            std::string::npos);
  EXPECT_EQ(metrics.find("reason=\"lease_expired\""), std::string::npos);
}

TEST_F(WorkerApiTest, WrongTokenOrAttemptIsStale) {
  Api api(port());
  api.Submit("fence");
  TestLease lease = ClaimOne(api, "fence");
  TestLease forged = lease;
  forged.token = std::string(32, 'a');
  EXPECT_EQ(api.Post(forged.Path("complete"), forged.Body()).status, 409);
  TestLease old = lease;
  old.attempt = 7;
  EXPECT_EQ(api.Post(old.Path("heartbeat"), old.Body()).status, 409);
  EXPECT_EQ(api.Post(lease.Path("complete"), lease.Body()).status, 200);
}

TEST_F(WorkerApiTest, RetryableFailureSchedulesARetryAndFinalFailureEndsTheJob) {
  Api api(port());
  int64_t id = api.Submit("flaky", R"("max_attempts":2)");
  TestLease first = ClaimOne(api, "flaky");
  ApiReply f1 =
      api.Post(first.Path("fail"),
               first.Body(R"("error":{"code":"boom","message":"it broke"},"retry_delay_ms":0)"));
  ASSERT_EQ(f1.status, 200) << f1.body;
  EXPECT_EQ(f1.json.at("state"), "queued");
  EXPECT_FALSE(f1.json.at("retry_at_ms").is_null());

  TestLease second = ClaimOne(api, "flaky");
  EXPECT_EQ(second.job_id, id);
  EXPECT_EQ(second.attempt, 2);
  // The old attempt is fenced off.
  EXPECT_EQ(api.Post(first.Path("heartbeat"), first.Body()).status, 409);
  ApiReply f2 =
      api.Post(second.Path("fail"), second.Body(R"("error":{"code":"boom"},"retryable":false)"));
  ASSERT_EQ(f2.status, 200) << f2.body;
  EXPECT_EQ(f2.json.at("state"), "failed");
  EXPECT_EQ(api.Get("/v1/jobs/" + std::to_string(id)).json.at("error").at("code"), "boom");
}

TEST_F(WorkerApiTest, HeartbeatReportsACancelRequest) {
  Api api(port());
  int64_t id = api.Submit("cancelme");
  TestLease lease = ClaimOne(api, "cancelme");
  ApiReply cancel = api.Post("/v1/jobs/" + std::to_string(id) + "/cancel");
  ASSERT_EQ(cancel.status, 200);
  EXPECT_EQ(cancel.json.at("cancel_requested"), true);
  ApiReply hb = api.Post(lease.Path("heartbeat"), lease.Body());
  ASSERT_EQ(hb.status, 200) << hb.body;
  EXPECT_EQ(hb.json.at("cancel_requested"), true);
  ApiReply fail = api.Post(lease.Path("fail"), lease.Body(R"("error":{"code":"cancelled"})"));
  ASSERT_EQ(fail.status, 200) << fail.body;
  EXPECT_EQ(fail.json.at("state"), "cancelled");
}

// A worker that never answers a cancel: the server ends the job `cancelled`
// when the grace runs out (R8), and whatever the worker sends afterwards -
// progress, heartbeat, complete - is refused and never lands after `final` (R1).
class SilentWorkerCancelTest : public ServerTest {
 protected:
  void SetUp() override { StartServer({"--cancel-grace-ms", "300"}); }
};

TEST_F(SilentWorkerCancelTest, TheServerEndsItAfterTheGraceAndRefusesLateCalls) {
  Api api(port());
  int64_t id = api.Submit("remote");
  ApiReply claimed = api.Post("/v1/claims", R"({"queues":["remote"],"wait_ms":0})");
  auto leases = LeasesOf(claimed);
  ASSERT_EQ(leases.size(), 1u) << claimed.body;
  const TestLease lease = leases[0];
  SseClient sse(port());
  ASSERT_TRUE(sse.Open("/v1/jobs/" + std::to_string(id) + "/stream"));
  ApiReply cancel = api.Post("/v1/jobs/" + std::to_string(id) + "/cancel");
  ASSERT_EQ(cancel.status, 200) << cancel.body;
  EXPECT_EQ(cancel.json.at("state"), "running");
  // The worker stays silent; the tape ends with the server's final.
  std::vector<std::string> types;
  while (auto e = sse.Next()) {
    types.emplace_back(boost::json::parse(e->data).at("type").as_string());
    if (types.back() == "final") break;
  }
  std::vector<std::string> expected = {"created", "started", "cancel_requested", "final"};
  EXPECT_EQ(types, expected);
  EXPECT_FALSE(sse.Next().has_value());
  ApiReply job = api.Get("/v1/jobs/" + std::to_string(id));
  EXPECT_EQ(job.json.at("state"), "cancelled");
  // Late calls of the cancelled attempt: 409, nothing written.
  ApiReply progress = api.Post(
      lease.Path("events"), lease.Body(R"("events":[{"type":"progress","data":{"percent":99}}])"));
  EXPECT_EQ(progress.status, 409) << progress.body;
  EXPECT_EQ(progress.ErrorCode(), "stale_lease");
  EXPECT_EQ(api.Post(lease.Path("heartbeat"), lease.Body()).status, 409);
  EXPECT_EQ(api.Post(lease.Path("complete"), lease.Body()).status, 409);
  ApiReply tape = api.Get("/v1/jobs/" + std::to_string(id) + "/events");
  EXPECT_EQ(tape.json.at("events").as_array().size(), 4u) << tape.body;
  EXPECT_EQ(api.Get("/v1/jobs/" + std::to_string(id)).json.at("state"), "cancelled");
}

TEST_F(WorkerApiTest, BatchCompletionFinishesEachItemOnItsOwn) {
  Api api(port());
  for (int i = 0; i < 3; ++i)
    api.Submit("many");
  ApiReply claimed = api.Post("/v1/claims", R"({"queues":["many"],"max":3})");
  auto leases = LeasesOf(claimed);
  ASSERT_EQ(leases.size(), 3u) << claimed.body;
  std::string items;
  for (std::size_t i = 0; i < leases.size(); ++i) {
    const TestLease& l = leases[i];
    std::string token = i == 1 ? std::string(32, 'f') : l.token;  // the second is stale
    items += (i ? "," : "") + std::string("{\"job_id\":") + std::to_string(l.job_id) +
             ",\"attempt\":" + std::to_string(l.attempt) + ",\"lease_token\":\"" + token +
             "\",\"result\":" + std::to_string(i) + "}";
  }
  ApiReply r = api.Post("/v1/leases/complete", "{\"items\":[" + items + "]}");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto& results = r.json.at("results").as_array();
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].at("state"), "succeeded");
  EXPECT_EQ(results[1].at("error").at("code"), "stale_lease");
  EXPECT_EQ(results[2].at("state"), "succeeded");
  EXPECT_EQ(api.Get("/v1/jobs/" + std::to_string(leases[1].job_id)).json.at("state"), "running");
}

TEST_F(WorkerApiTest, DisconnectedLongPollGivesItsWaiterUp) {
  Api api(port());
  // A worker starts a long poll and goes away without waiting for the answer.
  {
    const std::string body = R"({"queues":["ghost"],"wait_ms":50000})";
    http::testing::TestClient raw(port(), kGuard);
    ASSERT_TRUE(
        raw.WriteRaw("POST /v1/claims HTTP/1.1\r\nHost: x\r\nContent-Type: "
                     "application/json\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n" + body));
    bool parked = false;
    for (int i = 0; i < 10000 && !parked; ++i)
      parked = Metric(api, "jobtape_claim_waiters") == 1;
    ASSERT_TRUE(parked);
  }  // the connection closes here
  bool released = false;
  for (int i = 0; i < 10000 && !released; ++i)
    released = Metric(api, "jobtape_claim_waiters") == 0;
  ASSERT_TRUE(released) << "the departed worker still holds a waiter";

  // A job submitted now goes to a live worker, on its first attempt.
  auto claim = std::async(std::launch::async, [p = port()] {
    return Api(p).Post("/v1/claims", R"({"queues":["ghost"],"wait_ms":30000})");
  });
  for (int i = 0; i < 10000 && Metric(api, "jobtape_claim_waiters") != 1; ++i) {
  }
  api.Submit("ghost");
  ASSERT_EQ(claim.wait_for(kGuard), std::future_status::ready);
  auto leases = LeasesOf(claim.get());
  ASSERT_EQ(leases.size(), 1u);
  EXPECT_EQ(leases[0].attempt, 1);
}

}  // namespace
}  // namespace jobtape::integration
