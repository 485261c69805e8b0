// Contract: batches. Creation is all or nothing and gives every member the
// batch's id; a batch's counts per state follow its members; each member
// counts once, when it reaches a terminal state by any path (finish, a retry
// that runs out, reap, cancel); the on_complete job is enqueued exactly once,
// by the call that ends the last member; a batch's key makes a repeat return
// the first batch; members are ordinary jobs under every limit (R4); invalid
// input writes nothing (R9). Time is virtual.
#include <atomic>
#include <set>
#include <thread>

#include "contract_fixture.hpp"
#include "store/batch_rules.hpp"

namespace jobtape::store::testing {
namespace {

class Batches : public StoreContract {
 protected:
  BatchCreateParams Params(int members, std::string queue = "default") {
    BatchCreateParams p;
    p.now = now_;
    for (int i = 0; i < members; ++i) {
      JobSpec s = Spec(queue);
      s.payload = "{\"i\":" + std::to_string(i) + "}";
      p.jobs.push_back(std::move(s));
    }
    return p;
  }
  static JobSpec Callback() {
    JobSpec s = Spec("after");
    s.kind = "batch.done";
    s.payload = R"({"notify": "ops"})";
    s.tags = {"report"};
    return s;
  }
  BatchCreateResult Create(BatchCreateParams p) {
    p.now = now_;
    auto r = store().BatchCreate(std::move(p));
    if (!r.ok()) {
      ADD_FAILURE() << "BatchCreate: " << r.status().ToString();
      return {};
    }
    return std::move(*r);
  }
  BatchInfo GetBatch(BatchId id) {
    auto r = store().BatchGet(id);
    if (!r.ok()) {
      ADD_FAILURE() << "BatchGet: " << r.status().ToString();
      return {};
    }
    return std::move(*r);
  }
  static int64_t Count(const BatchInfo& b, JobState s) { return b.counts[static_cast<int>(s)]; }
  std::vector<Job> Callbacks() {
    ListParams p;
    p.queue = "after";
    return ListAll(p);
  }
  // Claims and ends one job of "default" with `outcome`.
  void RunOne(Outcome outcome) {
    ClaimedJob c = ClaimOne();
    ASSERT_OK(Finish(c.lease, std::move(outcome)));
  }
};

TEST_P(Batches, CreateGivesEveryMemberTheBatchIdInRequestOrder) {
  BatchCreateResult r = Create(Params(5));
  ASSERT_EQ(r.job_ids.size(), 5u);
  EXPECT_FALSE(r.duplicate);
  EXPECT_EQ(r.batch.total, 5);
  EXPECT_EQ(Count(r.batch, JobState::kQueued), 5);
  for (std::size_t i = 0; i < r.job_ids.size(); ++i) {
    Job j = Get(r.job_ids[i]);
    EXPECT_EQ(j.spec.batch_id, BatchIdText(r.batch.id));
    EXPECT_EQ(j.spec.payload, "{\"i\":" + std::to_string(i) + "}");
    EXPECT_EQ(TapeTypes(j.id), std::vector<EventType>{EventType::kCreated});
  }
  BatchInfo b = GetBatch(r.batch.id);
  EXPECT_EQ(b.total, 5);
  EXPECT_EQ(Count(b, JobState::kQueued), 5);
  EXPECT_EQ(b.done(), 0);
  EXPECT_EQ(b.created_at, now_);
  EXPECT_FALSE(b.finished_at);
  EXPECT_FALSE(b.on_complete);
}

TEST_P(Batches, ListingByBatchGivesItsMembersNewestFirst) {
  BatchCreateResult first = Create(Params(3));
  ASSERT_TRUE(store().JobsEnqueue({now_, {Spec()}}).ok());  // no batch's
  BatchCreateResult second = Create(Params(2));
  ListParams p;
  p.batch = first.batch.id;
  p.limit = 2;
  auto page = store().JobsList(p);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->jobs.size(), 2u);
  EXPECT_EQ(page->jobs[0].id, first.job_ids[2]);
  EXPECT_EQ(page->jobs[1].id, first.job_ids[1]);
  ASSERT_TRUE(page->next_cursor);
  p.cursor = page->next_cursor;
  page = store().JobsList(p);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->jobs.size(), 1u);
  EXPECT_EQ(page->jobs[0].id, first.job_ids[0]);
  EXPECT_FALSE(page->next_cursor);
  ListParams other;
  other.batch = second.batch.id;
  other.state = JobState::kQueued;
  EXPECT_EQ(ListAll(other).size(), 2u);
  other.batch = second.batch.id + 100;
  EXPECT_TRUE(ListAll(other).empty());
  other.batch = 0;
  auto bad = store().JobsList(other);
  EXPECT_EQ(bad.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.status().field(), "batch");
}

