// Batches against the real server: 10,000 members created in one request,
// run by a remote worker, counted per state, watched over SSE until `done`,
// and the on_complete job enqueued exactly once; the batch key; cancel; the
// large-body route; and the errors (400, 404, 413, 422).
#include <thread>

#include "api_fixture.hpp"
#include "stream_clients.hpp"

namespace jobtape::integration {
namespace {

namespace json = boost::json;

class BatchesTest : public ServerTest {
 protected:
  void SetUp() override { StartServer(); }

  static std::string Members(int n, const std::string& queue, const std::string& extra = {}) {
    std::string jobs;
    jobs.reserve(static_cast<std::size_t>(n) * 64);
    for (int i = 0; i < n; ++i) {
      jobs += (i ? "," : "") + std::string(R"({"kind":"part","queue":")") + queue +
              R"(","payload":{"i":)" + std::to_string(i) + "}" + extra + "}";
    }
    return "[" + jobs + "]";
  }
  // Claims and completes every job of `queue` until none is left.
  static int64_t Drain(Api& api, const std::string& queue) {
    int64_t done = 0;
    while (true) {
      ApiReply claimed = api.Post("/v1/claims", R"({"queues":[")" + queue + R"("],"max":1000})");
      auto leases = LeasesOf(claimed);
      if (leases.empty()) return done;
      std::string items;
      for (std::size_t i = 0; i < leases.size(); ++i) {
        const TestLease& l = leases[i];
        items += (i ? "," : "") + std::string("{\"job_id\":") + std::to_string(l.job_id) +
                 ",\"attempt\":" + std::to_string(l.attempt) + ",\"lease_token\":\"" + l.token +
                 "\"}";
      }
      ApiReply r = api.Post("/v1/leases/complete", "{\"items\":[" + items + "]}");
      EXPECT_EQ(r.status, 200) << r.body.substr(0, 300);
      done += static_cast<int64_t>(leases.size());
    }
  }
};

TEST_F(BatchesTest, JobsListNamesABatchsMembers) {
  Api api(port());
  ApiReply a = api.Post("/v1/batches", R"({"jobs":)" + Members(3, "listed") + "}");
  ASSERT_EQ(a.status, 201) << a.body;
  ASSERT_EQ(api.Post("/v1/batches", R"({"jobs":)" + Members(2, "listed") + "}").status, 201);
  const std::string id(a.json.at("batch").at("id").as_string());
  ApiReply list = api.Get("/v1/jobs?batch=" + id + "&limit=2");
  ASSERT_EQ(list.status, 200) << list.body;
  const json::array& jobs = list.json.at("jobs").as_array();
  const json::array& ids = a.json.at("job_ids").as_array();
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0].at("id"), ids[2]);
  EXPECT_EQ(jobs[1].at("id"), ids[1]);
  ApiReply rest =
      api.Get("/v1/jobs?batch=" + id + "&cursor=" + json::serialize(list.json.at("next_cursor")));
  ASSERT_EQ(rest.status, 200) << rest.body;
  ASSERT_EQ(rest.json.at("jobs").as_array().size(), 1u);
  EXPECT_EQ(rest.json.at("jobs").as_array()[0].at("id"), ids[0]);
  EXPECT_TRUE(rest.json.at("next_cursor").is_null());
}

