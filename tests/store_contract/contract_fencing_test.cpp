// Contract, R2 (fencing), R3 (at most one live attempt) and R5 (liveness):
// every lease call presents (job, attempt, token); a wrong token, a wrong
// attempt, or a lease that expired and was re-claimed is stale and changes
// nothing; a job is never claimed twice while its lease is live; the reaper
// takes only expired leases, and the runtime backstop ends a job whatever its
// heartbeats say.
#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "contract_fixture.hpp"

namespace jobtape::store::testing {
namespace {

using ET = EventType;
using std::chrono::seconds;

// Every lease call with `lease` is stale and the store is unchanged.
#define EXPECT_LEASE_STALE_AND_NOTHING_CHANGES(lease)                                     \
  do {                                                                                    \
    std::string before_ = DescribeAll();                                                  \
    EXPECT_CODE(Heartbeat(lease), ErrorCode::kStaleLease);                                \
    EXPECT_CODE(AppendProgress(lease, 50), ErrorCode::kStaleLease);                       \
    EXPECT_CODE(Finish(lease, Outcome::Succeeded()), ErrorCode::kStaleLease);             \
    EXPECT_CODE(Finish(lease, Outcome::Failed("x", "y")), ErrorCode::kStaleLease);        \
    EXPECT_CODE(Finish(lease, Outcome::Failed("x", "y", false)), ErrorCode::kStaleLease); \
    EXPECT_CODE(Finish(lease, Outcome::Cancelled()), ErrorCode::kStaleLease);             \
    EXPECT_EQ(DescribeAll(), before_);                                                    \
  } while (0)

TEST_P(StoreContract, LeaseWithWrongTokenIsStale) {
  Enqueue();
  ClaimedJob c = ClaimOne();
  Lease forged = c.lease;
  forged.token = std::string(c.lease.token.size(), '0');
  ASSERT_NE(forged.token, c.lease.token);
  EXPECT_LEASE_STALE_AND_NOTHING_CHANGES(forged);
  Lease empty = c.lease;
  empty.token.clear();
  EXPECT_LEASE_STALE_AND_NOTHING_CHANGES(empty);
  EXPECT_OK(Heartbeat(c.lease));  // the real lease still works
}

TEST_P(StoreContract, LeaseWithWrongAttemptIsStale) {
  Enqueue();
  ClaimedJob c = ClaimOne();
  ASSERT_EQ(c.lease.attempt, 1);
  for (int attempt : {0, 2, -1}) {
    Lease wrong = c.lease;
    wrong.attempt = attempt;
    EXPECT_LEASE_STALE_AND_NOTHING_CHANGES(wrong);
  }
  EXPECT_OK(Heartbeat(c.lease));
}

TEST_P(StoreContract, LeaseForAnotherJobIsStale) {
  Enqueue();
  Enqueue();
  std::vector<ClaimedJob> two = Claim({"default"}, 2);
  ASSERT_EQ(two.size(), 2u);
  Lease crossed = two[0].lease;
  crossed.job_id = two[1].job.id;  // right attempt, other job's id
  EXPECT_LEASE_STALE_AND_NOTHING_CHANGES(crossed);
}

TEST_P(StoreContract, LeaseOfNeverClaimedJobIsStale) {
  JobId id = Enqueue();
  Lease made_up{id, 1, std::string(32, 'a'), now_ + kLeaseTtl};
  EXPECT_LEASE_STALE_AND_NOTHING_CHANGES(made_up);
  EXPECT_EQ(Get(id).state, JobState::kQueued);
}

TEST_P(StoreContract, ReclaimedLeaseIsStaleWhileTheNewOneWorks) {
  JobId id = Enqueue();
  ClaimedJob old = ClaimOne();
  Advance(kLeaseTtl + seconds(1));
  auto reaped = Reap();
  ASSERT_OK(reaped);
  EXPECT_EQ(reaped->expired, 1);
  Advance(std::chrono::minutes(5));  // past the retry backoff
  ClaimedJob fresh = ClaimOne();
  ASSERT_EQ(fresh.job.id, id);
  EXPECT_EQ(fresh.lease.attempt, 2);
  EXPECT_NE(fresh.lease.token, old.lease.token);

  EXPECT_LEASE_STALE_AND_NOTHING_CHANGES(old.lease);
  EXPECT_EQ(Get(id).state, JobState::kRunning);
  EXPECT_EQ(Get(id).attempt, 2);

  auto hb = Heartbeat(fresh.lease);
  ASSERT_OK(hb);
  EXPECT_EQ(hb->expires_at, now_ + kLeaseTtl);
  ASSERT_OK(AppendProgress(fresh.lease, 70));
  ASSERT_OK(Finish(fresh.lease, Outcome::Succeeded()));
  EXPECT_EQ(Get(id).state, JobState::kSucceeded);
  ExpectAllTapesSound();
}

TEST_P(StoreContract, ClaimedLeaseCarriesItsExpiry) {
  JobId id = Enqueue();
  ClaimedJob c = ClaimOne();
  EXPECT_EQ(c.lease.job_id, id);
  EXPECT_EQ(c.lease.expires_at, now_ + kLeaseTtl);
  EXPECT_FALSE(c.lease.token.empty());
  EXPECT_EQ(c.job.worker_id, "worker-1");
  EXPECT_EQ(Get(id).lease_expires_at, now_ + kLeaseTtl);
  EXPECT_EQ(Get(id).started_at, now_);
}

TEST_P(StoreContract, ReapLeavesLiveLeaseAlone) {
  JobId id = Enqueue();
  ClaimedJob c = ClaimOne();
  Advance(kLeaseTtl - kTick);
  auto reaped = Reap();
  ASSERT_OK(reaped);
  EXPECT_EQ(reaped->expired + reaped->cancelled + reaped->timed_out, 0);
  EXPECT_EQ(Get(id).state, JobState::kRunning);
  EXPECT_OK(Heartbeat(c.lease));
}

TEST_P(StoreContract, HeartbeatExtendsTheLease) {
  JobId id = Enqueue();
  ClaimedJob c = ClaimOne();
  Advance(seconds(20));
  auto hb = Heartbeat(c.lease);
  ASSERT_OK(hb);
  EXPECT_EQ(hb->expires_at, now_ + kLeaseTtl);
  EXPECT_FALSE(hb->cancel_requested);
  TimePoint expiry = hb->expires_at;

  now_ = c.lease.expires_at + seconds(1);  // the original lease has run out
  auto early = Reap();
  ASSERT_OK(early);
  EXPECT_EQ(early->expired, 0);
  EXPECT_EQ(Get(id).state, JobState::kRunning);

  now_ = expiry + seconds(1);
  auto late = Reap();
  ASSERT_OK(late);
  EXPECT_EQ(late->expired, 1);
  EXPECT_EQ(late->job_ids, std::vector<JobId>{id});
  EXPECT_CODE(Heartbeat(c.lease), ErrorCode::kStaleLease);
}

TEST_P(StoreContract, RuntimeBackstopEndsJobDespiteHeartbeats) {
  JobSpec spec = Spec();
  spec.timeout = seconds(60);
  JobId id = Enqueue(spec);
  ClaimedJob c = ClaimOne();
  for (int t : {20, 40, 55}) {
    now_ = kStart + seconds(t);
    ASSERT_OK(Heartbeat(c.lease));
    auto r = Reap();
    ASSERT_OK(r);
    EXPECT_EQ(r->timed_out, 0) << "at +" << t << "s";
  }
  now_ = kStart + seconds(61);  // lease valid until +85 s, but the runtime is up
  auto r = Reap();
  ASSERT_OK(r);
  EXPECT_EQ(r->timed_out, 1);
  EXPECT_EQ(r->expired, 0);
  EXPECT_EQ(r->job_ids, std::vector<JobId>{id});
  Job job = Get(id);
  EXPECT_NE(job.state, JobState::kRunning);
  EXPECT_EQ(CountOf(TapeTypes(id), ET::kAttemptFailed), 1u);  // 2 attempts remain: a retry
  EXPECT_CODE(Heartbeat(c.lease), ErrorCode::kStaleLease);
  ExpectAllTapesSound();
}

TEST_P(StoreContract, LiveLeaseIsNeverClaimedTwice) {
  JobId id = Enqueue();
  ClaimedJob c = ClaimOne();
  ASSERT_EQ(c.job.id, id);
  ClaimParams other = ClaimAt({"default"}, 10);
  other.worker_id = "worker-2";
  EXPECT_TRUE(Claim(other).empty());
  now_ = c.lease.expires_at - kTick;  // nearly expired is still live
  other.now = now_;
  EXPECT_TRUE(Claim(other).empty());
  EXPECT_EQ(Get(id).attempt, 1);
}

TEST_P(StoreContract, ConcurrentClaimsTakeEachJobOnce) {
  constexpr int kJobs = 20;
  constexpr int kThreads = 4;
  EnqueueBatch(std::vector<JobSpec>(kJobs, Spec()));
  std::mutex mu;
  std::multiset<JobId> claimed;
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ClaimParams p = ClaimAt({"default"}, 1 + t % 2);
      p.worker_id = "worker-" + std::to_string(t);
      for (;;) {
        auto r = store().JobsClaim(p);
        if (!r.ok()) {
          ++errors;
          return;
        }
        if (r->jobs.empty()) return;
        std::lock_guard lock(mu);
        for (const auto& j : r->jobs)
          claimed.insert(j.job.id);
      }
    });
  }
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(claimed.size(), static_cast<std::size_t>(kJobs));
  EXPECT_EQ(std::set<JobId>(claimed.begin(), claimed.end()).size(), claimed.size())
      << "a job was claimed twice";
  ExpectAllTapesSound();
}

