// Dispatcher behaviour against the FakeStore test double, with a ManualClock:
// wake-ups (never polling), deadlines, due times, herd control, the lost
// wake-up race, stop. dispatcher_sqlite_test.cpp repeats the essentials on
// the real SQLite store.
#include "engine/dispatcher.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "dispatcher_fixture.hpp"
#include "test_util.hpp"

namespace jobtape::engine {
namespace {

using std::chrono::seconds;
using testing::ClaimCollector;
using testing::ClaimedOnly;
using testing::FakeStore;
using testing::kSafety;
using testing::MakeCollector;

using DispatcherTest = testing::DispatcherFixture;

TEST_F(DispatcherTest, ClaimsQueuedJobAtOnce) {
  JobId id = store_->CreateJobNow("q", Now());
  auto r = dispatcher_->Claim(Req(), Duration{0});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->jobs.size(), 1u);
  EXPECT_EQ(r->jobs[0].job.id, id);
  EXPECT_EQ(dispatcher_->counters().claims, 1u);
}

// No timer thread runs here and the clock never moves: only the work signal
// can complete the claim.
TEST_F(DispatcherTest, ParkedWaiterIsWokenByEnqueueWithoutAnyTimer) {
  auto out = MakeCollector();
  dispatcher_->ClaimAsync(Req(), Now() + seconds(60), out->Callback());
  ASSERT_TRUE(WaitFor([](const auto& c) { return c.parked == 1; }));

  store::EnqueueParams p;
  p.now = Now();
  p.jobs.push_back(JobSpec{.kind = "k", .queue = "q"});
  auto enq = store_->JobsEnqueue(p);
  ASSERT_TRUE(enq.ok());

  auto r = out->Wait();
  ASSERT_TRUE(r && r->ok());
  ASSERT_EQ((*r)->jobs.size(), 1u);
  EXPECT_EQ((*r)->jobs[0].job.id, enq->jobs[0].id);
  auto c = dispatcher_->counters();
  EXPECT_EQ(c.wakeups, 1u);
  EXPECT_EQ(c.claims, 2u);
  EXPECT_EQ(c.parked, 0);
}

TEST_F(DispatcherTest, DeadlineCompletesWithEmptyResult) {
  dispatcher_->Start();
  auto out = MakeCollector();
  dispatcher_->ClaimAsync(Req(), Now() + seconds(5), out->Callback());
  ASSERT_TRUE(WaitFor([](const auto& c) { return c.parked == 1; }));

  clock_.Advance(seconds(4));
  EXPECT_EQ(dispatcher_->RunOnce(Now()).timed_out, 0);
  EXPECT_FALSE(out->done()) << "completed before its deadline";

  clock_.Advance(seconds(1));  // the timer thread completes it
  auto r = out->Wait();
  ASSERT_TRUE(r && r->ok());
  EXPECT_TRUE((*r)->jobs.empty());
  auto c = dispatcher_->counters();
  EXPECT_EQ(c.timeouts, 1u);
  EXPECT_EQ(c.parked, 0);
  EXPECT_EQ(c.claims, 1u) << "waiting must not poll the store";
}

TEST_F(DispatcherTest, PastDeadlineTriesOnceWithoutParking) {
  auto r = dispatcher_->Claim(Req(), Duration{0});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->jobs.empty());
  auto c = dispatcher_->counters();
  EXPECT_EQ(c.parked, 0);
  EXPECT_EQ(c.timeouts, 1u);
}

// The store is not asked to announce the scheduled job: the waiter learns its
// due time from the claim's next_due alone.
TEST_F(DispatcherTest, WakesWhenScheduledJobFromNextDueBecomesDue) {
  dispatcher_->Start();
  JobId id = store_->CreateJobNow("q", Now(), Now() + seconds(10), /*notify=*/false);
  auto out = MakeCollector();
  dispatcher_->ClaimAsync(Req(), Now() + seconds(60), out->Callback());
  ASSERT_TRUE(WaitFor([](const auto& c) { return c.parked == 1; }));

  clock_.Advance(seconds(10));
  ASSERT_TRUE(ClaimedOnly(out->Wait(), id));
  EXPECT_EQ(dispatcher_->counters().timeouts, 0u);
}