TEST_F(BatchesTest, TenThousandMembersRunAndOnCompleteIsEnqueuedOnce) {
  Api api(port());
  const std::string body = R"({"jobs":)" + Members(10'000, "parts") +
                           R"(,"on_complete":{"kind":"merge","queue":"after","payload":{"x":1}}})";
  ASSERT_GT(body.size(), 512u * 1024);
  ApiReply created = api.Post("/v1/batches", body);
  ASSERT_EQ(created.status, 201) << created.body.substr(0, 300);
  const json::object& batch = created.json.at("batch").as_object();
  const std::string id(batch.at("id").as_string());
  EXPECT_EQ(created.Header("Location"), "/v1/batches/" + id);
  EXPECT_EQ(created.json.at("job_ids").as_array().size(), 10'000u);
  EXPECT_EQ(batch.at("total"), 10'000);
  EXPECT_EQ(batch.at("counts").at("queued"), 10'000);
  EXPECT_EQ(batch.at("state"), "running");
  const int64_t first = created.json.at("job_ids").as_array()[0].as_int64();
  EXPECT_EQ(
      json::value_to<std::string>(api.Get("/v1/jobs/" + std::to_string(first)).json.at("batch_id")),
      id);

  SseClient watch(port());
  ASSERT_TRUE(watch.Open("/v1/batches/" + id + "/stream"));
  ASSERT_EQ(watch.status(), 200) << watch.head();
  auto e = watch.Next();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->event, "progress");
  EXPECT_EQ(e->id, "0");

  std::thread worker([&] {
    Api w(port());
    EXPECT_EQ(Drain(w, "parts"), 10'000);
  });
  int64_t last = 0;
  int events = 0;
  std::optional<SseEvent> done;
  while (auto next = watch.Next()) {
    ++events;
    json::value data = json::parse(next->data);
    const int64_t n = data.at("done").as_int64();
    EXPECT_GT(n, last) << "each event reports progress";
    EXPECT_EQ(next->id, std::to_string(n));
    EXPECT_EQ(data.at("counts").at("succeeded").as_int64(), n);
    last = n;
    if (next->event == "done") {
      done = next;
      break;
    }
    EXPECT_EQ(next->event, "progress");
  }
  worker.join();
  ASSERT_TRUE(done.has_value()) << "no done event after " << events << " events";
  EXPECT_FALSE(watch.Next().has_value());
  EXPECT_TRUE(watch.ended());
  json::value final_state = json::parse(done->data);
  EXPECT_EQ(final_state.at("state"), "done");
  EXPECT_EQ(final_state.at("progress"), 100);
  EXPECT_EQ(final_state.at("done"), 10'000);
  ASSERT_TRUE(final_state.at("on_complete_job_id").is_int64());

  ApiReply after = api.Get("/v1/jobs?queue=after");
  ASSERT_EQ(after.json.at("jobs").as_array().size(), 1u) << after.body;
  const json::value& cb = after.json.at("jobs").as_array()[0];
  EXPECT_EQ(cb.at("id"), final_state.at("on_complete_job_id"));
  EXPECT_EQ(cb.at("kind"), "merge");
  EXPECT_EQ(json::value_to<std::string>(cb.at("tags").as_array()[0]), "batch:" + id);

  // A reconnect that saw `done` is told to stop.
  SseClient again(port());
  ASSERT_TRUE(again.Open("/v1/batches/" + id + "/stream", {{"Last-Event-ID", "10000"}}));
  EXPECT_EQ(again.status(), 204);
  // ...one that did not gets `done` at once.
  SseClient late(port());
  ASSERT_TRUE(late.Open("/v1/batches/" + id + "/stream", {{"Last-Event-ID", "9000"}}));
  auto d = late.Next();
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->event, "done");
}

TEST_F(BatchesTest, TheBatchKeyReturnsTheFirstBatch) {
  Api api(port());
  const std::string body = R"({"idempotency_key":"nightly-7","jobs":)" + Members(3, "k") + "}";
  ApiReply first = api.Post("/v1/batches", body);
  ASSERT_EQ(first.status, 201) << first.body;
  ApiReply again = api.Post("/v1/batches", body);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.json.at("duplicate"), true);
  EXPECT_EQ(again.json.at("batch").at("id"), first.json.at("batch").at("id"));
  EXPECT_EQ(again.json.at("job_ids"), first.json.at("job_ids"));
  EXPECT_EQ(api.Get("/v1/jobs?queue=k").json.at("jobs").as_array().size(), 3u);
}

TEST_F(BatchesTest, CancelEndsEveryWaitingMember) {
  Api api(port());
  ApiReply created = api.Post("/v1/batches", R"({"jobs":)" + Members(4, "c") + "}");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id(created.json.at("batch").at("id").as_string());
  auto leases = LeasesOf(api.Post("/v1/claims", R"({"queues":["c"]})"));
  ASSERT_EQ(leases.size(), 1u);
  ApiReply c = api.Post("/v1/batches/" + id + "/cancel", R"({"reason":"wrong input"})");
  ASSERT_EQ(c.status, 200) << c.body;
  EXPECT_EQ(c.json.at("cancelled"), 3);
  EXPECT_EQ(c.json.at("cancel_requested"), 1);
  ApiReply b = api.Get("/v1/batches/" + id);
  EXPECT_EQ(b.json.at("counts").at("cancelled"), 3);
  EXPECT_EQ(b.json.at("counts").at("running"), 1);
  EXPECT_EQ(b.json.at("state"), "running");
}

// Bodies above the ordinary 1 MiB limit are received at most 4 at a time
// server-wide (the limit applies before authentication); a fifth is told to
// retry, while small bodies on the same route are not held up.
TEST_F(BatchesTest, AtMostFourLargeBodiesAreReceivedAtOnce) {
  const std::string head =
      "POST /v1/batches HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Expect: 100-continue\r\nContent-Length: 2000000\r\n\r\n";
  std::vector<std::unique_ptr<http::testing::TestClient>> holders;
  for (int i = 0; i < 4; ++i) {
    auto c = std::make_unique<http::testing::TestClient>(port(), kGuard);
    ASSERT_TRUE(c->WriteRaw(head));
    // 100 Continue comes once the server took a slot for this body.
    auto go = c->ReadReply();
    ASSERT_TRUE(go.has_value());
    ASSERT_EQ(go->status, 100);
    holders.push_back(std::move(c));
  }
  http::testing::TestClient fifth(port(), kGuard);
  ASSERT_TRUE(fifth.WriteRaw(head));
  auto busy = fifth.ReadReply();
  ASSERT_TRUE(busy.has_value());
  EXPECT_EQ(busy->status, 503);
  EXPECT_EQ(busy->Header("Retry-After"), "1");
  EXPECT_NE(busy->body.find("\"unavailable\""), std::string::npos) << busy->body;

  Api api(port());
  EXPECT_EQ(api.Post("/v1/batches", R"({"jobs":[{"kind":"small"}]})").status, 201);

  // A holder that sends its whole body is answered, and its slot is free
  // by the time the answer arrives.
  std::string body = R"({"jobs":[{"kind":"padded"}]})";
  body.resize(2'000'000, ' ');
  ASSERT_TRUE(holders.back()->WriteRaw(body));
  auto done = holders.back()->ReadReply();
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->status, 201) << done->body.substr(0, 300);
  http::testing::TestClient next(port(), kGuard);
  ASSERT_TRUE(next.WriteRaw(head));
  auto go = next.ReadReply();
  ASSERT_TRUE(go.has_value());
  EXPECT_EQ(go->status, 100);
}

TEST_F(BatchesTest, ErrorsAreJsonWithCodes) {
  Api api(port());
  ApiReply too_many = api.Post("/v1/batches", R"({"jobs":)" + Members(10'001, "e") + "}");
  EXPECT_EQ(too_many.status, 413);
  EXPECT_EQ(too_many.ErrorCode(), "limit_exceeded");
  // A body over 1 MiB is allowed only where batches are created.
  std::string tags = R"(,"tags":[)";
  for (int t = 0; t < 9; ++t)
    tags += (t ? ",\"" : "\"") + std::to_string(t) + std::string(120, 't') + "\"";
  tags += "]";
  const std::string big = R"({"jobs":)" + Members(1'000, "big", tags) + "}";
  ASSERT_GT(big.size(), 1024u * 1024);
  ApiReply big_jobs = api.Post("/v1/jobs", big);
  EXPECT_EQ(big_jobs.status, 413);
  EXPECT_EQ(big_jobs.ErrorCode(), "payload_too_large");
  ApiReply big_batch = api.Post("/v1/batches", big);
  EXPECT_EQ(big_batch.status, 201) << big_batch.body.substr(0, 300);

  ApiReply keyed =
      api.Post("/v1/batches", R"({"jobs":[{"kind":"a"},{"kind":"a","idempotency_key":"x"}]})");
  EXPECT_EQ(keyed.status, 422) << keyed.body;
  EXPECT_EQ(keyed.json.at("error").at("field"), "jobs[1].idempotency_key");
  ApiReply bad_cb =
      api.Post("/v1/batches", R"({"jobs":[{"kind":"a"}],"on_complete":{"kind":"b","delay_ms":5}})");
  EXPECT_EQ(bad_cb.status, 422) << bad_cb.body;
  EXPECT_EQ(bad_cb.json.at("error").at("field"), "on_complete.run_at");
  ApiReply unknown = api.Post("/v1/batches", R"({"jobs":[{"kind":"a"}],"then":{}})");
  EXPECT_EQ(unknown.status, 400) << unknown.body;
  ApiReply empty = api.Post("/v1/batches", R"({"jobs":[]})");
  EXPECT_EQ(empty.status, 400) << empty.body;

  ApiReply joined = api.Post("/v1/jobs", R"({"kind":"a","batch_id":"1"})");
  EXPECT_EQ(joined.status, 422) << joined.body;
  EXPECT_EQ(joined.json.at("error").at("field"), "batch_id");

  EXPECT_EQ(api.Get("/v1/batches/abc").status, 400);
  ApiReply missing = api.Get("/v1/batches/424242");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.ErrorCode(), "not_found");
  EXPECT_EQ(api.Post("/v1/batches/424242/cancel").status, 404);
  EXPECT_EQ(api.Get("/v1/batches/424242/stream").status, 404);
  EXPECT_EQ(api.Get("/v1/jobs?queue=e").json.at("jobs").as_array().size(), 0u);
}

}  // namespace
}  // namespace jobtape::integration
