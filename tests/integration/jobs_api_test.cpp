// The jobs resource and the queues resource over HTTP against the real
// server: submit (single, batch, idempotent repeat), list with filters and a
// cursor, get, tape pages, cancel, retry; queue counts, pause and limits.
#include "api_fixture.hpp"

namespace jobtape::integration {
namespace {

namespace json = boost::json;

class JobsApiTest : public ServerTest {
 protected:
  void SetUp() override { StartServer(); }
};

TEST_F(JobsApiTest, SubmitSingleAndGetIt) {
  Api api(port());
  ApiReply r =
      api.Post("/v1/jobs", R"({"kind":"email","queue":"mail","payload":{"to":"a@b.c","n":0.1},
                                        "priority":5,"tags":["x"]})");
  ASSERT_EQ(r.status, 201) << r.body;
  const int64_t id = r.json.at("id").as_int64();
  EXPECT_EQ(r.json.at("state"), "queued");
  EXPECT_EQ(r.json.at("duplicate"), false);
  EXPECT_EQ(r.Header("Location"), "/v1/jobs/" + std::to_string(id));

  ApiReply job = api.Get("/v1/jobs/" + std::to_string(id));
  ASSERT_EQ(job.status, 200) << job.body;
  EXPECT_EQ(job.json.at("kind"), "email");
  EXPECT_EQ(job.json.at("queue"), "mail");
  EXPECT_EQ(job.json.at("priority").as_int64(), 5);
  // The payload is kept byte for byte: 0.1 stays 0.1.
  EXPECT_NE(job.body.find(R"("payload":{"to":"a@b.c","n":0.1})"), std::string::npos) << job.body;

  EXPECT_EQ(api.Get("/v1/jobs/999999").status, 404);
  EXPECT_EQ(api.Get("/v1/jobs/999999").ErrorCode(), "not_found");
}

TEST_F(JobsApiTest, IdempotencyKeyReturnsTheOriginalWith200) {
  Api api(port());
  const std::string body = R"({"kind":"k","idempotency_key":"order-42"})";
  ApiReply first = api.Post("/v1/jobs", body);
  ASSERT_EQ(first.status, 201);
  ApiReply again = api.Post("/v1/jobs", body);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.json.at("id"), first.json.at("id"));
  EXPECT_EQ(again.json.at("duplicate"), true);
}

TEST_F(JobsApiTest, BatchSubmitAnswersEveryJobInOrder) {
  Api api(port());
  std::string body = R"({"jobs":[)";
  for (int i = 0; i < 50; ++i) {
    body += (i ? "," : "") + std::string(R"({"kind":"b","queue":"batch","payload":)") +
            std::to_string(i) + "}";
  }
  body += "]}";
  ApiReply r = api.Post("/v1/jobs", body);
  ASSERT_EQ(r.status, 201) << r.body;
  const json::array& jobs = r.json.at("jobs").as_array();
  ASSERT_EQ(jobs.size(), 50u);
  for (std::size_t i = 1; i < jobs.size(); ++i) {
    EXPECT_EQ(jobs[i].at("id").as_int64(), jobs[i - 1].at("id").as_int64() + 1);
  }
  ApiReply list = api.Get("/v1/jobs?queue=batch&limit=1000");
  EXPECT_EQ(list.json.at("jobs").as_array().size(), 50u);
}

TEST_F(JobsApiTest, ListFiltersAndPagesWithACursor) {
  Api api(port());
  for (int i = 0; i < 5; ++i)
    ASSERT_NE(api.Submit("pages"), 0);
  ASSERT_NE(api.Submit("other"), 0);
  ASSERT_NE(api.Post("/v1/jobs", R"({"kind":"special","queue":"pages"})").status, 0);

  std::vector<int64_t> seen;
  std::string target = "/v1/jobs?queue=pages&limit=2";
  for (int page = 0; page < 10; ++page) {
    ApiReply r = api.Get(target);
    ASSERT_EQ(r.status, 200) << r.body;
    for (const auto& job : r.json.at("jobs").as_array()) {
      EXPECT_EQ(job.at("queue"), "pages");
      seen.push_back(job.at("id").as_int64());
    }
    if (r.json.at("next_cursor").is_null()) break;
    target = "/v1/jobs?queue=pages&limit=2&cursor=" +
             std::to_string(r.json.at("next_cursor").as_int64());
  }
  ASSERT_EQ(seen.size(), 6u);
  for (std::size_t i = 1; i < seen.size(); ++i)
    EXPECT_LT(seen[i], seen[i - 1]);  // newest first

  ApiReply kinds = api.Get("/v1/jobs?kind=special");
  ASSERT_EQ(kinds.json.at("jobs").as_array().size(), 1u);
  ApiReply queued = api.Get("/v1/jobs?state=queued&limit=1000");
  EXPECT_EQ(queued.json.at("jobs").as_array().size(), 7u);
  EXPECT_EQ(api.Get("/v1/jobs?state=running").json.at("jobs").as_array().size(), 0u);
}

