// The Scheduler on the real SQLite store, driven by a ManualClock: it fires a
// schedule at its due time (waking for the next fire, not polling), computes
// DST-correct next fires through the cron module, publishes a snapshot per
// cycle (R6) that ages while the loop is stalled, and a restart resumes from
// the committed state without firing anything twice.
#include <gtest/gtest.h>

#include <memory>

#include "engine/scheduler.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "test_util.hpp"

namespace jobtape::engine {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

TimePoint Unix(int64_t s) {
  return FromMicros(s * 1'000'000);
}
// ManualClock starts at 2023-11-14T22:13:20Z.
const TimePoint k2214 = Unix(1'700'000'040);
const TimePoint k2215 = Unix(1'700'000'100);

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    Reopen();
  }
  void Reopen() {
    store_.reset();
    auto opened = store::sqlite::Open(
        {.path = dir_.path() + "/jobtape.db", .durability = store::sqlite::Durability::kNormal});
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(*opened);
  }
  void Upsert(const std::string& name, const std::string& cron, const std::string& tz = "UTC",
              store::MisfirePolicy misfire = store::MisfirePolicy::kSkip) {
    store::ScheduleSpec spec;
    spec.name = name;
    spec.cron = cron;
    spec.timezone = tz;
    spec.job.kind = "cron.job";
    spec.misfire = misfire;
    auto r = store_->ScheduleUpsert({clock_.Now(), spec});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  std::vector<Job> Jobs() {
    auto page = store_->JobsList({.limit = 1000});
    EXPECT_TRUE(page.ok());
    return page.ok() ? page->jobs : std::vector<Job>{};
  }

  testing::TempDir dir_;
  ManualClock clock_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(SchedulerTest, FiresAtTheDueTimeAndPublishesEachCycle) {
  SnapshotRegistry registry;
  Scheduler scheduler(*store_, clock_, {.registry = &registry});
  EXPECT_EQ(scheduler.Name(), "scheduler");
  Upsert("every5", "*/5 * * * *");

  SchedulerCycleStats early = scheduler.RunOnce(k2214);
  EXPECT_EQ(early.fired, 0);
  EXPECT_EQ(early.next_fire_at, k2215);
  EXPECT_EQ(early.schedules, 1);
  SchedulerCycleStats due = scheduler.RunOnce(k2215);
  EXPECT_EQ(due.fired, 1);
  EXPECT_EQ(due.next_fire_at, k2215 + minutes(5));
  ASSERT_EQ(Jobs().size(), 1u);
  EXPECT_EQ(Jobs()[0].spec.kind, "cron.job");

  auto snap = registry.Get("scheduler");
  ASSERT_NE(snap, nullptr);
  EXPECT_EQ(snap->cycle, 2u);
  EXPECT_EQ(snap->status, kLoopOk);
  EXPECT_EQ(snap->last_updated, k2215);
  EXPECT_EQ(snap->interval, kDefaultSchedulerInterval);
  EXPECT_EQ(snap->counts.at("fired"), 1);
  EXPECT_EQ(snap->counts.at("schedules"), 1);
  EXPECT_EQ(snap->counts.at("errors"), 0);
  EXPECT_EQ(scheduler.counters().fired, 1u);
}

TEST_F(SchedulerTest, TimerWakesAtTheNextFireNotTheInterval) {
  Upsert("every5", "*/5 * * * *");
  // An interval far longer than the wait: only the next fire can wake it.
  Scheduler scheduler(*store_, clock_, {.interval = hours(1)});
  scheduler.Start();
  ASSERT_TRUE(scheduler.WaitFor([](const auto& c) { return c.cycles >= 1; }, testing::kSafety));
  EXPECT_EQ(scheduler.counters().fired, 0u);
  clock_.Set(k2215);
  ASSERT_TRUE(scheduler.WaitFor([](const auto& c) { return c.fired >= 1; }, testing::kSafety));
  EXPECT_EQ(scheduler.snapshot()->last_updated, k2215);
  scheduler.Stop();
  EXPECT_EQ(scheduler.snapshot()->status, kLoopStopped);
  EXPECT_EQ(Jobs().size(), 1u);
}

TEST_F(SchedulerTest, WakeRunsACycleForANewSchedule) {
  Scheduler scheduler(*store_, clock_, {.interval = hours(1)});
  scheduler.Start();
  ASSERT_TRUE(scheduler.WaitFor([](const auto& c) { return c.cycles >= 1; }, testing::kSafety));
  Upsert("minutely", "* * * * *");
  scheduler.Wake();  // learns the next fire (22:14) instead of sleeping an hour
  ASSERT_TRUE(scheduler.WaitFor([](const auto& c) { return c.cycles >= 2; }, testing::kSafety));
  EXPECT_EQ(scheduler.counters().schedules, 1);
  clock_.Set(k2214);
  ASSERT_TRUE(scheduler.WaitFor([](const auto& c) { return c.fired >= 1; }, testing::kSafety));
}

TEST_F(SchedulerTest, NextFiresFollowDaylightSavingInTheScheduleZone) {
  // 02:30 in New York does not exist on 2024-03-10 (02:00 -> 03:00 EDT): that
  // day fires at 03:00 EDT. 01:30 happens twice on 2024-11-03: it fires once.
  clock_.Set(Unix(1'709'971'200));  // 2024-03-09T08:00:00Z
  Upsert("spring", "30 2 * * *", "America/New_York");
  Scheduler scheduler(*store_, clock_);
  EXPECT_EQ(scheduler.RunOnce(clock_.Now()).next_fire_at, Unix(1'710'054'000));  // 03-10 07:00Z
  SchedulerCycleStats gap = scheduler.RunOnce(Unix(1'710'054'000));
  EXPECT_EQ(gap.fired, 1);
  EXPECT_EQ(gap.next_fire_at, Unix(1'710'138'600));  // 03-11 06:30Z (02:30 EDT)

  ASSERT_TRUE(store_->ScheduleDelete("spring").ok());
  clock_.Set(Unix(1'730'592'000));  // 2024-11-03T00:00:00Z
  Upsert("fall", "30 1 * * *", "America/New_York");
  const TimePoint first = Unix(1'730'611'800);  // 11-03 05:30Z = 01:30 EDT
  EXPECT_EQ(scheduler.RunOnce(clock_.Now()).next_fire_at, first);
  SchedulerCycleStats fell = scheduler.RunOnce(first);
  EXPECT_EQ(fell.fired, 1);
  // Not again at 01:30 EST (06:30Z): the next fire is the next day's 01:30 EST.
  EXPECT_EQ(fell.next_fire_at, Unix(1'730'701'800));  // 11-04 06:30Z
  EXPECT_EQ(scheduler.RunOnce(Unix(1'730'615'400)).fired, 0);
  EXPECT_EQ(Jobs().size(), 2u);
}

TEST_F(SchedulerTest, AStalledLoopsSnapshotAges) {
  SnapshotRegistry registry;
  Scheduler scheduler(*store_, clock_, {.interval = seconds(5), .registry = &registry});
  scheduler.Start();
  ASSERT_TRUE(scheduler.WaitFor([](const auto& c) { return c.cycles >= 1; }, testing::kSafety));
  scheduler.SetStalledForTest(true);
  const TimePoint stalled_at = clock_.Now();
  EXPECT_FALSE(IsStalled(*registry.Get("scheduler"), stalled_at));

  clock_.Advance(seconds(3 * 5) + seconds(1));  // three intervals and a bit
  auto snap = registry.Get("scheduler");
  EXPECT_EQ(snap->last_updated, stalled_at);
  EXPECT_EQ(snap->status, kLoopOk);
  EXPECT_TRUE(IsStalled(*snap, clock_.Now()));
  EXPECT_EQ(scheduler.counters().cycles, 1u);

  scheduler.SetStalledForTest(false);
  ASSERT_TRUE(scheduler.WaitFor([](const auto& c) { return c.cycles >= 2; }, testing::kSafety));
  EXPECT_FALSE(IsStalled(*registry.Get("scheduler"), clock_.Now()));
}

TEST_F(SchedulerTest, RestartResumesWithoutFiringTwice) {
  Upsert("minutely", "* * * * *");
  {
    Scheduler first(*store_, clock_);
    EXPECT_EQ(first.RunOnce(k2214).fired, 1);
  }
  Reopen();  // the process restarts: a new store and a new scheduler
  Scheduler second(*store_, clock_);
  EXPECT_EQ(second.RunOnce(k2214).fired, 0);
  EXPECT_EQ(second.RunOnce(k2214 + seconds(30)).fired, 0);
  EXPECT_EQ(second.RunOnce(k2215).fired, 1);
  EXPECT_EQ(Jobs().size(), 2u);

  // Down for an hour under `skip`: back 20 s after a fire, only that one fires.
  Reopen();
  Scheduler third(*store_, clock_);
  SchedulerCycleStats back = third.RunOnce(k2215 + hours(1) + seconds(20));
  EXPECT_EQ(back.fired, 1);
  EXPECT_EQ(back.next_fire_at, k2215 + hours(1) + minutes(1));
  EXPECT_EQ(Jobs().size(), 3u);
}

}  // namespace
}  // namespace jobtape::engine