TEST_P(Batches, CountsFollowTheMembersThroughEveryState) {
  BatchCreateParams p = Params(4);
  p.jobs[3].run_at = now_ + std::chrono::minutes(5);
  BatchCreateResult r = Create(std::move(p));
  ClaimedJob running = ClaimOne();
  BatchInfo b = GetBatch(r.batch.id);
  EXPECT_EQ(Count(b, JobState::kScheduled), 1);
  EXPECT_EQ(Count(b, JobState::kQueued), 2);
  EXPECT_EQ(Count(b, JobState::kRunning), 1);
  ASSERT_OK(Finish(running.lease, Outcome::Succeeded()));
  b = GetBatch(r.batch.id);
  EXPECT_EQ(Count(b, JobState::kSucceeded), 1);
  EXPECT_EQ(Count(b, JobState::kRunning), 0);
  EXPECT_EQ(b.done(), 1);
}

TEST_P(Batches, OnCompleteIsEnqueuedOnceByTheLastMembersFinal) {
  BatchCreateParams p = Params(3);
  p.jobs[1].max_attempts = 1;
  p.on_complete = Callback();
  BatchCreateResult r = Create(std::move(p));
  const BatchId id = r.batch.id;

  RunOne(Outcome::Succeeded());
  RunOne(Outcome::Failed("boom", "no", /*retryable=*/true));  // max_attempts 1: terminal
  EXPECT_TRUE(Callbacks().empty()) << "on_complete before the last member ended";
  EXPECT_FALSE(GetBatch(id).on_complete_job_id);

  Advance(std::chrono::seconds(1));
  ASSERT_OK(Cancel(r.job_ids[2]));  // the last member ends by a cancel while queued
  std::vector<Job> after = Callbacks();
  ASSERT_EQ(after.size(), 1u);
  const Job& cb = after[0];
  EXPECT_EQ(cb.state, JobState::kQueued);
  EXPECT_EQ(cb.spec.kind, "batch.done");
  EXPECT_EQ(cb.spec.payload, R"({"notify": "ops"})");
  EXPECT_EQ(cb.spec.tags, (std::vector<std::string>{"report", "batch:" + BatchIdText(id)}));
  EXPECT_EQ(cb.spec.idempotency_key, "batch:" + BatchIdText(id) + ":on_complete");
  EXPECT_TRUE(cb.spec.batch_id.empty()) << "on_complete is not a member";
  EXPECT_EQ(cb.created_at, now_);

  BatchInfo b = GetBatch(id);
  EXPECT_EQ(b.on_complete_job_id, cb.id);
  EXPECT_EQ(b.finished_at, now_);
  EXPECT_EQ(Count(b, JobState::kSucceeded), 1);
  EXPECT_EQ(Count(b, JobState::kFailed), 1);
  EXPECT_EQ(Count(b, JobState::kCancelled), 1);
  EXPECT_EQ(b.done(), 3);
  ASSERT_TRUE(b.on_complete);
  EXPECT_EQ(b.on_complete->kind, "batch.done");

  // Nothing that happens later enqueues it again.
  ASSERT_OK(Cancel(r.job_ids[2]));
  auto retried = store().JobRetry({now_, r.job_ids[1]});
  ASSERT_OK(retried);
  RunOne(Outcome::Failed("boom", "again", false));
  EXPECT_EQ(Callbacks().size(), 1u);
  EXPECT_EQ(GetBatch(id).done(), 3);
  ExpectAllTapesSound();
}

TEST_P(Batches, AMemberCountsOnlyWhenItsLastAttemptEnds) {
  BatchCreateParams p = Params(1);
  p.on_complete = Callback();
  BatchCreateResult r = Create(std::move(p));
  RunOne(Outcome::Failed("flaky", "try again"));  // attempt 1 of 3: retried
  EXPECT_EQ(GetBatch(r.batch.id).done(), 0);
  EXPECT_TRUE(Callbacks().empty());
  Advance(std::chrono::seconds(5));
  RunOne(Outcome::Succeeded());
  EXPECT_EQ(GetBatch(r.batch.id).done(), 1);
  EXPECT_EQ(Callbacks().size(), 1u);
}

