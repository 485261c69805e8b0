// Contract: what enqueue writes. A job and its `created` event; batches in
// request order; idempotency keys (unique per queue, also within one batch)
// return the original job marked duplicate; delayed jobs wait in kScheduled
// until due and a claim reports the earliest due time (next_due).
#include "contract_fixture.hpp"

namespace jobtape::store::testing {
namespace {

using ET = EventType;
using std::chrono::seconds;

TEST_P(StoreContract, EnqueueWritesJobAndCreatedEvent) {
  JobSpec spec = Spec("mail");
  spec.kind = "email.send";
  spec.payload = R"({"to":"a@example.com","n":[1,2,3]})";
  spec.priority = -3;
  spec.max_attempts = 7;
  spec.timeout = seconds(90);
  spec.concurrency_key = "acct-9";
  spec.concurrency_limit = 4;
  spec.tags = {"x", "y.z"};
  auto r = store().JobsEnqueue({now_, {spec}});
  ASSERT_OK(r);
  ASSERT_EQ(r->jobs.size(), 1u);
  EXPECT_EQ(r->jobs[0].state, JobState::kQueued);
  EXPECT_FALSE(r->jobs[0].duplicate);
  JobId id = r->jobs[0].id;
  EXPECT_GT(id, 0);

  Job job = Get(id);
  EXPECT_EQ(job.id, id);
  EXPECT_EQ(job.state, JobState::kQueued);
  EXPECT_EQ(job.spec.kind, "email.send");
  EXPECT_EQ(job.spec.queue, "mail");
  EXPECT_EQ(job.spec.payload, spec.payload);
  EXPECT_EQ(job.spec.priority, -3);
  EXPECT_EQ(job.spec.max_attempts, 7);
  EXPECT_EQ(job.spec.timeout, spec.timeout);
  EXPECT_EQ(job.spec.concurrency_key, "acct-9");
  EXPECT_EQ(job.spec.concurrency_limit, 4);
  EXPECT_TRUE(job.spec.batch_id.empty());
  EXPECT_EQ(job.spec.tags, spec.tags);
  EXPECT_EQ(job.attempt, 0);
  EXPECT_EQ(job.created_at, now_);
  EXPECT_EQ(job.run_at, now_);
  EXPECT_EQ(job.last_seq, 1);
  EXPECT_FALSE(job.finished_at.has_value());

  std::vector<Event> tape = Tape(id);
  ASSERT_EQ(tape.size(), 1u);
  EXPECT_EQ(tape[0].type, ET::kCreated);
  EXPECT_EQ(tape[0].seq, 1);
  EXPECT_EQ(tape[0].attempt, 0);
  EXPECT_EQ(tape[0].at, now_);
}

TEST_P(StoreContract, BatchReturnsJobsInRequestOrder) {
  std::vector<JobSpec> specs;
  for (int i = 0; i < 5; ++i) {
    specs.push_back(Spec());
    specs.back().payload = "{\"i\":" + std::to_string(i) + "}";
  }
  auto r = store().JobsEnqueue({now_, specs});
  ASSERT_OK(r);
  ASSERT_EQ(r->jobs.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(Get(r->jobs[i].id).spec.payload, specs[i].payload);
  }
  EXPECT_EQ(JobCount(), 5u);
}

// Batches as large as the contract allows, with keyed jobs breaking the runs
// of unkeyed ones (the SQLite store inserts such runs many rows per
// statement) and every column varying per job.
TEST_P(StoreContract, MixedBatchesKeepEachJobAsSubmitted) {
  std::vector<JobSpec> specs;
  for (int i = 0; i < 60; ++i) {
    JobSpec s = Spec();
    s.queue = i % 2 ? "qa" : "qb";
    s.payload = "{\"i\":" + std::to_string(i) + "}";
    s.priority = i % 7;
    if (i % 3 == 0) s.run_at = now_ + std::chrono::hours(1);
    if (i % 11 == 0) s.concurrency_key = "key" + std::to_string(i);
    if (i % 13 == 5) s.idempotency_key = "m" + std::to_string(i);
    specs.push_back(std::move(s));
  }
  specs.push_back(specs[5]);  // a repeat of a key from an earlier batch
  std::vector<EnqueuedJob> jobs;
  const std::size_t batch = ContractLimits().max_batch;
  for (std::size_t i = 0; i < specs.size(); i += batch) {
    std::vector<JobSpec> part(specs.begin() + i, specs.begin() + std::min(specs.size(), i + batch));
    auto r = store().JobsEnqueue({now_, part});
    ASSERT_OK(r);
    ASSERT_EQ(r->jobs.size(), part.size());
    jobs.insert(jobs.end(), r->jobs.begin(), r->jobs.end());
  }
  for (std::size_t i = 0; i + 1 < specs.size(); ++i) {
    EXPECT_FALSE(jobs[i].duplicate) << i;
    if (i > 0) {
      EXPECT_GT(jobs[i].id, jobs[i - 1].id) << i;
    }
    const JobState want = i % 3 == 0 ? JobState::kScheduled : JobState::kQueued;
    EXPECT_EQ(jobs[i].state, want) << i;
    Job j = Get(jobs[i].id);
    EXPECT_EQ(j.state, want) << i;
    EXPECT_EQ(j.spec.queue, specs[i].queue) << i;
    EXPECT_EQ(j.spec.payload, specs[i].payload) << i;
    EXPECT_EQ(j.spec.priority, specs[i].priority) << i;
    EXPECT_EQ(j.spec.concurrency_key, specs[i].concurrency_key) << i;
    EXPECT_EQ(j.spec.idempotency_key, specs[i].idempotency_key) << i;
    EXPECT_EQ(j.run_at, specs[i].run_at.value_or(now_)) << i;
  }
  EXPECT_TRUE(jobs.back().duplicate);
  EXPECT_EQ(jobs.back().id, jobs[5].id);
  EXPECT_EQ(JobCount(), 60u);
  ExpectAllTapesSound();
}

TEST_P(StoreContract, IdempotencyKeyReturnsOriginalJob) {
  JobSpec spec = Spec();
  spec.idempotency_key = "order-17";
  auto first = store().JobsEnqueue({now_, {spec}});
  ASSERT_OK(first);
  EXPECT_FALSE(first->jobs[0].duplicate);
  std::string before = DescribeAll();

  Advance(seconds(1));
  spec.payload = R"({"different":true})";
  auto again = store().JobsEnqueue({now_, {spec}});
  ASSERT_OK(again);
  ASSERT_EQ(again->jobs.size(), 1u);
  EXPECT_EQ(again->jobs[0].id, first->jobs[0].id);
  EXPECT_TRUE(again->jobs[0].duplicate);
  EXPECT_EQ(again->jobs[0].state, JobState::kQueued);
  EXPECT_EQ(DescribeAll(), before) << "a duplicate must write nothing";
}

TEST_P(StoreContract, IdempotencyKeyReportsTheOriginalsState) {
  JobSpec spec = Spec();
  spec.idempotency_key = "k";
  JobId id = Enqueue(spec);
  ClaimOne();
  auto again = store().JobsEnqueue({now_, {spec}});
  ASSERT_OK(again);
  EXPECT_EQ(again->jobs[0].id, id);
  EXPECT_TRUE(again->jobs[0].duplicate);
  EXPECT_EQ(again->jobs[0].state, JobState::kRunning);
}

TEST_P(StoreContract, IdempotencyKeyIsPerQueue) {
  JobSpec a = Spec("qa");
  a.idempotency_key = "same";
  JobSpec b = Spec("qb");
  b.idempotency_key = "same";
  JobId ida = Enqueue(a);
  auto rb = store().JobsEnqueue({now_, {b}});
  ASSERT_OK(rb);
  EXPECT_NE(rb->jobs[0].id, ida);
  EXPECT_FALSE(rb->jobs[0].duplicate);
  EXPECT_EQ(JobCount(), 2u);
}

TEST_P(StoreContract, IdempotencyKeyWithinOneBatch) {
  JobSpec k1 = Spec();
  k1.idempotency_key = "k1";
  JobSpec k2 = Spec();
  k2.idempotency_key = "k2";
  auto r = store().JobsEnqueue({now_, {k1, k1, k2, k1}});
  ASSERT_OK(r);
  ASSERT_EQ(r->jobs.size(), 4u);
  EXPECT_FALSE(r->jobs[0].duplicate);
  EXPECT_TRUE(r->jobs[1].duplicate);
  EXPECT_FALSE(r->jobs[2].duplicate);
  EXPECT_TRUE(r->jobs[3].duplicate);
  EXPECT_EQ(r->jobs[1].id, r->jobs[0].id);
  EXPECT_EQ(r->jobs[3].id, r->jobs[0].id);
  EXPECT_NE(r->jobs[2].id, r->jobs[0].id);
  EXPECT_EQ(JobCount(), 2u);
  ExpectAllTapesSound();
}

TEST_P(StoreContract, DelayedJobIsScheduledUntilDue) {
  JobSpec spec = Spec();
  TimePoint due = now_ + seconds(60);
  spec.run_at = due;
  auto r = store().JobsEnqueue({now_, {spec}});
  ASSERT_OK(r);
  EXPECT_EQ(r->jobs[0].state, JobState::kScheduled);
  JobId id = r->jobs[0].id;
  EXPECT_EQ(Get(id).state, JobState::kScheduled);
  EXPECT_EQ(Get(id).run_at, due);

  auto early = store().JobsClaim(ClaimAt({"default"}, 10));
  ASSERT_OK(early);
  EXPECT_TRUE(early->jobs.empty());
  EXPECT_EQ(early->next_due, std::optional<TimePoint>(due));

  now_ = due - kTick;
  EXPECT_TRUE(Claim({"default"}, 10).empty());
  now_ = due;
  ClaimedJob c = ClaimOne();
  EXPECT_EQ(c.job.id, id);
  ExpectAllTapesSound();
}

TEST_P(StoreContract, NextDueIsTheEarliestInTheClaimedQueues) {
  JobSpec in60 = Spec(), in30 = Spec(), other_queue = Spec("elsewhere");
  in60.run_at = now_ + seconds(60);
  in30.run_at = now_ + seconds(30);
  other_queue.run_at = now_ + seconds(10);
  EnqueueBatch({in60, in30, other_queue});
  auto r = store().JobsClaim(ClaimAt({"default"}, 10));
  ASSERT_OK(r);
  EXPECT_TRUE(r->jobs.empty());
  EXPECT_EQ(r->next_due, std::optional<TimePoint>(now_ + seconds(30)));
}

// Claims reach the store in any order of their `now`s. A claim stamped
// later promotes both due jobs; one stamped earlier that runs after it must
// not start the other (its `started` would precede its run_at), and it
// reports that job's run_at as next_due, so its claimer claims again.
TEST_P(StoreContract, AClaimStartsOnlyJobsDueAtItsOwnNow) {
  const TimePoint before = now_;
  const TimePoint due = now_ + seconds(10);
  JobSpec a = Spec(), b = Spec();
  a.run_at = due;
  b.run_at = due;
  auto ids = EnqueueBatch({a, b});
  ASSERT_EQ(ids.size(), 2u);
  now_ = due + seconds(1);
  ClaimedJob first = ClaimOne();  // promotes both, starts one
  EXPECT_EQ(first.job.id, ids[0]);
  EXPECT_EQ(Get(ids[1]).state, JobState::kQueued);

  ClaimParams stale = ClaimAt({"default"}, 10);
  stale.now = before + seconds(5);  // issued before the jobs were due, run after
  auto r = store().JobsClaim(stale);
  ASSERT_OK(r);
  EXPECT_TRUE(r->jobs.empty()) << "started job " << r->jobs[0].job.id << " before its run_at";
  EXPECT_EQ(r->next_due, std::optional<TimePoint>(due));
  EXPECT_EQ(Get(ids[1]).state, JobState::kQueued);

  ClaimedJob second = ClaimOne();
  EXPECT_EQ(second.job.id, ids[1]);
  for (JobId id : ids) {
    for (const Event& e : Tape(id)) {
      if (e.type == EventType::kStarted) {
        EXPECT_GE(e.at, due) << "job " << id;
      }
    }
  }
  ExpectAllTapesSound();
}

TEST_P(StoreContract, NoNextDueWithoutScheduledJobs) {
  auto r = store().JobsClaim(ClaimAt({"default"}, 10));
  ASSERT_OK(r);
  EXPECT_TRUE(r->jobs.empty());
  EXPECT_FALSE(r->next_due.has_value());
}

TEST_P(StoreContract, RunAtInThePastIsQueued) {
  JobSpec spec = Spec();
  spec.run_at = now_ - seconds(5);
  JobId id = Enqueue(spec);
  EXPECT_EQ(Get(id).state, JobState::kQueued);
  EXPECT_EQ(ClaimOne().job.id, id);
}

}  // namespace
}  // namespace jobtape::store::testing