TEST_P(StoreContract, TapeShowsEveryAttempt) {
  JobId id = Enqueue();
  ClaimedJob a1 = ClaimOne();  // attempt 1: fails retryably
  ASSERT_OK(Finish(a1.lease, Outcome::Failed("boom", "first")));
  Advance(std::chrono::minutes(1));
  ClaimedJob a2 = ClaimOne();  // attempt 2: its lease runs out
  Advance(kLeaseTtl + seconds(1));
  ASSERT_OK(Reap());
  Advance(std::chrono::minutes(1));
  ClaimedJob a3 = ClaimOne();  // attempt 3: succeeds
  ASSERT_OK(Finish(a3.lease, Outcome::Succeeded()));

  EXPECT_EQ(TapeTypes(id),
            (std::vector<ET>{ET::kCreated, ET::kStarted, ET::kAttemptFailed, ET::kStarted,
                             ET::kAttemptFailed, ET::kStarted, ET::kFinal}));
  std::vector<int> started;
  for (const Event& e : Tape(id)) {
    if (e.type == ET::kStarted) started.push_back(e.attempt);
  }
  EXPECT_EQ(started, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(Get(id).attempt, 3);
  EXPECT_EQ(Get(id).state, JobState::kSucceeded);
  ExpectAllTapesSound();
}

}  // namespace
}  // namespace jobtape::store::testing
