// Contract: how attempts end and jobs come back. Retryable failures wait out
// an exact backoff (jitter 0) in kScheduled; attempts run out into kFailed
// with `final`; non-retryable failures end at once. The reaper retries or
// fails jobs whose lease expired, as a compare-and-set (two racing reapers
// advance each job once). Recovery interrupts only the named node's attempts.
// A manual retry of a terminal job makes a new job; of a live one, kConflict.
#include <atomic>
#include <set>
#include <thread>

#include "contract_fixture.hpp"

namespace jobtape::store::testing {
namespace {

using ET = EventType;
using std::chrono::minutes;
using std::chrono::seconds;

TEST_P(StoreContract, RetryableFailureWaitsOutItsBackoff) {
  JobId id = Enqueue();  // backoff 5 s, x2, no jitter
  ClaimedJob c1 = ClaimOne();
  Advance(seconds(3));
  auto f1 = Finish(c1.lease, Outcome::Failed("boom", "first"));
  ASSERT_OK(f1);
  EXPECT_EQ(f1->state, JobState::kScheduled);
  ASSERT_TRUE(f1->retry_at.has_value());
  EXPECT_EQ(*f1->retry_at, now_ + seconds(5));
  EXPECT_EQ(Get(id).run_at, now_ + seconds(5));
  EXPECT_EQ(Get(id).state, JobState::kScheduled);
  EXPECT_EQ(TapeTypes(id).back(), ET::kAttemptFailed);
  EXPECT_NE(Get(id).error.find("boom"), std::string::npos) << Get(id).error;

  TimePoint retry_at = *f1->retry_at;
  now_ = retry_at - kTick;
  ClaimParams early = ClaimAt({"default"}, 10);
  auto none = store().JobsClaim(early);
  ASSERT_OK(none);
  EXPECT_TRUE(none->jobs.empty());
  EXPECT_EQ(none->next_due, std::optional<TimePoint>(retry_at));

  now_ = retry_at;  // due exactly now
  ClaimedJob c2 = ClaimOne();
  EXPECT_EQ(c2.job.id, id);
  EXPECT_EQ(c2.lease.attempt, 2);

  auto f2 = Finish(c2.lease, Outcome::Failed("boom", "second"));
  ASSERT_OK(f2);
  EXPECT_EQ(f2->retry_at, std::optional<TimePoint>(now_ + seconds(10)));  // doubled
  ExpectAllTapesSound();
}

TEST_P(StoreContract, RetryDelayOverridesBackoff) {
  Enqueue();
  ClaimedJob c = ClaimOne();
  Outcome o = Outcome::Failed("rate_limited", "later");
  o.retry_delay = seconds(42);
  auto f = Finish(c.lease, o);
  ASSERT_OK(f);
  EXPECT_EQ(f->retry_at, std::optional<TimePoint>(now_ + seconds(42)));
}

TEST_P(StoreContract, ExhaustedAttemptsFailTerminally) {
  JobSpec spec = Spec();
  spec.max_attempts = 2;
  JobId id = Enqueue(spec);
  ASSERT_OK(Finish(ClaimOne().lease, Outcome::Failed("boom", "1")));
  Advance(minutes(1));
  auto last = Finish(ClaimOne().lease, Outcome::Failed("boom", "2"));
  ASSERT_OK(last);
  EXPECT_EQ(last->state, JobState::kFailed);
  EXPECT_FALSE(last->retry_at.has_value());
  ExpectTerminalWithFinal(id, JobState::kFailed);
  Advance(minutes(10));
  EXPECT_TRUE(Claim({"default"}, 10).empty());
}

TEST_P(StoreContract, NonRetryableFailureFailsAtOnce) {
  JobSpec spec = Spec();
  spec.max_attempts = 5;
  JobId id = Enqueue(spec);
  auto f = Finish(ClaimOne().lease, Outcome::Failed("bad_input", "never works", false));
  ASSERT_OK(f);
  EXPECT_EQ(f->state, JobState::kFailed);
  EXPECT_FALSE(f->retry_at.has_value());
  ExpectTerminalWithFinal(id, JobState::kFailed);
  EXPECT_EQ(Get(id).attempt, 1);
}

TEST_P(StoreContract, ExpiredLeaseIsRetried) {
  JobId id = Enqueue();
  ClaimedJob c = ClaimOne();
  now_ = c.lease.expires_at + kTick;
  auto r = Reap();
  ASSERT_OK(r);
  EXPECT_EQ(r->expired, 1);
  EXPECT_EQ(r->job_ids, std::vector<JobId>{id});
  Job job = Get(id);
  EXPECT_TRUE(job.state == JobState::kScheduled || job.state == JobState::kQueued)
      << JobStateName(job.state);
  std::vector<Event> tape = Tape(id);
  ASSERT_EQ(tape.back().type, ET::kAttemptFailed);
  EXPECT_EQ(tape.back().attempt, 1);
  EXPECT_NE(tape.back().data.find("lease_expired"), std::string::npos) << tape.back().data;

  Advance(minutes(5));
  ClaimedJob again = ClaimOne();
  EXPECT_EQ(again.job.id, id);
  EXPECT_EQ(again.lease.attempt, 2);
  ExpectAllTapesSound();
}

TEST_P(StoreContract, ExpiredLeaseOnLastAttemptFails) {
  JobSpec spec = Spec();
  spec.max_attempts = 1;
  JobId id = Enqueue(spec);
  ClaimedJob c = ClaimOne();
  now_ = c.lease.expires_at + kTick;
  auto r = Reap();
  ASSERT_OK(r);
  EXPECT_EQ(r->expired, 1);
  ExpectTerminalWithFinal(id, JobState::kFailed);
  std::string all_data;
  for (const Event& e : Tape(id))
    all_data += e.data;
  EXPECT_NE(all_data.find("lease_expired"), std::string::npos) << all_data;
}

TEST_P(StoreContract, ReapHonoursItsLimit) {
  EnqueueBatch(std::vector<JobSpec>(5, Spec()));
  ASSERT_EQ(Claim({"default"}, 5).size(), 5u);
  Advance(kLeaseTtl + seconds(1));
  int total = 0;
  for (int round = 0; round < 5; ++round) {
    auto r = Reap(2);
    ASSERT_OK(r);
    EXPECT_LE(r->expired, 2);
    total += r->expired;
    if (r->expired == 0) break;
  }
  EXPECT_EQ(total, 5);
}

TEST_P(StoreContract, ConcurrentReapsAdvanceEachJobOnce) {
  constexpr int kJobs = 20;
  constexpr int kRounds = 3;
  JobSpec spec = Spec();
  spec.max_attempts = kRounds + 1;  // every reap is a retry
  EnqueueBatch(std::vector<JobSpec>(kJobs, spec));
  for (int round = 0; round < kRounds; ++round) {
    ASSERT_EQ(Claim({"default"}, kJobs).size(), static_cast<std::size_t>(kJobs));
    Advance(kLeaseTtl + seconds(1));
    std::atomic<int> ready{0};
    ReapResult results[2];
    bool ok[2] = {false, false};
    std::vector<std::thread> reapers;
    for (int t = 0; t < 2; ++t) {
      reapers.emplace_back([&, t] {
        ++ready;  // start both as close together as possible
        while (ready.load() < 2) {
        }
        auto r = store().LeasesReapExpired({now_, 1000});
        ok[t] = r.ok();
        if (r.ok()) results[t] = std::move(r).value();
      });
    }
    for (auto& th : reapers)
      th.join();
    ASSERT_TRUE(ok[0] && ok[1]);
    EXPECT_EQ(results[0].expired + results[1].expired, kJobs) << "round " << round;
    std::multiset<JobId> ids(results[0].job_ids.begin(), results[0].job_ids.end());
    ids.insert(results[1].job_ids.begin(), results[1].job_ids.end());
    EXPECT_EQ(ids.size(), static_cast<std::size_t>(kJobs));
    EXPECT_EQ(std::set<JobId>(ids.begin(), ids.end()).size(), ids.size()) << "reaped twice";
    Advance(minutes(10));  // past every backoff
  }
  for (const Job& j : ListAll()) {
    EXPECT_EQ(j.attempt, kRounds);
    EXPECT_EQ(CountOf(TapeTypes(j.id), ET::kAttemptFailed), static_cast<std::size_t>(kRounds));
  }
  ExpectAllTapesSound();
}

TEST_P(StoreContract, RecoverInterruptsOnlyThisNodesAttempts) {
  for (int i = 0; i < 4; ++i)
    Enqueue();
  ClaimedJob mine1 = ClaimOne("default", "node-a");
  ClaimedJob mine2 = ClaimOne("default", "node-a");
  ClaimedJob theirs = ClaimOne("default", "node-b");
  ClaimedJob remote = ClaimOne("default", "");
  Advance(seconds(1));

  RecoverParams p{now_, "node-a"};
  auto r = store().AttemptsRecover(p);
  ASSERT_OK(r);
  EXPECT_EQ(r->interrupted, 2);
  EXPECT_EQ(std::set<JobId>(r->job_ids.begin(), r->job_ids.end()),
            (std::set<JobId>{mine1.job.id, mine2.job.id}));
  for (const ClaimedJob* c : {&mine1, &mine2}) {
    Job job = Get(c->job.id);
    EXPECT_TRUE(job.state == JobState::kScheduled || job.state == JobState::kQueued);
    std::vector<Event> tape = Tape(c->job.id);
    EXPECT_EQ(tape.back().type, ET::kAttemptFailed);
    EXPECT_NE(tape.back().data.find("interrupted"), std::string::npos) << tape.back().data;
    EXPECT_CODE(Heartbeat(c->lease), ErrorCode::kStaleLease);
  }
  for (const ClaimedJob* c : {&theirs, &remote}) {
    EXPECT_EQ(Get(c->job.id).state, JobState::kRunning);
    EXPECT_OK(Heartbeat(c->lease));
  }
  Advance(minutes(5));
  EXPECT_EQ(Claim({"default"}, 10).size(), 2u);  // the interrupted two run again
  ExpectAllTapesSound();
}

TEST_P(StoreContract, RecoverOnLastAttemptFails) {
  JobSpec spec = Spec();
  spec.max_attempts = 1;
  JobId id = Enqueue(spec);
  ClaimOne("default", "node-a");
  auto r = store().AttemptsRecover({now_, "node-a"});
  ASSERT_OK(r);
  EXPECT_EQ(r->interrupted, 1);
  ExpectTerminalWithFinal(id, JobState::kFailed);
}

TEST_P(StoreContract, ManualRetryOfFailedJobMakesNewJob) {
  JobSpec spec = Spec();
  spec.payload = R"({"x":1})";
  spec.priority = 7;
  JobId old_id = Enqueue(spec);
  ASSERT_OK(Finish(ClaimOne().lease, Outcome::Failed("fatal", "no", false)));
  std::string old_tape;
  for (const Event& e : Tape(old_id))
    old_tape += e.data + "|";

  Advance(seconds(1));
  auto r = store().JobRetry({now_, old_id});
  ASSERT_OK(r);
  EXPECT_NE(r->id, old_id);
  EXPECT_FALSE(r->duplicate);
  EXPECT_EQ(r->state, JobState::kQueued);
  Job fresh = Get(r->id);
  EXPECT_EQ(fresh.spec.retry_of, std::optional<JobId>(old_id));
  EXPECT_EQ(fresh.spec.kind, spec.kind);
  EXPECT_EQ(fresh.spec.payload, spec.payload);
  EXPECT_EQ(fresh.spec.priority, 7);
  EXPECT_EQ(fresh.attempt, 0);
  EXPECT_EQ(TapeTypes(r->id), std::vector<ET>{ET::kCreated});

  std::string old_after;
  for (const Event& e : Tape(old_id))
    old_after += e.data + "|";
  EXPECT_EQ(old_after, old_tape) << "the original's closed tape changed";
  EXPECT_EQ(Get(old_id).state, JobState::kFailed);
  EXPECT_EQ(ClaimOne().job.id, r->id);
}

TEST_P(StoreContract, ManualRetryOfCancelledJobMakesNewJob) {
  JobId old_id = Enqueue();
  ASSERT_OK(Cancel(old_id));
  auto r = store().JobRetry({now_, old_id});
  ASSERT_OK(r);
  EXPECT_NE(r->id, old_id);
  EXPECT_EQ(Get(r->id).spec.retry_of, std::optional<JobId>(old_id));
}

TEST_P(StoreContract, ManualRetryOfLiveJobConflicts) {
  JobId a = Enqueue();
  JobId b = Enqueue();
  ClaimOne();  // one of them runs, the other stays queued
  std::string before = DescribeAll();
  for (JobId id : {a, b}) {
    EXPECT_CODE(store().JobRetry({now_, id}), ErrorCode::kConflict) << "job " << id;
  }
  EXPECT_CODE(store().JobRetry({now_, 987654321}), ErrorCode::kNotFound);
  EXPECT_EQ(DescribeAll(), before);
}

}  // namespace
}  // namespace jobtape::store::testing
