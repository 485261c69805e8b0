// Contract, R8 (nothing strands) for cancels: a cancel at every point of a
// job's life ends in one well-defined terminal state with a `final` event, or
// is a no-op on a job that is already terminal. A queued or scheduled job is
// cancelled at once; a running one is asked to stop (heartbeats answer
// cancel_requested) and ends cancelled when its worker finishes - whatever
// outcome it reports - or when the grace runs out and the reaper ends it.
#include "contract_fixture.hpp"

namespace jobtape::store::testing {
namespace {

using ET = EventType;
using std::chrono::seconds;

TEST_P(StoreContract, CancelQueuedJobEndsAtOnce) {
  JobId id = Enqueue();
  auto r = Cancel(id);
  ASSERT_OK(r);
  EXPECT_TRUE(r->changed);
  EXPECT_FALSE(r->cancel_requested);
  EXPECT_EQ(r->state, JobState::kCancelled);
  EXPECT_EQ(Get(id).state, JobState::kCancelled);
  EXPECT_EQ(TapeTypes(id), (std::vector<ET>{ET::kCreated, ET::kFinal}));
  EXPECT_EQ(EventDataField(Tape(id).back(), "state"), "cancelled");
  EXPECT_TRUE(Get(id).finished_at.has_value());
  EXPECT_TRUE(Claim({"default"}, 10).empty());
  ExpectAllTapesSound();
}

TEST_P(StoreContract, CancelScheduledJobEndsAtOnce) {
  JobSpec spec = Spec();
  spec.run_at = now_ + std::chrono::minutes(10);
  JobId id = Enqueue(spec);
  ASSERT_EQ(Get(id).state, JobState::kScheduled);
  auto r = Cancel(id);
  ASSERT_OK(r);
  EXPECT_TRUE(r->changed);
  EXPECT_EQ(r->state, JobState::kCancelled);
  EXPECT_EQ(TapeTypes(id), (std::vector<ET>{ET::kCreated, ET::kFinal}));
  Advance(std::chrono::hours(1));
  EXPECT_TRUE(Claim({"default"}, 10).empty()) << "a cancelled delayed job came due";
  ExpectAllTapesSound();
}

TEST_P(StoreContract, CancelDuringRetryBackoffEndsAtOnce) {
  JobId id = Enqueue();
  ClaimedJob c = ClaimOne();
  auto f = Finish(c.lease, Outcome::Failed("boom", "will retry"));
  ASSERT_OK(f);
  ASSERT_EQ(f->state, JobState::kScheduled);
  auto r = Cancel(id);
  ASSERT_OK(r);
  EXPECT_TRUE(r->changed);
  EXPECT_EQ(r->state, JobState::kCancelled);
  EXPECT_EQ(TapeTypes(id).back(), ET::kFinal);
  Advance(std::chrono::hours(1));
  EXPECT_TRUE(Claim({"default"}, 10).empty());
  ExpectAllTapesSound();
}

TEST_P(StoreContract, CancelRunningJobRequestsStop) {
  JobId id = Enqueue();
  ClaimedJob c = ClaimOne();
  auto r = Cancel(id);
  ASSERT_OK(r);
  EXPECT_TRUE(r->changed);
  EXPECT_TRUE(r->cancel_requested);
  EXPECT_EQ(r->state, JobState::kRunning);

  Job job = Get(id);
  EXPECT_EQ(job.state, JobState::kRunning);
  EXPECT_TRUE(job.cancel_requested);
  EXPECT_EQ(TapeTypes(id), (std::vector<ET>{ET::kCreated, ET::kStarted, ET::kCancelRequested}));
  EXPECT_EQ(Tape(id).back().attempt, 1);

  auto hb = Heartbeat(c.lease);
  ASSERT_OK(hb);
  EXPECT_TRUE(hb->cancel_requested);
  ExpectAllTapesSound();
}

TEST_P(StoreContract, SecondCancelOfRunningJobChangesNothing) {
  JobId id = Enqueue();
  ClaimOne();
  ASSERT_OK(Cancel(id));
  std::string before = DescribeAll();
  Advance(seconds(1));
  auto again = Cancel(id);
  ASSERT_OK(again);
  EXPECT_FALSE(again->changed);
  EXPECT_TRUE(again->cancel_requested);
  EXPECT_EQ(again->state, JobState::kRunning);
  EXPECT_EQ(DescribeAll(), before);
}

TEST_P(StoreContract, WorkerStopAfterCancelEndsCancelled) {
  JobId id = Enqueue();
  ClaimedJob c = ClaimOne();
  ASSERT_OK(Cancel(id));
  auto f = Finish(c.lease, Outcome::Cancelled());
  ASSERT_OK(f);
  EXPECT_EQ(f->state, JobState::kCancelled);
  ExpectTerminalWithFinal(id, JobState::kCancelled);
}

TEST_P(StoreContract, FailureAfterCancelRequestDoesNotRetry) {
  JobId id = Enqueue();
  ClaimedJob c = ClaimOne();
  ASSERT_OK(Cancel(id));
  auto f = Finish(c.lease, Outcome::Failed("sigterm", "killed by cancel", /*retryable=*/true));
  ASSERT_OK(f);
  EXPECT_EQ(f->state, JobState::kCancelled);
  EXPECT_FALSE(f->retry_at.has_value());
  ExpectTerminalWithFinal(id, JobState::kCancelled);
  Advance(std::chrono::hours(2));
  EXPECT_TRUE(Claim({"default"}, 10).empty()) << "a cancelled job was retried";
}

TEST_P(StoreContract, CancelGraceExpiryIsReapedAsCancelled) {
  JobId id = Enqueue();
  ClaimedJob c = ClaimOne();
  ASSERT_OK(Cancel(id, seconds(10)));

  Advance(seconds(5));           // within the grace: the worker may still stop by itself
  auto hb = Heartbeat(c.lease);  // and keeps its lease alive past the grace
  ASSERT_OK(hb);
  EXPECT_TRUE(hb->cancel_requested);
  auto early = Reap();
  ASSERT_OK(early);
  EXPECT_EQ(early->cancelled, 0);
  EXPECT_EQ(Get(id).state, JobState::kRunning);

  Advance(seconds(5) + seconds(1));  // grace over, lease still valid
  auto late = Reap();
  ASSERT_OK(late);
  EXPECT_EQ(late->cancelled, 1);
  EXPECT_EQ(late->job_ids, std::vector<JobId>{id});
  ExpectTerminalWithFinal(id, JobState::kCancelled);

  std::string before = DescribeAll();
  EXPECT_CODE(AppendProgress(c.lease, 99), ErrorCode::kStaleLease);
  EXPECT_CODE(Finish(c.lease, Outcome::Succeeded()), ErrorCode::kStaleLease);
  EXPECT_CODE(Heartbeat(c.lease), ErrorCode::kStaleLease);
  EXPECT_EQ(DescribeAll(), before);
}

TEST_P(StoreContract, CancelOfTerminalJobChangesNothing) {
  JobId succeeded = Enqueue();
  ASSERT_OK(Finish(ClaimOne().lease, Outcome::Succeeded()));
  JobId failed = Enqueue();
  ASSERT_OK(Finish(ClaimOne().lease, Outcome::Failed("fatal", "x", false)));
  JobId cancelled = Enqueue();
  ASSERT_OK(Cancel(cancelled));

  std::string before = DescribeAll();
  Advance(seconds(1));
  for (auto [id, state] :
       {std::pair{succeeded, JobState::kSucceeded}, std::pair{failed, JobState::kFailed},
        std::pair{cancelled, JobState::kCancelled}}) {
    auto r = Cancel(id);
    ASSERT_OK(r);
    EXPECT_FALSE(r->changed) << JobStateName(state);
    EXPECT_FALSE(r->cancel_requested);
    EXPECT_EQ(r->state, state);
  }
  EXPECT_EQ(DescribeAll(), before);
}

TEST_P(StoreContract, ClaimAfterCancelReturnsNothing) {
  JobId a = Enqueue();
  JobId b = Enqueue();
  ASSERT_OK(Cancel(a));
  ASSERT_OK(Cancel(b));
  EXPECT_TRUE(Claim({"default"}, 10).empty());
  EXPECT_EQ(Get(a).attempt, 0);
}

TEST_P(StoreContract, CancelUnknownJobIsNotFound) {
  Enqueue();
  std::string before = DescribeAll();
  EXPECT_CODE(Cancel(987654321), ErrorCode::kNotFound);
  EXPECT_EQ(DescribeAll(), before);
}

}  // namespace
}  // namespace jobtape::store::testing
