// The Reaper on the real SQLite store, driven by a ManualClock: an expired
// lease is reclaimed (R5), a renewed one is left alone, and every cycle
// publishes a snapshot (R6).
#include <gtest/gtest.h>

#include <memory>

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
  store::ClaimedJob EnqueueAndClaim() {
    auto enq = store_->JobsEnqueue({.now = clock_.Now(), .jobs = {JobSpec{.kind = "k"}}});
    EXPECT_TRUE(enq.ok());
    auto claim = store_->JobsClaim({.now = clock_.Now(),
                                    .worker_id = "w",
                                    .queues = {"default"},
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

}  // namespace
}  // namespace jobtape::engine
