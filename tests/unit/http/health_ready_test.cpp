// R6 over HTTP: a real Scheduler on a SQLite store, its snapshot read by
// /health and /health/ready. Stalled (the timer parked by the test hook while
// the virtual clock runs past three intervals), the loop is named in both and
// readiness fails; un-stalled, the next cycle makes the server healthy again.
// Synchronised on the scheduler's counters and the ManualClock only.
#include "api_server_fixture.hpp"

namespace jobtape::http::testing {
namespace {

namespace json = boost::json;

const json::object* Loop(const TestReply& health, std::string_view name) {
  if (!health.json.is_object()) return nullptr;
  for (const json::value& loop : health.json.at("loops").as_array()) {
    if (loop.at("name").as_string() == name) return &loop.as_object();
  }
  return nullptr;
}

using HealthReadyTest = ApiServerTest;

TEST_F(HealthReadyTest, AStalledSchedulerFailsReadinessUntilItRunsAgain) {
  scheduler_->Start();
  ASSERT_TRUE(scheduler_->WaitFor([](const auto& c) { return c.cycles >= 1; }, kSafety));

  TestReply health = Call("GET", "/health");
  ASSERT_EQ(health.status, 200) << health.body;
  const json::object* loop = Loop(health, "scheduler");
  ASSERT_NE(loop, nullptr) << health.body;
  EXPECT_EQ(loop->at("status"), "ok");
  EXPECT_EQ(loop->at("stalled"), false);
  TestReply ready = Call("GET", "/health/ready");
  ASSERT_EQ(ready.status, 200) << ready.body;
  EXPECT_EQ(ready.json.at("status"), "ready");
  EXPECT_TRUE(ready.json.at("stalled_loops").as_array().empty());

  scheduler_->SetStalledForTest(true);
  clock_.Advance(3 * kInterval);  // exactly three intervals: late, not yet stalled
  EXPECT_EQ(Call("GET", "/health/ready").status, 200);
  clock_.Advance(std::chrono::seconds(1));
  EXPECT_EQ(scheduler_->counters().cycles, 1u) << "the stalled loop ran no cycle";

  health = Call("GET", "/health");
  ASSERT_EQ(health.status, 503) << health.body;
  EXPECT_EQ(health.json.at("status"), "degraded");
  loop = Loop(health, "scheduler");
  ASSERT_NE(loop, nullptr) << health.body;
  EXPECT_EQ(loop->at("status"), "stalled");
  EXPECT_EQ(loop->at("stalled"), true);
  EXPECT_EQ(loop->at("cycle").as_int64(), 1);
  EXPECT_EQ(loop->at("age_ms").as_int64(), 16'000);

  ready = Call("GET", "/health/ready");
  ASSERT_EQ(ready.status, 503) << ready.body;
  EXPECT_EQ(ready.json.at("status"), "stalled");
  ASSERT_EQ(ready.json.at("stalled_loops").as_array().size(), 1u) << ready.body;
  EXPECT_EQ(ready.json.at("stalled_loops").as_array()[0], "scheduler");
  EXPECT_EQ(ready.Header("Retry-After"), "1");

  scheduler_->SetStalledForTest(false);
  ASSERT_TRUE(scheduler_->WaitFor([](const auto& c) { return c.cycles >= 2; }, kSafety));
  health = Call("GET", "/health");
  EXPECT_EQ(health.status, 200) << health.body;
  loop = Loop(health, "scheduler");
  ASSERT_NE(loop, nullptr);
  EXPECT_EQ(loop->at("status"), "ok");
  EXPECT_EQ(loop->at("cycle").as_int64(), 2);
  ready = Call("GET", "/health/ready");
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_EQ(ready.json.at("status"), "ready");
}

TEST_F(HealthReadyTest, ALoopThatNeverRanCountsFromTheServersStart) {
  // Registered but never started: "starting" ages from started_at, so a loop
  // that hangs before its first cycle is caught too.
  EXPECT_EQ(Call("GET", "/health/ready").status, 200);
  clock_.Advance(3 * kInterval + std::chrono::seconds(1));
  TestReply ready = Call("GET", "/health/ready");
  ASSERT_EQ(ready.status, 503) << ready.body;
  EXPECT_EQ(ready.json.at("stalled_loops").as_array()[0], "scheduler");
}

}  // namespace
}  // namespace jobtape::http::testing
