// Contract, R4 (limits are enforced where work is claimed): a paused queue
// yields nothing; a queue's max_concurrent and a concurrency_key's limit hold
// for single claims, claims of many, batch-enqueued jobs, and under
// contention from many threads claiming and finishing at once. Also the
// claim order: queues in the order given, higher priority first.
#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "contract_fixture.hpp"

namespace jobtape::store::testing {
namespace {

QueueUpdateParams Update(std::string name) {
  QueueUpdateParams p;
  p.now = kStart;
  p.name = std::move(name);
  return p;
}

JobSpec Keyed(std::string key, int limit = 1) {
  JobSpec spec = StoreContract::Spec();
  spec.concurrency_key = std::move(key);
  spec.concurrency_limit = limit;
  return spec;
}

std::map<std::string, int> KeysOf(const std::vector<ClaimedJob>& jobs) {
  std::map<std::string, int> keys;
  for (const auto& j : jobs)
    ++keys[j.job.spec.concurrency_key];
  return keys;
}

TEST_P(StoreContract, PausedQueueYieldsNothing) {
  JobId id = Enqueue();
  QueueUpdateParams pause = Update("default");
  pause.paused = true;
  auto paused = store().QueueUpdate(pause);
  ASSERT_OK(paused);
  EXPECT_TRUE(paused->paused);
  EXPECT_TRUE(Claim({"default"}, 10).empty());
  Enqueue();  // enqueue into a paused queue is accepted, still not claimable
  EXPECT_TRUE(Claim({"default"}, 10).empty());
  EXPECT_EQ(Get(id).state, JobState::kQueued);

  QueueUpdateParams resume = Update("default");
  resume.paused = false;
  ASSERT_OK(store().QueueUpdate(resume));
  EXPECT_EQ(Claim({"default"}, 10).size(), 2u);
}

TEST_P(StoreContract, PausingOneQueueLeavesOthersClaimable) {
  Enqueue(Spec("a"));
  JobId b = Enqueue(Spec("b"));
  QueueUpdateParams pause = Update("a");
  pause.paused = true;
  ASSERT_OK(store().QueueUpdate(pause));
  auto got = Claim({"a", "b"}, 10);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].job.id, b);
}

TEST_P(StoreContract, MaxConcurrentCapsClaims) {
  EnqueueBatch(std::vector<JobSpec>(5, Spec()));
  QueueUpdateParams cap = Update("default");
  cap.max_concurrent = std::optional<int>(2);
  auto info = store().QueueUpdate(cap);
  ASSERT_OK(info);
  EXPECT_EQ(info->max_concurrent, std::optional<int>(2));

  std::vector<ClaimedJob> first = Claim({"default"}, 10);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_TRUE(Claim({"default"}, 10).empty());

  ASSERT_OK(Finish(first[0].lease, Outcome::Succeeded()));
  EXPECT_EQ(Claim({"default"}, 10).size(), 1u);  // one slot freed
  EXPECT_TRUE(Claim({"default"}, 10).empty());

  QueueUpdateParams uncap = Update("default");
  uncap.max_concurrent = std::optional<int>();  // unlimited
  ASSERT_OK(store().QueueUpdate(uncap));
  EXPECT_EQ(Claim({"default"}, 10).size(), 2u);  // the remaining two
}

TEST_P(StoreContract, ConcurrencyKeyAllowsOneRunningByDefault) {
  Enqueue(Keyed("acct-1"));
  Enqueue(Keyed("acct-1"));
  Enqueue(Keyed("acct-1"));
  Enqueue(Keyed("acct-2"));
  Enqueue(Spec());  // no key

  std::vector<ClaimedJob> got = Claim({"default"}, 10);  // one claim asking for many
  EXPECT_EQ(got.size(), 3u);
  EXPECT_EQ(KeysOf(got), (std::map<std::string, int>{{"", 1}, {"acct-1", 1}, {"acct-2", 1}}));
  EXPECT_TRUE(Claim({"default"}, 10).empty());

  for (const auto& j : got) {
    if (j.job.spec.concurrency_key == "acct-1") {
      ASSERT_OK(Finish(j.lease, Outcome::Succeeded()));
    }
  }
  std::vector<ClaimedJob> next = Claim({"default"}, 10);
  EXPECT_EQ(KeysOf(next), (std::map<std::string, int>{{"acct-1", 1}}));
}