TEST_F(JobsApiTest, EventsPageReadsTheTapeAfterASeq) {
  Api api(port());
  int64_t id = api.Submit("tape");
  ApiReply all = api.Get("/v1/jobs/" + std::to_string(id) + "/events");
  ASSERT_EQ(all.status, 200) << all.body;
  ASSERT_EQ(all.json.at("events").as_array().size(), 1u);
  EXPECT_EQ(all.json.at("events").at(0).at("type"), "created");
  EXPECT_EQ(all.json.at("last_seq").as_int64(), 1);
  EXPECT_EQ(all.json.at("state"), "queued");
  ApiReply after = api.Get("/v1/jobs/" + std::to_string(id) + "/events?after=1&limit=10");
  EXPECT_EQ(after.json.at("events").as_array().size(), 0u);
  EXPECT_EQ(api.Get("/v1/jobs/424242/events").status, 404);
}

TEST_F(JobsApiTest, CancelIsWellDefinedAtEveryStateAndRetryCopiesTheJob) {
  Api api(port());
  int64_t id = api.Submit("cancel");
  const std::string path = "/v1/jobs/" + std::to_string(id);
  ApiReply first = api.Post(path + "/cancel", R"({"reason":"changed my mind"})");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.json.at("state"), "cancelled");
  EXPECT_EQ(first.json.at("changed"), true);
  // Cancelling a terminal job is a documented no-op: 200, changed false.
  ApiReply again = api.Post(path + "/cancel");
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.json.at("changed"), false);
  EXPECT_EQ(again.json.at("state"), "cancelled");
  ApiReply tape = api.Get(path + "/events");
  const json::array& events = tape.json.at("events").as_array();
  EXPECT_EQ(events.back().at("type"), "final");

  ApiReply retry = api.Post(path + "/retry");
  ASSERT_EQ(retry.status, 201) << retry.body;
  EXPECT_EQ(retry.json.at("retry_of").as_int64(), id);
  const int64_t copy = retry.json.at("id").as_int64();
  EXPECT_NE(copy, id);
  EXPECT_EQ(api.Get("/v1/jobs/" + std::to_string(copy)).json.at("retry_of").as_int64(), id);
  // The copy is live: retrying it is a conflict.
  ApiReply conflict = api.Post("/v1/jobs/" + std::to_string(copy) + "/retry");
  EXPECT_EQ(conflict.status, 409) << conflict.body;
  EXPECT_EQ(conflict.ErrorCode(), "conflict");
  EXPECT_EQ(api.Post("/v1/jobs/777777/cancel").status, 404);
}

TEST_F(JobsApiTest, QueuesCountJobsAndPauseStopsClaims) {
  Api api(port());
  ASSERT_NE(api.Submit("q1"), 0);
  ASSERT_NE(api.Submit("q1"), 0);
  ApiReply list = api.Get("/v1/queues");
  ASSERT_EQ(list.status, 200) << list.body;
  bool found = false;
  for (const auto& q : list.json.at("queues").as_array()) {
    if (q.at("name") != "q1") continue;
    found = true;
    EXPECT_EQ(q.at("counts").at("queued").as_int64(), 2);
    EXPECT_EQ(q.at("paused"), false);
    EXPECT_TRUE(q.at("max_concurrent").is_null());
  }
  EXPECT_TRUE(found) << list.body;

  ApiReply paused = api.Patch("/v1/queues/q1", R"({"paused":true,"max_concurrent":1})");
  ASSERT_EQ(paused.status, 200) << paused.body;
  EXPECT_EQ(paused.json.at("paused"), true);
  EXPECT_EQ(paused.json.at("max_concurrent").as_int64(), 1);
  ApiReply none = api.Post("/v1/claims", R"({"queues":["q1"]})");
  ASSERT_EQ(none.status, 200) << none.body;
  EXPECT_TRUE(none.json.at("jobs").as_array().empty());

  ApiReply resumed = api.Patch("/v1/queues/q1", R"({"paused":false,"max_concurrent":null})");
  ASSERT_EQ(resumed.status, 200) << resumed.body;
  EXPECT_TRUE(resumed.json.at("max_concurrent").is_null());
  ApiReply two = api.Post("/v1/claims", R"({"queues":["q1"],"max":5})");
  EXPECT_EQ(two.json.at("jobs").as_array().size(), 2u) << two.body;

  EXPECT_EQ(api.Patch("/v1/queues/bad%20name", R"({"paused":true})").status, 422);
  EXPECT_EQ(api.Patch("/v1/queues/q1", R"({"paused":"yes"})").status, 400);
  EXPECT_EQ(api.Patch("/v1/queues/q1", R"({"max_concurrent":-5})").status, 422);
}

}  // namespace
}  // namespace jobtape::integration
