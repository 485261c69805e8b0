// Contract: the reaper's rules and their switches (ReapRules), deferrals and
// per-queue counts, the finalizer incident (R5) and racing reapers (R2), all
// on the logical clock now_. A fixture of its own (ReapContract, instantiated
// for every store like StoreContract) for the ReapWith helper.
#include <atomic>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "contract_fixture.hpp"

namespace jobtape::store::testing {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;
using ET = EventType;

ReapRules AllBut(bool ReapRules::*off) {
  ReapRules rules;
  rules.*off = false;
  return rules;
}

// The events of `attempt` of type `type` on the tape.
std::size_t CountFor(const std::vector<Event>& tape, ET type, int attempt) {
  std::size_t n = 0;
  for (const Event& e : tape)
    n += e.type == type && e.attempt == attempt ? 1 : 0;
  return n;
}

class ReapContract : public StoreContract {
 protected:
  Result<ReapResult> ReapWith(ReapRules rules, int limit = 1000) {
    return store().LeasesReapExpired({.now = now_, .limit = limit, .rules = rules});
  }
  // A job in `queue` (with `timeout`, if any) claimed at now_.
  ClaimedJob Running(std::string queue, std::optional<Duration> timeout = std::nullopt) {
    JobSpec spec = Spec(queue);
    spec.timeout = timeout;
    Enqueue(spec);
    return ClaimOne(queue);
  }
};

TEST_P(ReapContract, EachRuleCountsPerQueue) {
  ClaimedJob lease = Running("a");
  ClaimedJob slow = Running("b", seconds(20));
  ClaimedJob cancelled = Running("c");
  ASSERT_OK(Cancel(cancelled.job.id, seconds(5)));
  Advance(seconds(25));  // b past its timeout, c past its grace; a's lease still live
  ASSERT_OK(Heartbeat(lease.lease));
  auto r = ReapWith({});
  ASSERT_OK(r);
  EXPECT_EQ(r->expired, 0);
  EXPECT_EQ(r->timed_out, 1);
  EXPECT_EQ(r->cancelled, 1);
  EXPECT_EQ(r->deferred, 0);
  EXPECT_EQ(r->raced, 0);
  EXPECT_EQ(r->queues.size(), 2u);
  EXPECT_EQ(r->queues["b"], (ReapCounts{.timed_out = 1}));
  EXPECT_EQ(r->queues["c"], (ReapCounts{.cancelled = 1}));
  ExpectTerminalWithFinal(cancelled.job.id, JobState::kCancelled);

  Advance(kLeaseTtl);
  r = ReapWith({});
  ASSERT_OK(r);
  EXPECT_EQ(r->expired, 1);
  EXPECT_EQ(r->job_ids, std::vector<JobId>{lease.job.id});
  EXPECT_EQ(r->queues.size(), 1u);
  EXPECT_EQ(r->queues["a"], (ReapCounts{.expired = 1}));
  ExpectAllTapesSound();
}

TEST_P(ReapContract, ExpiredLeaseRuleOffDefersUntilSwitchedOn) {
  ClaimedJob c = Running("default");
  now_ = c.lease.expires_at;
  const std::string before = DescribeAll();
  for (int cycle = 0; cycle < 3; ++cycle) {  // counted by every call that sees it
    auto r = ReapWith(AllBut(&ReapRules::expired_leases));
    ASSERT_OK(r);
    EXPECT_EQ(r->reaped(), 0);
    EXPECT_EQ(r->deferred, 1);
    EXPECT_TRUE(r->job_ids.empty());
    EXPECT_EQ(r->queues["default"], (ReapCounts{.deferred = 1}));
    Advance(seconds(1));
  }
  EXPECT_EQ(DescribeAll(), before) << "a deferral changes nothing";
  auto r = ReapWith({});
  ASSERT_OK(r);
  EXPECT_EQ(r->expired, 1);
  EXPECT_EQ(r->deferred, 0);
  EXPECT_EQ(Get(c.job.id).state, JobState::kScheduled);
}

TEST_P(ReapContract, BackstopOffLeavesATimedOutAttemptToItsWorker) {
  ClaimedJob c = Running("default", seconds(60));
  for (int i = 0; i < 5; ++i) {
    Advance(seconds(10));
    ASSERT_OK(Heartbeat(c.lease));
  }
  Advance(seconds(15));  // past the timeout; the lease was capped at it
  auto off = ReapWith(AllBut(&ReapRules::runtime_backstop));
  ASSERT_OK(off);
  EXPECT_EQ(off->reaped(), 0) << "a lease capped by the timeout is not an expired lease";
  EXPECT_EQ(off->deferred, 1);
  EXPECT_EQ(Get(c.job.id).state, JobState::kRunning);
  // Heartbeats past the deadline are refused, but the worker may still finish.
  EXPECT_CODE(Heartbeat(c.lease), ErrorCode::kStaleLease);
  ASSERT_OK(Finish(c.lease, Outcome::Succeeded("{}")));
  ExpectTerminalWithFinal(c.job.id, JobState::kSucceeded);
}

TEST_P(ReapContract, BackstopOffStillReclaimsAWorkerThatWentSilentBeforeTheDeadline) {
  ClaimedJob c = Running("default", minutes(5));
  Advance(minutes(6));  // the lease (30 s) ran out long before the deadline
  auto r = ReapWith(AllBut(&ReapRules::runtime_backstop));
  ASSERT_OK(r);
  EXPECT_EQ(r->expired, 1);
  EXPECT_EQ(r->deferred, 0);
  std::vector<Event> tape = Tape(c.job.id);
  EXPECT_NE(tape.back().data.find("lease_expired"), std::string::npos) << tape.back().data;
}

TEST_P(ReapContract, CancelGraceOffLeavesARenewingAttemptRunning) {
  ClaimedJob c = Running("default");
  ASSERT_OK(Cancel(c.job.id, seconds(10)));
  Advance(seconds(5));
  auto hb = Heartbeat(c.lease);
  ASSERT_OK(hb);
  EXPECT_TRUE(hb->cancel_requested);
  Advance(seconds(6));  // the grace is over; the lease was capped at it
  auto off = ReapWith(AllBut(&ReapRules::cancel_grace));
  ASSERT_OK(off);
  EXPECT_EQ(off->reaped(), 0);
  EXPECT_EQ(off->deferred, 1);
  EXPECT_EQ(Get(c.job.id).state, JobState::kRunning);
  auto on = ReapWith({});
  ASSERT_OK(on);
  EXPECT_EQ(on->cancelled, 1);
  ExpectTerminalWithFinal(c.job.id, JobState::kCancelled);
}

TEST_P(ReapContract, CancelGraceOffStillReclaimsASilentWorkerAsExpired) {
  ClaimedJob c = Running("default");
  ASSERT_OK(Cancel(c.job.id, minutes(5)));
  Advance(minutes(6));  // the lease ran out on its own, then the grace
  auto r = ReapWith(AllBut(&ReapRules::cancel_grace));
  ASSERT_OK(r);
  EXPECT_EQ(r->expired, 1);
  EXPECT_EQ(r->deferred, 0);
  ExpectTerminalWithFinal(c.job.id, JobState::kCancelled);  // the cancel still wins
}

TEST_P(ReapContract, AllRulesOffDefersEverythingAndWritesNothing) {
  Running("a");
  Running("b", seconds(20));
  ClaimedJob cancelled = Running("c");
  ASSERT_OK(Cancel(cancelled.job.id, seconds(5)));
  Advance(minutes(1));
  const std::string before = DescribeAll();
  auto r = ReapWith({.expired_leases = false, .runtime_backstop = false, .cancel_grace = false});
  ASSERT_OK(r);
  EXPECT_EQ(r->reaped(), 0);
  EXPECT_EQ(r->deferred, 3);
  EXPECT_EQ(r->queues.size(), 3u);
  for (const char* q : {"a", "b", "c"})
    EXPECT_EQ(r->queues[q], (ReapCounts{.deferred = 1})) << q;
  EXPECT_EQ(DescribeAll(), before);
}

TEST_P(ReapContract, DeferredAttemptsNeitherFillTheBatchNorBlockOthers) {
  // Three attempts past their timeout expire first, then two plain leases.
  for (int i = 0; i < 3; ++i)
    Running("default", seconds(10));
  Advance(seconds(5));
  ClaimedJob x = Running("default");
  ClaimedJob y = Running("default");
  Advance(minutes(1));
  auto r = ReapWith(AllBut(&ReapRules::runtime_backstop), /*limit=*/2);
  ASSERT_OK(r);
  EXPECT_EQ(r->expired, 2);
  EXPECT_EQ(r->deferred, 3);
  EXPECT_EQ(std::set<JobId>(r->job_ids.begin(), r->job_ids.end()),
            (std::set<JobId>{x.job.id, y.job.id}));
}

// The incident (R5): a worker finished its work, then spent 10 minutes
// finalizing (a result upload) while heartbeating every 10 s on a 30 s lease.
// A reaper judging by age reaped it and the job ran twice.
TEST_P(ReapContract, HeartbeatingFinalizerIsNeverReapedNorRerun) {
  ClaimedJob c = Running("default");
  ASSERT_OK(AppendProgress(c.lease, 100));  // the work is done; finalizing begins
  for (int i = 0; i < 60; ++i) {
    Advance(seconds(10));
    ASSERT_OK(Heartbeat(c.lease)) << "at " << (i + 1) * 10 << " s";
    auto r = ReapWith({});
    ASSERT_OK(r);
    ASSERT_EQ(r->reaped() + r->deferred + r->raced, 0) << "at " << (i + 1) * 10 << " s";
    ASSERT_TRUE(Claim().empty()) << "re-run while finalizing";
  }
  ASSERT_OK(Finish(c.lease, Outcome::Succeeded("{}")));
  ExpectTerminalWithFinal(c.job.id, JobState::kSucceeded);
  std::vector<Event> tape = Tape(c.job.id);
  EXPECT_EQ(CountOf(TapeTypes(c.job.id), ET::kStarted), 1u);
  EXPECT_EQ(CountOf(TapeTypes(c.job.id), ET::kAttemptFailed), 0u);
  EXPECT_EQ(Get(c.job.id).attempt, 1);
}

TEST_P(ReapContract, FinalizerThatGoesSilentIsReapedWhenItsLeaseExpires) {
  ClaimedJob c = Running("default");
  TimePoint expiry;
  for (int i = 0; i < 30; ++i) {  // five minutes of finalizing, then silence
    Advance(seconds(10));
    auto hb = Heartbeat(c.lease);
    ASSERT_OK(hb);
    expiry = hb->expires_at;
  }
  now_ = expiry - kTick;
  auto early = ReapWith({});
  ASSERT_OK(early);
  EXPECT_EQ(early->reaped(), 0);
  now_ = expiry;
  auto late = ReapWith({});
  ASSERT_OK(late);
  EXPECT_EQ(late->expired, 1);
  EXPECT_EQ(CountFor(Tape(c.job.id), ET::kAttemptFailed, 1), 1u);
  EXPECT_CODE(Heartbeat(c.lease), ErrorCode::kStaleLease);
}

TEST_P(ReapContract, MaxRuntimeReclaimsTheFinalizerWhetherItHeartbeatsOrNot) {
  ClaimedJob live = Running("default", minutes(5));
  ClaimedJob silent = Running("default", minutes(5));
  // The silent one's expired-lease rule is off, so only the backstop can end it.
  const ReapRules backstop_only{.expired_leases = false};
  for (int i = 0; i < 29; ++i) {
    Advance(seconds(10));
    ASSERT_OK(Heartbeat(live.lease));
    auto r = ReapWith(backstop_only);
    ASSERT_OK(r);
    ASSERT_EQ(r->reaped(), 0) << "at " << (i + 1) * 10 << " s";
  }
  Advance(seconds(10));  // 300 s: the timeout
  auto r = ReapWith(backstop_only);
  ASSERT_OK(r);
  EXPECT_EQ(r->timed_out, 2);
  EXPECT_EQ(r->deferred, 0);
  for (const ClaimedJob* c : {&live, &silent}) {
    std::vector<Event> tape = Tape(c->job.id);
    EXPECT_EQ(CountFor(tape, ET::kAttemptFailed, 1), 1u);
    EXPECT_NE(tape.back().data.find("timeout"), std::string::npos) << tape.back().data;
    EXPECT_CODE(Heartbeat(c->lease), ErrorCode::kStaleLease);
  }
}

TEST_P(ReapContract, TwoReapersOverAThousandExpiredJobsAdvanceEachOnce) {
  constexpr int kJobs = 1000;
  const int batch = store().limits().max_batch;
  const int claim = store().limits().max_claim;
  std::vector<JobId> ids;
  for (int n = 0; n < kJobs; n += batch) {
    auto more = EnqueueBatch(std::vector<JobSpec>(std::min(batch, kJobs - n), Spec()));
    ids.insert(ids.end(), more.begin(), more.end());
  }
  ASSERT_EQ(ids.size(), static_cast<std::size_t>(kJobs));
  for (int n = 0; n < kJobs; n += claim)
    ASSERT_EQ(Claim({"default"}, std::min(claim, kJobs - n)).size(),
              static_cast<std::size_t>(std::min(claim, kJobs - n)));
  Advance(kLeaseTtl);

  std::atomic<int> ready{0};
  ReapCounts totals[2];
  std::vector<JobId> reaped[2];
  bool ok[2] = {true, true};
  std::vector<std::thread> reapers;
  for (int t = 0; t < 2; ++t) {
    reapers.emplace_back([&, t] {
      ++ready;
      while (ready.load() < 2) {
      }
      while (true) {  // as Reaper::RunOnce: small batches until one comes back short
        auto r = store().LeasesReapExpired({.now = now_, .limit = 50});
        if (!r.ok()) {
          ok[t] = false;
          return;
        }
        totals[t] += *r;
        reaped[t].insert(reaped[t].end(), r->job_ids.begin(), r->job_ids.end());
        if (r->reaped() + r->raced < 50) return;
      }
    });
  }
  for (auto& th : reapers)
    th.join();
  ASSERT_TRUE(ok[0] && ok[1]);
  EXPECT_EQ(totals[0].expired + totals[1].expired, kJobs);
  EXPECT_EQ(totals[0].deferred + totals[1].deferred, 0);
  std::multiset<JobId> all(reaped[0].begin(), reaped[0].end());
  all.insert(reaped[1].begin(), reaped[1].end());
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kJobs));
  EXPECT_EQ(std::set<JobId>(all.begin(), all.end()).size(), all.size()) << "reaped twice";
  for (JobId id : ids) {
    std::vector<Event> tape = Tape(id);
    ASSERT_EQ(CountFor(tape, ET::kAttemptFailed, 1) + CountFor(tape, ET::kFinal, 1), 1u)
        << "job " << id;
    EXPECT_EQ(Get(id).attempt, 1);
  }
  ExpectAllTapesSound();
}

INSTANTIATE_TEST_SUITE_P(Stores, ReapContract, ::testing::ValuesIn(StoreFactories()), FactoryName);

}  // namespace
}  // namespace jobtape::store::testing