TEST_F(DispatcherTest, WakesWhenScheduledJobAnnouncedByOnWorkBecomesDue) {
  dispatcher_->Start();
  auto out = MakeCollector();
  dispatcher_->ClaimAsync(Req(), Now() + seconds(60), out->Callback());
  ASSERT_TRUE(WaitFor([](const auto& c) { return c.parked == 1; }));
  JobId id = store_->CreateJobNow("q", Now(), Now() + seconds(3));  // OnWork(q, due)
  EXPECT_EQ(dispatcher_->counters().claims, 1u) << "a future due wakes no one yet";

  clock_.Advance(seconds(3));
  ASSERT_TRUE(ClaimedOnly(out->Wait(), id));
}

// The claim sees a job due 10 ms after its `now`, but its commit takes 20 ms
// (a slow fsync): by the time it returns, next_due has passed. The waiter
// must still be woken for it, at once. (It was dropped as "not after now",
// and the job waited for an unrelated wake-up: here, the 60 s deadline.)
TEST_F(DispatcherTest, NextDueThatPassesWhileTheClaimCommitsStillWakes) {
  dispatcher_->Start();
  JobId id =
      store_->CreateJobNow("q", Now(), Now() + std::chrono::milliseconds(10), /*notify=*/false);
  auto out = ClaimHeld();  // ran at the old now: nothing claimable, next_due = now + 10 ms
  clock_.Advance(std::chrono::milliseconds(20));
  store_->ReleaseClaimCompletions();

  // The clock does not move again.
  ASSERT_TRUE(ClaimedOnly(out->Wait(), id))
      << "the job that came due during the claim was never fired";
  EXPECT_EQ(dispatcher_->counters().timeouts, 0u);
}

// A due time fires while a claim stamped at (or after) it is at the store.
// That claim already saw the job (here: found it taken), so it parks instead
// of claiming again for nothing.
TEST_F(DispatcherTest, DueTimeTheClaimHadReachedDoesNotMakeItClaimAgain) {
  const TimePoint due = Now() + seconds(10);
  store_->CreateJobNow("q", Now(), due);  // OnWork(q, due): noted
  clock_.Set(due);
  auto taken = dispatcher_->Claim(Req(), Duration{0});
  ASSERT_TRUE(taken.ok() && taken->jobs.size() == 1u);
  auto out = ClaimHeld(2);  // stamped at `due`, found nothing, completion held
  EXPECT_EQ(dispatcher_->RunOnce(Now()).woken, 0);  // fires `due`; nobody parked
  store_->ReleaseClaimCompletions();
  ASSERT_TRUE(WaitFor([](const auto& c) { return c.parked == 1; }));
  EXPECT_EQ(dispatcher_->counters().reclaims, 0u);
  EXPECT_EQ(dispatcher_->counters().claims, 2u);
}

// The other side: a claim stamped before the due time that fires while it is
// at the store claims again, and gets the job.
TEST_F(DispatcherTest, DueTimeAfterTheClaimsNowMakesItClaimAgain) {
  const TimePoint due = Now() + seconds(10);
  JobId id = store_->CreateJobNow("q", Now(), due);  // OnWork(q, due): noted
  auto out = ClaimHeld();                            // stamped before `due`: nothing claimable
  clock_.Set(due);
  dispatcher_->RunOnce(Now());  // fires `due` while the claim is held
  store_->ReleaseClaimCompletions();
  ASSERT_TRUE(ClaimedOnly(out->Wait(), id));
  EXPECT_EQ(dispatcher_->counters().reclaims, 1u);
}

// The race a naive dispatcher loses: the claim finds nothing, the job commits
// and signals while no one is parked yet, then the claim's completion parks.
TEST_F(DispatcherTest, WorkSignalledWhileClaimRunsIsNotLost) {
  auto out = ClaimHeld();                       // ran, found nothing, completion held
  JobId id = store_->CreateJobNow("q", Now());  // signals; nobody parked
  store_->ReleaseClaimCompletions();

  ASSERT_TRUE(ClaimedOnly(out->Wait(), id));
  EXPECT_EQ(dispatcher_->counters().reclaims, 1u);
}