TEST_P(Batches, AReapedLastMemberEnqueuesOnComplete) {
  BatchCreateParams p = Params(1);
  p.jobs[0].max_attempts = 1;
  p.on_complete = Callback();
  BatchCreateResult r = Create(std::move(p));
  ClaimedJob c = ClaimOne();
  Advance(kLeaseTtl);
  auto reaped = Reap();
  ASSERT_OK(reaped);
  EXPECT_EQ(reaped->expired, 1);
  EXPECT_EQ(Get(c.job.id).state, JobState::kFailed);
  EXPECT_EQ(Callbacks().size(), 1u);
  EXPECT_EQ(Count(GetBatch(r.batch.id), JobState::kFailed), 1);
}

TEST_P(Batches, CancelEndsWaitingMembersAndAsksRunningOnesToStop) {
  BatchCreateParams p = Params(3);
  p.on_complete = Callback();
  BatchCreateResult r = Create(std::move(p));
  ClaimedJob running = ClaimOne();
  auto c = store().BatchCancel({.now = now_, .id = r.batch.id, .grace = kGrace});
  ASSERT_OK(c);
  EXPECT_EQ(c->cancelled, 2);
  EXPECT_EQ(c->cancel_requested, 1);
  EXPECT_TRUE(Callbacks().empty()) << "a member is still running";
  auto hb = Heartbeat(running.lease);
  ASSERT_OK(hb);
  EXPECT_TRUE(hb->cancel_requested);
  ASSERT_OK(Finish(running.lease, Outcome::Cancelled()));
  EXPECT_EQ(Count(GetBatch(r.batch.id), JobState::kCancelled), 3);
  EXPECT_EQ(Callbacks().size(), 1u);
  // Again: nothing left to cancel.
  auto again = store().BatchCancel({.now = now_, .id = r.batch.id});
  ASSERT_OK(again);
  EXPECT_EQ(again->cancelled + again->cancel_requested, 0);
  for (JobId id : r.job_ids)
    ExpectTerminalWithFinal(id, JobState::kCancelled);
}

TEST_P(Batches, TheBatchKeyReturnsTheFirstBatch) {
  BatchCreateParams p = Params(3);
  p.idempotency_key = "import-2023-11-14";
  BatchCreateResult first = Create(p);
  Advance(std::chrono::seconds(1));
  BatchCreateResult again = Create(p);
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.batch.id, first.batch.id);
  EXPECT_EQ(again.job_ids, first.job_ids);
  EXPECT_EQ(again.batch.created_at, first.batch.created_at);
  EXPECT_EQ(JobCount(), 3u);
  p.idempotency_key = "another";
  EXPECT_NE(Create(p).batch.id, first.batch.id);
  EXPECT_EQ(JobCount(), 6u);
}

TEST_P(Batches, MembersAreClaimedUnderEveryLimit) {
  QueueUpdateParams q;
  q.now = now_;
  q.name = "default";
  q.max_concurrent = 2;
  ASSERT_OK(store().QueueUpdate(q));
  BatchCreateParams p = Params(20);
  for (int i = 0; i < 10; ++i)
    p.jobs[i].concurrency_key = "tenant-a";
  Create(std::move(p));
  std::vector<ClaimedJob> got = Claim({"default"}, 20);
  EXPECT_EQ(got.size(), 2u) << "max_concurrent 2";
  EXPECT_LE(RunningWithKey("tenant-a"), 1u);
  for (ClaimedJob& c : got)
    ASSERT_OK(Finish(c.lease, Outcome::Succeeded()));
  q.max_concurrent = std::optional<int>();
  ASSERT_OK(store().QueueUpdate(q));
  got = Claim({"default"}, 20);
  EXPECT_EQ(RunningWithKey("tenant-a"), 1u) << "one running job per key";
}

