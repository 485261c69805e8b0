// The schedules resource in-process on a ManualClock: what PUT answers
// (201/200, next_fire_at, the template as stored), that it wakes the
// scheduler, and that the schedule then fires at its time into an ordinary
// job - the part an integration test could only show by waiting a minute.
#include "api_server_fixture.hpp"
#include "core/limits.hpp"

namespace jobtape::http::testing {
namespace {

namespace json = boost::json;

// ManualClock starts at 2023-11-14T22:13:20Z.
constexpr int64_t k2214Ms = 1'700'000'040'000;
constexpr int64_t k2215Ms = 1'700'000'100'000;

using SchedulesHandlerTest = ApiServerTest;

TEST_F(SchedulesHandlerTest, PutCreatesThenReplacesWithTheNextFire) {
  TestReply created = Call("PUT", "/v1/schedules/every5", R"({"cron":"*/5 * * * *",
      "job":{"kind":"report","queue":"reports","payload":{"n":0.1},"priority":3,"tags":["t"]}})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.Header("Location"), "/v1/schedules/every5");
  EXPECT_EQ(created.json.at("name"), "every5");
  EXPECT_EQ(created.json.at("timezone"), "UTC");
  EXPECT_EQ(created.json.at("misfire"), "skip");
  EXPECT_EQ(created.json.at("paused"), false);
  EXPECT_EQ(created.json.at("next_fire_at_ms").as_int64(), k2215Ms);
  EXPECT_EQ(created.json.at("next_fire_at"), "2023-11-14T22:15:00.000Z");
  EXPECT_TRUE(created.json.at("last_job_id").is_null());
  const json::object& job = created.json.at("job").as_object();
  EXPECT_EQ(job.at("kind"), "report");
  EXPECT_EQ(job.at("queue"), "reports");
  EXPECT_EQ(job.at("priority").as_int64(), 3);
  EXPECT_NE(created.body.find(R"("payload":{"n":0.1})"), std::string::npos) << created.body;

  TestReply replaced = Call("PUT", "/v1/schedules/every5",
                            R"({"cron":"0 9 * * *","timezone":"Europe/Berlin",
                                "misfire":"run_once","job":{"kind":"report"}})");
  ASSERT_EQ(replaced.status, 200) << replaced.body;
  EXPECT_EQ(replaced.Header("Location"), "");
  EXPECT_EQ(replaced.json.at("misfire"), "run_once");
  // 09:00 in Berlin (CET, UTC+1) on the 15th is 08:00Z.
  EXPECT_EQ(replaced.json.at("next_fire_at"), "2023-11-15T08:00:00.000Z");
  EXPECT_EQ(replaced.json.at("job").at("queue"), "default") << "a replace does not merge";
  EXPECT_EQ(replaced.json.at("created_at"), created.json.at("created_at"));

  TestReply got = Call("GET", "/v1/schedules/every5");
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.body, replaced.body);
}

TEST_F(SchedulesHandlerTest, ListPagesByNameAndDeleteRemoves) {
  for (const char* name : {"c", "a", "b"}) {
    ASSERT_EQ(Call("PUT", std::string("/v1/schedules/") + name,
                   R"({"cron":"@hourly","job":{"kind":"k"}})")
                  .status,
              201);
  }
  TestReply first = Call("GET", "/v1/schedules?limit=2");
  ASSERT_EQ(first.status, 200) << first.body;
  ASSERT_EQ(first.json.at("schedules").as_array().size(), 2u);
  EXPECT_EQ(first.json.at("schedules").as_array()[0].at("name"), "a");
  EXPECT_EQ(first.json.at("next_cursor"), "b");
  TestReply rest = Call("GET", "/v1/schedules?limit=2&cursor=b");
  ASSERT_EQ(rest.json.at("schedules").as_array().size(), 1u) << rest.body;
  EXPECT_EQ(rest.json.at("schedules").as_array()[0].at("name"), "c");
  EXPECT_TRUE(rest.json.at("next_cursor").is_null());

  TestReply deleted = Call("DELETE", "/v1/schedules/b");
  EXPECT_EQ(deleted.status, 204) << deleted.body;
  EXPECT_EQ(deleted.body, "");
  EXPECT_EQ(Call("GET", "/v1/schedules/b").ErrorCode(), "not_found");
  TestReply again = Call("DELETE", "/v1/schedules/b");
  EXPECT_EQ(again.status, 404);
  EXPECT_EQ(again.ErrorCode(), "not_found");
  EXPECT_EQ(Call("GET", "/v1/schedules").json.at("schedules").as_array().size(), 2u);
}