// A signal that arrives while the claim is at the store survives a cycle that
// forgets unused queues: the claim still refers to its queue.
TEST_F(DispatcherTest, ForgettingQueuesNeverLosesTheSignalOfAClaimInFlight) {
  auto out = ClaimHeld();
  JobId id = store_->CreateJobNow("q", Now());
  dispatcher_->RunOnce(Now());  // sweeps unused queues; "q" is in use
  EXPECT_EQ(dispatcher_->counters().queues, 1);
  store_->ReleaseClaimCompletions();
  ASSERT_TRUE(ClaimedOnly(out->Wait(), id));
}

// Memory does not grow with every queue name ever waited on: once nothing
// refers to a queue (no waiter, no claim, no due time) the next cycle drops it.
TEST_F(DispatcherTest, QueuesNoLongerWaitedOnAreForgotten) {
  std::vector<std::shared_ptr<ClaimCollector>> outs;
  for (int i = 0; i < 200; ++i) {
    outs.push_back(MakeCollector());
    dispatcher_->ClaimAsync(Req({"q" + std::to_string(i)}), Now() + seconds(5),
                            outs.back()->Callback());
  }
  ASSERT_TRUE(WaitFor([](const auto& c) { return c.parked == 200; }));
  dispatcher_->RunOnce(Now());
  EXPECT_EQ(dispatcher_->counters().queues, 200);
  clock_.Advance(seconds(5));
  EXPECT_EQ(dispatcher_->RunOnce(Now()).timed_out, 200);
  for (auto& out : outs)
    ASSERT_TRUE(out->Wait());
  EXPECT_EQ(dispatcher_->counters().queues, 0);
}

// A claim for up to 2 that gets 1 drained the queue: nobody else is woken.
TEST_F(DispatcherTest, OneJobWakesOnlyTheOldestWaiter) {
  std::vector<std::shared_ptr<ClaimCollector>> outs;
  for (int i = 0; i < 5; ++i) {
    outs.push_back(MakeCollector());
    dispatcher_->ClaimAsync(Req({"q"}, 2), Now() + seconds(60), outs.back()->Callback());
    ASSERT_TRUE(WaitFor([&](const auto& c) { return c.parked == i + 1; }));
  }
  store_->CreateJobNow("q", Now());
  auto r = outs[0]->Wait();
  ASSERT_TRUE(r && r->ok());
  EXPECT_EQ((*r)->jobs.size(), 1u);
  ASSERT_TRUE(WaitFor([](const auto& c) { return c.in_flight == 0; }));
  auto c = dispatcher_->counters();
  EXPECT_EQ(c.parked, 4);
  EXPECT_EQ(c.wakeups, 1u);
  EXPECT_EQ(c.claims, 6u) << "no herd: one claim for one job";
  for (int i = 1; i < 5; ++i)
    EXPECT_FALSE(outs[i]->done());
}

// A claim for 1 that gets 1 cannot tell whether more is queued, so it passes
// the baton to kBatonFanout others: bounded, whatever the number of waiters.
TEST_F(DispatcherTest, FullClaimPassesTheBatonToABoundedNumberOfWaiters) {
  std::vector<std::shared_ptr<ClaimCollector>> outs;
  for (int i = 0; i < 10; ++i) {
    outs.push_back(MakeCollector());
    dispatcher_->ClaimAsync(Req(), Now() + seconds(60), outs.back()->Callback());
  }
  ASSERT_TRUE(WaitFor([](const auto& c) { return c.parked == 10; }));
  store_->CreateJobNow("q", Now());
  auto r = outs[0]->Wait();
  ASSERT_TRUE(r && r->ok());
  ASSERT_TRUE(WaitFor([](const auto& c) { return c.in_flight == 0; }));
  auto c = dispatcher_->counters();
  EXPECT_EQ(c.parked, 9);
  EXPECT_EQ(c.wakeups, 1u + kBatonFanout);
  EXPECT_EQ(c.claims, 10u + 1u + kBatonFanout);
}