TEST_P(Batches, InvalidBatchesWriteNothing) {
  Create(Params(2));
  const std::string before = DescribeAll();
  auto expect = [&](BatchCreateParams p, ErrorCode code, const std::string& field) {
    p.now = now_;
    auto r = store().BatchCreate(std::move(p));
    EXPECT_CODE(r, code);
    if (!r.ok()) {
      EXPECT_EQ(r.status().field(), field);
    }
  };
  expect(Params(0), ErrorCode::kInvalidArgument, "jobs");
  expect(Params(static_cast<int>(ContractLimits().max_batch_members) + 1),
         ErrorCode::kLimitExceeded, "jobs");
  BatchCreateParams p = Params(3);
  p.jobs[2].priority = 1000;
  expect(p, ErrorCode::kInvalidArgument, "jobs[2].priority");
  p = Params(3);
  p.jobs[1].idempotency_key = "k";
  expect(p, ErrorCode::kInvalidArgument, "jobs[1].idempotency_key");
  p = Params(3);
  p.jobs[0].batch_id = "7";
  expect(p, ErrorCode::kInvalidArgument, "jobs[0].batch_id");
  p = Params(3);
  p.jobs[0].payload = "{not json";
  expect(p, ErrorCode::kInvalidArgument, "jobs[0].payload");
  p = Params(1);
  p.on_complete = Callback();
  p.on_complete->run_at = now_;
  expect(p, ErrorCode::kInvalidArgument, "on_complete.run_at");
  p.on_complete = Callback();
  p.on_complete->idempotency_key = "x";
  expect(p, ErrorCode::kInvalidArgument, "on_complete.idempotency_key");
  p.on_complete = Callback();
  p.on_complete->queue = "bad queue";
  expect(p, ErrorCode::kInvalidArgument, "on_complete.queue");
  p = Params(1);
  p.idempotency_key = std::string(kMaxKeyLength + 1, 'k');
  expect(p, ErrorCode::kInvalidArgument, "idempotency_key");
  EXPECT_EQ(DescribeAll(), before);
  EXPECT_CODE(store().BatchGet(987654), ErrorCode::kNotFound);
  EXPECT_CODE(store().BatchCancel({.now = now_, .id = 987654}), ErrorCode::kNotFound);
}

TEST_P(Batches, AnEnqueuedJobCannotJoinABatch) {
  BatchCreateResult r = Create(Params(1));
  JobSpec s = Spec();
  s.batch_id = BatchIdText(r.batch.id);
  auto e = store().JobsEnqueue({now_, {s}});
  EXPECT_CODE(e, ErrorCode::kInvalidArgument);
  EXPECT_EQ(GetBatch(r.batch.id).total, 1);
}

TEST_P(Batches, TheServersIdempotencyKeyPrefixesAreRefused) {
  for (const char* key : {"batch:1:on_complete", "schedule:nightly:1700000000000000"}) {
    JobSpec s = Spec("after");
    s.idempotency_key = key;
    auto e = store().JobsEnqueue({now_, {s}});
    EXPECT_CODE(e, ErrorCode::kInvalidArgument);
    if (!e.ok()) {
      EXPECT_EQ(e.status().field(), "idempotency_key");
    }
  }
}

// Members ended concurrently by many callers: each counts once, and exactly
// one call enqueues on_complete.
TEST_P(Batches, ConcurrentEndsCountEachMemberOnceAndCompleteOnce) {
  constexpr int kMembers = 200;
  BatchCreateParams p = Params(kMembers);
  p.on_complete = Callback();
  BatchCreateResult r = Create(std::move(p));
  std::atomic<int> finished{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      while (finished.load() < kMembers) {
        ClaimParams cp = ClaimAt({"default"}, 8);
        cp.worker_id = "w" + std::to_string(t);
        auto claimed = store().JobsClaim(cp);
        if (!claimed.ok()) {
          ADD_FAILURE() << claimed.status().ToString();
          return;
        }
        std::vector<FinishParams> fins;
        for (const ClaimedJob& c : claimed->jobs)
          fins.push_back({cp.now, c.lease, Outcome::Succeeded()});
        if (fins.empty()) continue;
        auto done = store().JobsFinish(std::move(fins));
        if (!done.ok()) {
          ADD_FAILURE() << done.status().ToString();
          return;
        }
        for (const auto& one : *done)
          if (one.ok()) finished.fetch_add(1);
      }
    });
  }
  for (auto& t : threads)
    t.join();
  BatchInfo b = GetBatch(r.batch.id);
  EXPECT_EQ(Count(b, JobState::kSucceeded), kMembers);
  EXPECT_EQ(Callbacks().size(), 1u);
  EXPECT_TRUE(b.on_complete_job_id);
  ExpectAllTapesSound();
}

INSTANTIATE_TEST_SUITE_P(Stores, Batches, ::testing::ValuesIn(StoreFactories()), FactoryName);

}  // namespace
}  // namespace jobtape::store::testing