TEST_P(StoreContract, ConcurrencyKeyFreedByFailureAndExpiry) {
  Enqueue(Keyed("k"));
  Enqueue(Keyed("k"));
  ClaimedJob first = ClaimOne();
  EXPECT_TRUE(Claim({"default"}, 10).empty());
  ASSERT_OK(Finish(first.lease, Outcome::Failed("boom", "retry me")));
  ClaimedJob second = ClaimOne();  // the other job (the failed one waits for its backoff)
  EXPECT_NE(second.job.id, first.job.id);

  // The lease ran out and the first job's backoff is over; whatever a claim
  // does now, the store never holds two running jobs with the key.
  Advance(kLeaseTtl + std::chrono::seconds(1));
  Claim({"default"}, 10);
  EXPECT_LE(RunningWithKey("k"), 1u);
  ASSERT_OK(Reap());
  Advance(std::chrono::minutes(5));
  Claim({"default"}, 10);
  EXPECT_EQ(RunningWithKey("k"), 1u);
  ExpectAllTapesSound();
}

TEST_P(StoreContract, ConcurrencyLimitIsHonoured) {
  for (int i = 0; i < 5; ++i)
    Enqueue(Keyed("pool", 2));
  std::vector<ClaimedJob> got = Claim({"default"}, 10);
  EXPECT_EQ(got.size(), 2u);
  EXPECT_TRUE(Claim({"default"}, 10).empty());
  ASSERT_OK(Finish(got[0].lease, Outcome::Succeeded()));
  EXPECT_EQ(Claim({"default"}, 10).size(), 1u);
}

TEST_P(StoreContract, ConcurrencyKeyHoldsForOneBatch) {
  std::vector<JobSpec> batch(6, Keyed("same"));
  batch.push_back(Keyed("pair", 2));
  batch.push_back(Keyed("pair", 2));
  batch.push_back(Keyed("pair", 2));
  ASSERT_EQ(EnqueueBatch(batch).size(), batch.size());
  std::vector<ClaimedJob> got = Claim({"default"}, 50);
  EXPECT_EQ(KeysOf(got), (std::map<std::string, int>{{"pair", 2}, {"same", 1}}));
}

// A long run of jobs blocked by their key must not hide a claimable job
// behind them: a claim that returns nothing tells the worker to wait.
TEST_P(StoreContract, KeyBlockedBacklogDoesNotHideClaimableJobs) {
  constexpr int kBlocked = 400;
  JobSpec blocked = Keyed("hot");
  blocked.priority = 10;  // ahead of the free job in dispatch order
  const std::size_t batch = ContractLimits().max_batch;
  for (int n = 0; n < kBlocked; n += static_cast<int>(batch)) {
    EnqueueBatch(std::vector<JobSpec>(batch, blocked));
  }
  ClaimedJob holder = ClaimOne();  // takes the key
  ASSERT_EQ(holder.job.spec.concurrency_key, "hot");
  JobId free_job = Enqueue(Spec());
  auto got = Claim({"default"}, 1);
  ASSERT_EQ(got.size(), 1u) << "a claimable job exists behind " << kBlocked - 1
                            << " key-blocked jobs";
  EXPECT_EQ(got[0].job.id, free_job);
}

TEST_P(StoreContract, ClaimServesQueuesInOrderGiven) {
  JobId low = Enqueue(Spec("low"));
  JobId high = Enqueue(Spec("high"));
  auto got = Claim({"high", "low"}, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].job.id, high);
  got = Claim({"high", "low"}, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].job.id, low);
}

