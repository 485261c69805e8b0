// The Reaper on the real SQLite store, driven by a ManualClock: an expired
// lease is reclaimed (R5), a renewed one is left alone, switched-off rules
// defer (counted once per cycle, in small batches too), and every cycle
// publishes a snapshot (R6).
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "engine/reaper.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "test_util.hpp"

namespace jobtape::engine {
namespace {

using std::chrono::seconds;

class ReaperSqliteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    auto opened = store::sqlite::Open(
        {.path = dir_.path() + "/jobtape.db", .durability = store::sqlite::Durability::kNormal});
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(*opened);
  }
  store::ClaimedJob EnqueueAndClaim(JobSpec spec = JobSpec{.kind = "k"}) {
    auto enq = store_->JobsEnqueue({.now = clock_.Now(), .jobs = {spec}});
    EXPECT_TRUE(enq.ok());
    auto claim = store_->JobsClaim({.now = clock_.Now(),
                                    .worker_id = "w",
                                    .queues = {spec.queue},
                                    .max = 1,
                                    .lease_ttl = seconds(5)});
    EXPECT_TRUE(claim.ok() && claim->jobs.size() == 1);
    return claim->jobs.at(0);
  }

  testing::TempDir dir_;
  ManualClock clock_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(ReaperSqliteTest, ReclaimsAnExpiredLeaseOnlyAfterItExpires) {
  SnapshotRegistry registry;
  int reported = 0;
  Reaper reaper(*store_, clock_,
                {.registry = &registry,
                 .on_reaped = [&](const store::ReapResult& r) { reported += r.expired; }});
  store::ClaimedJob claimed = EnqueueAndClaim();

  ReaperCycleStats early = reaper.RunOnce(clock_.Now() + seconds(4));
  EXPECT_EQ(early.expired, 0);
  // A heartbeat renews the lease: still alive past its first expiry.
  auto hb = store_->LeaseHeartbeat(
      {.now = clock_.Now() + seconds(4), .lease = claimed.lease, .lease_ttl = seconds(5)});
  ASSERT_TRUE(hb.ok()) << hb.status().ToString();
  EXPECT_EQ(reaper.RunOnce(clock_.Now() + seconds(6)).expired, 0);

  ReaperCycleStats late = reaper.RunOnce(clock_.Now() + seconds(10));
  EXPECT_EQ(late.expired, 1);
  EXPECT_EQ(reported, 1);
  auto job = store_->JobGet(claimed.job.id);
  ASSERT_TRUE(job.ok());
  EXPECT_FALSE(IsTerminal(job->state));
  EXPECT_NE(job->state, JobState::kRunning);

  auto snap = registry.Get("reaper");
  ASSERT_NE(snap, nullptr);
  EXPECT_EQ(snap->cycle, 3u);
  EXPECT_EQ(snap->status, kLoopOk);
  EXPECT_EQ(snap->counts.at("expired"), 1);
  EXPECT_EQ(reaper.counters().expired, 1u);
}

TEST_F(ReaperSqliteTest, TimerThreadRunsCyclesUntilStopped) {
  SnapshotRegistry registry;
  Reaper reaper(*store_, clock_, {.registry = &registry});
  reaper.Start();
  // The first cycle runs at once; the next one when the virtual clock moves.
  ASSERT_TRUE(
      reaper.WaitFor([](const ReaperCounters& c) { return c.cycles >= 1; }, testing::kSafety));
  clock_.Advance(seconds(1));
  ASSERT_TRUE(
      reaper.WaitFor([](const ReaperCounters& c) { return c.cycles >= 2; }, testing::kSafety));
  reaper.Stop();
  EXPECT_EQ(registry.Get("reaper")->status, kLoopStopped);
}

TEST_F(ReaperSqliteTest, SwitchedOffRulesDeferOncePerCycleAcrossBatches) {
  SnapshotRegistry registry;
  std::vector<store::ReapResult> reports;
  Reaper reaper(*store_, clock_,
                {.batch = 2,  // several store calls per cycle
                 .registry = &registry,
                 .rules = {.runtime_backstop = false},
                 .on_reaped = [&](const store::ReapResult& r) { reports.push_back(r); }});
  for (int i = 0; i < 3; ++i)
    EnqueueAndClaim(JobSpec{.kind = "k", .queue = "slow", .timeout = seconds(2)});
  for (int i = 0; i < 5; ++i)
    EnqueueAndClaim(JobSpec{.kind = "k", .queue = "fast"});
  // 10 s: the slow ones are past their timeout (leases capped at it), the
  // fast ones' 5 s leases ran out on their own.
  ReaperCycleStats first = reaper.RunOnce(clock_.Now() + seconds(10));
  EXPECT_EQ(first.expired, 5);
  EXPECT_EQ(first.timed_out, 0);
  EXPECT_EQ(first.deferred, 3) << "counted once per cycle, not once per store call";
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].job_ids.size(), 5u);
  EXPECT_EQ(reports[0].queues.at("fast"), (store::ReapCounts{.expired = 5}));
  EXPECT_EQ(reports[0].queues.at("slow"), (store::ReapCounts{.deferred = 3}));

  ReaperCycleStats second = reaper.RunOnce(clock_.Now() + seconds(11));
  EXPECT_EQ(second.reaped(), 0);
  EXPECT_EQ(second.deferred, 3);
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_EQ(reports[1].queues.size(), 1u);
  EXPECT_EQ(reaper.counters().deferred, 6u);
  EXPECT_EQ(reaper.counters().expired, 5u);
  EXPECT_EQ(registry.Get("reaper")->counts.at("deferred"), 6);
}

TEST_F(ReaperSqliteTest, EveryRuleOffLeavesEverythingRunning) {
  Reaper reaper(
      *store_, clock_,
      {.rules = {.expired_leases = false, .runtime_backstop = false, .cancel_grace = false}});
  store::ClaimedJob a = EnqueueAndClaim();
  store::ClaimedJob b = EnqueueAndClaim(JobSpec{.kind = "k", .timeout = seconds(1)});
  store::ClaimedJob c = EnqueueAndClaim();
  ASSERT_TRUE(store_->JobCancel({.now = clock_.Now(), .id = c.job.id, .grace = seconds(1)}).ok());
  ReaperCycleStats s = reaper.RunOnce(clock_.Now() + seconds(60));
  EXPECT_EQ(s.reaped(), 0);
  EXPECT_EQ(s.deferred, 3);
  for (JobId id : {a.job.id, b.job.id, c.job.id}) {
    auto job = store_->JobGet(id);
    ASSERT_TRUE(job.ok());
    EXPECT_EQ(job->state, JobState::kRunning);
  }
}

}  // namespace
}  // namespace jobtape::engine