TEST_F(DispatcherTest, BurstAnnouncedOnceReachesEveryWaiter) {
  constexpr int kWaiters = 8;
  std::vector<std::shared_ptr<ClaimCollector>> outs;
  for (int i = 0; i < kWaiters; ++i) {
    outs.push_back(MakeCollector());
    dispatcher_->ClaimAsync(Req(), Now() + seconds(60), outs.back()->Callback());
  }
  ASSERT_TRUE(WaitFor([](const auto& c) { return c.parked == kWaiters; }));

  store::EnqueueParams p;  // one request: one OnWork for all of it
  p.now = Now();
  for (int i = 0; i < kWaiters; ++i)
    p.jobs.push_back(JobSpec{.kind = "k", .queue = "q"});
  ASSERT_TRUE(store_->JobsEnqueue(p).ok());

  std::set<JobId> ids;
  for (auto& out : outs) {
    auto r = out->Wait();
    ASSERT_TRUE(r && r->ok());
    ASSERT_EQ((*r)->jobs.size(), 1u);
    ids.insert((*r)->jobs[0].job.id);
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kWaiters));
  EXPECT_EQ(dispatcher_->counters().wakeups, static_cast<uint64_t>(kWaiters));
}

TEST_F(DispatcherTest, WaiterOnSeveralQueuesWakesForAnyOfThem) {
  auto out = MakeCollector();
  dispatcher_->ClaimAsync(Req({"a", "b"}), Now() + seconds(60), out->Callback());
  ASSERT_TRUE(WaitFor([](const auto& c) { return c.parked == 1; }));
  store_->CreateJobNow("other", Now());
  JobId id = store_->CreateJobNow("b", Now());
  ASSERT_TRUE(ClaimedOnly(out->Wait(), id));
  EXPECT_EQ(dispatcher_->counters().wakeups, 1u);
}

TEST_F(DispatcherTest, BlockingClaimWaitsForWorkWithoutTimeLimit) {
  dispatcher_->Start();
  std::optional<Result<store::ClaimResult>> got;
  std::thread worker([&] { got.emplace(dispatcher_->Claim(Req(), Duration::max())); });
  ASSERT_TRUE(WaitFor([](const auto& c) { return c.parked == 1; }));
  JobId id = store_->CreateJobNow("q", Now());
  worker.join();
  ASSERT_TRUE(ClaimedOnly(got, id));
}

TEST_F(DispatcherTest, EmptyQueueListIsInvalid) {
  auto r = dispatcher_->Claim(Req({}), seconds(1));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.status().field(), "queues");
}

TEST_F(DispatcherTest, StoreErrorIsReportedAndShownInSnapshot) {
  store_->FailClaims(Status::Unavailable("disk on fire"));
  auto r = dispatcher_->Claim(Req(), seconds(60));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable);

  dispatcher_->RunOnce(Now());
  auto snap = dispatcher_->snapshot();
  EXPECT_EQ(snap->status, kLoopError);
  EXPECT_NE(snap->last_error.find("disk on fire"), std::string::npos);
  dispatcher_->RunOnce(Now());
  EXPECT_EQ(dispatcher_->snapshot()->status, kLoopOk) << "a quiet cycle is healthy again";
}

TEST_F(DispatcherTest, RunOncePublishesOneSnapshotPerCycle) {
  SnapshotRegistry registry;
  Dispatcher d(*store_, clock_, {.name = "dispatcher", .registry = &registry});
  EXPECT_EQ(registry.Get("dispatcher")->status, kLoopStarting);
  d.RunOnce(Now());
  d.RunOnce(Now() + seconds(1));
  auto snap = registry.Get("dispatcher");
  EXPECT_EQ(snap->cycle, 2u);
  EXPECT_EQ(snap->status, kLoopOk);
  EXPECT_EQ(snap->last_updated, Now() + seconds(1));
  EXPECT_EQ(snap->counts.at("parked"), 0);
  EXPECT_FALSE(IsStalled(*snap, Now() + seconds(2)));
  d.Stop();
  EXPECT_EQ(registry.Get("dispatcher")->status, kLoopStopped);
}