TEST_F(SchedulesHandlerTest, BadDefinitionsNameTheFieldAndWriteNothing) {
  struct Case {
    const char* body;
    int status;
    const char* field;
  };
  const Case cases[] = {
      {R"({"cron":"61 * * * *","job":{"kind":"k"}})", 422, "cron"},
      {R"({"cron":"* * *","job":{"kind":"k"}})", 422, "cron"},
      {R"({"cron":"* * * * *","timezone":"Mars/Olympus","job":{"kind":"k"}})", 422, "timezone"},
      {R"({"cron":"* * * * *","job":{"kind":"k","priority":1000}})", 422, "job.priority"},
      {R"({"cron":"* * * * *"})", 400, "job"},
      {R"({"job":{"kind":"k"}})", 400, "cron"},
      {R"({"cron":"* * * * *","job":{}})", 400, "job.kind"},
      {R"({"cron":"* * * * *","job":{"kind":"k","delay_ms":5}})", 400, "job.delay_ms"},
      {R"({"cron":"* * * * *","job":{"kind":"k","idempotency_key":"x"}})", 400,
       "job.idempotency_key"},
      {R"({"cron":"* * * * *","misfire":"later","job":{"kind":"k"}})", 400, "misfire"},
      {R"({"cron":"* * * * *","paused":"yes","job":{"kind":"k"}})", 400, "paused"},
      {R"({"cron":"* * * * *","job":{"kind":"k"},"every":"1m"})", 400, "every"},
  };
  for (const Case& c : cases) {
    TestReply r = Call("PUT", "/v1/schedules/bad", c.body);
    EXPECT_EQ(r.status, c.status) << c.body << " -> " << r.body;
    EXPECT_EQ(r.ErrorCode(), "invalid_argument") << c.body << " -> " << r.body;
    EXPECT_EQ(r.ErrorField(), c.field) << c.body << " -> " << r.body;
  }
  std::string tags;  // kMaxTags: one too many, as each fire adds one
  for (std::size_t i = 0; i < kMaxTags; ++i)
    tags += (i ? ",\"t" : "\"t") + std::to_string(i) + "\"";
  TestReply too_many = Call("PUT", "/v1/schedules/bad",
                            R"({"cron":"@daily","job":{"kind":"k","tags":[)" + tags + "]}}");
  EXPECT_EQ(too_many.status, 422) << too_many.body;
  EXPECT_EQ(too_many.ErrorField(), "job.tags");
  TestReply long_name = Call("PUT", "/v1/schedules/" + std::string(200, 'n'),
                             R"({"cron":"@daily","job":{"kind":"k"}})");
  EXPECT_EQ(long_name.status, 422) << long_name.body;
  EXPECT_EQ(long_name.ErrorField(), "name");
  EXPECT_EQ(Call("GET", "/v1/schedules?limit=0").status, 422);
  EXPECT_EQ(Call("GET", "/v1/schedules?bogus=1").status, 400);
  EXPECT_EQ(Call("GET", "/v1/schedules").json.at("schedules").as_array().size(), 0u);
}

TEST_F(SchedulesHandlerTest, PutWakesTheSchedulerAndTheScheduleFires) {
  scheduler_->Start();
  ASSERT_TRUE(scheduler_->WaitFor([](const auto& c) { return c.cycles >= 1; }, kSafety));
  ASSERT_EQ(Call("PUT", "/v1/schedules/minutely",
                 R"({"cron":"* * * * *","job":{"kind":"tick","payload":{"from":"cron"}}})")
                .status,
            201);
  // The clock stands still: only the PUT's Wake() can run a second cycle.
  ASSERT_TRUE(scheduler_->WaitFor([](const auto& c) { return c.cycles >= 2; }, kSafety));
  EXPECT_EQ(scheduler_->counters().schedules, 1);
  EXPECT_EQ(scheduler_->counters().fired, 0u);

  clock_.Set(FromMicros(k2214Ms * 1000));
  ASSERT_TRUE(scheduler_->WaitFor([](const auto& c) { return c.fired >= 1; }, kSafety));
  TestReply jobs = Call("GET", "/v1/jobs?kind=tick");
  ASSERT_EQ(jobs.status, 200) << jobs.body;
  ASSERT_EQ(jobs.json.at("jobs").as_array().size(), 1u) << jobs.body;
  const json::value& job = jobs.json.at("jobs").as_array()[0];
  EXPECT_EQ(job.at("tags").as_array()[0], "schedule:minutely");
  EXPECT_NE(jobs.body.find(R"("payload":{"from":"cron"})"), std::string::npos) << jobs.body;

  TestReply schedule = Call("GET", "/v1/schedules/minutely");
  EXPECT_EQ(schedule.json.at("last_job_id"), job.at("id"));
  EXPECT_EQ(schedule.json.at("last_fire_at_ms").as_int64(), k2214Ms);
  EXPECT_EQ(schedule.json.at("next_fire_at_ms").as_int64(), k2215Ms);

  // Paused, it lets its time pass without a job.
  const uint64_t before = scheduler_->counters().cycles;
  ASSERT_EQ(Call("PUT", "/v1/schedules/minutely",
                 R"({"cron":"* * * * *","paused":true,"job":{"kind":"tick"}})")
                .status,
            200);
  ASSERT_TRUE(  // the PUT's Wake()
      scheduler_->WaitFor([before](const auto& c) { return c.cycles > before; }, kSafety));
  const uint64_t woke = scheduler_->counters().cycles;
  clock_.Set(FromMicros(k2215Ms * 1000));
  ASSERT_TRUE(scheduler_->WaitFor([woke](const auto& c) { return c.cycles > woke; }, kSafety));
  EXPECT_EQ(scheduler_->counters().fired, 1u);
  EXPECT_EQ(Call("GET", "/v1/jobs?kind=tick").json.at("jobs").as_array().size(), 1u);
}

}  // namespace
}  // namespace jobtape::http::testing