TEST_P(StoreContract, ClaimTakesHigherPriorityFirst) {
  JobSpec lo = Spec(), mid = Spec(), hi = Spec();
  lo.priority = -5;
  hi.priority = 100;
  JobId lo_id = Enqueue(lo);
  JobId mid_id = Enqueue(mid);
  JobId hi_id = Enqueue(hi);
  std::vector<JobId> order;
  for (int i = 0; i < 3; ++i) {
    auto got = Claim({"default"}, 1);
    ASSERT_EQ(got.size(), 1u);
    order.push_back(got[0].job.id);
  }
  EXPECT_EQ(order, (std::vector<JobId>{hi_id, mid_id, lo_id}));
}

TEST_P(StoreContract, ClaimNeverExceedsMax) {
  EnqueueBatch(std::vector<JobSpec>(10, Spec()));
  EXPECT_EQ(Claim({"default"}, 3).size(), 3u);
  EXPECT_EQ(Claim({"default"}, 1).size(), 1u);
  EXPECT_EQ(Claim({"default"}, 50).size(), 6u);
}

// Many threads claim and finish at once; the test's own counters (raised
// after a claim returns, lowered before the finish is sent, so never above
// the store's true count) must never exceed the queue's or a key's limit.
TEST_P(StoreContract, ContendedClaimsNeverExceedLimits) {
  constexpr int kMaxConcurrent = 3;
  constexpr int kPerGroup = 20;
  constexpr int kThreads = 4;
  QueueUpdateParams cap = Update("default");
  cap.max_concurrent = std::optional<int>(kMaxConcurrent);
  std::vector<JobSpec> specs;
  for (int i = 0; i < kPerGroup; ++i) {
    specs.push_back(Keyed("solo"));
    specs.push_back(Keyed("duo", 2));
    specs.push_back(Spec());
  }
  const int total = static_cast<int>(specs.size());
  for (std::size_t i = 0; i < specs.size(); i += ContractLimits().max_batch) {
    std::size_t end = std::min(specs.size(), i + ContractLimits().max_batch);
    EnqueueBatch({specs.begin() + i, specs.begin() + end});
  }
  ASSERT_OK(store().QueueUpdate(cap));

  std::atomic<int> running{0}, solo{0}, duo{0}, finished{0}, errors{0};
  std::atomic<int> max_running{0}, max_solo{0}, max_duo{0};
  auto raise = [](std::atomic<int>& n, std::atomic<int>& peak) {
    int v = ++n;
    int p = peak.load();
    while (v > p && !peak.compare_exchange_weak(p, v)) {
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ClaimParams p = ClaimAt({"default"}, 1 + t % 3);
      p.worker_id = "worker-" + std::to_string(t);
      while (finished.load() < total && errors.load() == 0) {
        auto r = store().JobsClaim(p);
        if (!r.ok()) {
          ++errors;
          return;
        }
        for (const auto& j : r->jobs) {
          raise(running, max_running);
          if (j.job.spec.concurrency_key == "solo") raise(solo, max_solo);
          if (j.job.spec.concurrency_key == "duo") raise(duo, max_duo);
        }
        // Hold the leases across one more store round trip to widen overlap.
        for (const auto& j : r->jobs) {
          if (!store().LeaseHeartbeat({p.now, j.lease, kLeaseTtl}).ok()) ++errors;
        }
        for (const auto& j : r->jobs) {
          --running;
          if (j.job.spec.concurrency_key == "solo") --solo;
          if (j.job.spec.concurrency_key == "duo") --duo;
          if (!store().JobFinish({p.now, j.lease, Outcome::Succeeded()}).ok()) ++errors;
          ++finished;
        }
      }
    });
  }
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(finished.load(), total);
  EXPECT_LE(max_running.load(), kMaxConcurrent);
  EXPECT_LE(max_solo.load(), 1);
  EXPECT_LE(max_duo.load(), 2);
  ListParams succeeded;
  succeeded.state = JobState::kSucceeded;
  EXPECT_EQ(ListAll(succeeded).size(), static_cast<std::size_t>(total));
}

}  // namespace
}  // namespace jobtape::store::testing