TEST_F(DispatcherTest, StopCompletesParkedWaitersAndRefusesNewOnes) {
  dispatcher_->Start();
  auto a = MakeCollector();
  auto b = MakeCollector();
  dispatcher_->ClaimAsync(Req(), Now() + seconds(60), a->Callback());
  dispatcher_->ClaimAsync(Req({"x"}), Now() + seconds(60), b->Callback());
  ASSERT_TRUE(WaitFor([](const auto& c) { return c.parked == 2; }));
  dispatcher_->Stop();
  for (auto& out : {a, b}) {
    auto r = out->Wait();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status().code(), ErrorCode::kUnavailable);
    EXPECT_EQ(out->calls(), 1);
  }
  auto late = dispatcher_->Claim(Req(), seconds(1));
  EXPECT_EQ(late.status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(dispatcher_->snapshot()->status, kLoopStopped);
}

// A job leased by a claim already at the store must still reach its claimer.
TEST_F(DispatcherTest, StopDeliversJobsOfClaimsAlreadyAtTheStore) {
  JobId id = store_->CreateJobNow("q", Now());
  auto out = ClaimHeld();
  std::thread stopper([&] { dispatcher_->Stop(); });
  ASSERT_TRUE(WaitFor([](const auto& c) { return c.stopping; }));
  store_->ReleaseClaimCompletions();
  stopper.join();
  ASSERT_TRUE(ClaimedOnly(out->Wait(), id));
}

// Many producers and claimers on real time: every job is claimed exactly once
// and nobody is left waiting while work is queued (a lost wake-up would leave
// jobs unclaimed until the 60 s deadlines, far beyond the safety wait).
TEST_F(DispatcherTest, ConcurrentProducersAndClaimersClaimEveryJobOnce) {
  auto store = std::make_unique<FakeStore>();
  Dispatcher dispatcher(*store, SystemClock::Instance(), {.name = "stress"});
  store->AddObserver(&dispatcher);
  dispatcher.Start();
  constexpr int kProducers = 2, kJobsEach = 400, kClaimers = 4;
  std::mutex mu;
  std::condition_variable cv;
  std::multiset<JobId> claimed;  // GUARDED_BY(mu)

  std::vector<std::thread> claimers;
  for (int i = 0; i < kClaimers; ++i) {
    claimers.emplace_back([&, i] {
      while (true) {
        auto r = dispatcher.Claim(Req({"q"}, 1 + i % 3), seconds(60));
        if (!r.ok()) return;  // stopped
        std::lock_guard<std::mutex> lock(mu);
        for (const auto& j : r->jobs)
          claimed.insert(j.job.id);
        cv.notify_all();
      }
    });
  }
  std::vector<std::thread> producers;
  for (int i = 0; i < kProducers; ++i) {
    producers.emplace_back([&, i] {
      for (int n = 0; n < kJobsEach;) {
        store::EnqueueParams p;
        p.now = SystemClock::Instance().Now();
        for (int k = 0; k < 1 + (n + i) % 4 && n < kJobsEach; ++k, ++n) {
          p.jobs.push_back(JobSpec{.kind = "k", .queue = "q"});
        }
        ASSERT_TRUE(store->JobsEnqueue(p).ok());
      }
    });
  }
  for (auto& t : producers)
    t.join();
  {
    std::unique_lock<std::mutex> lock(mu);
    EXPECT_TRUE(
        cv.wait_for(lock, kSafety,
                    [&] { return claimed.size() == static_cast<size_t>(kProducers * kJobsEach); }))
        << "claimed " << claimed.size();
    std::set<JobId> unique(claimed.begin(), claimed.end());
    EXPECT_EQ(unique.size(), claimed.size()) << "a job was claimed twice";
  }
  dispatcher.Stop();
  for (auto& t : claimers)
    t.join();
  store.reset();  // before the dispatcher: the store points at its observers
}

}  // namespace
}  // namespace jobtape::engine
