// Contract: JobsFinish, many attempts ended in one transaction. Each item
// stands alone - a stale lease or an invalid outcome fails only its own item
// and writes nothing for it - while the others end exactly as JobFinish would
// end them (R1: one final each; R2: fenced by the lease).
#include "contract_fixture.hpp"

namespace jobtape::store::testing {
namespace {

using ET = EventType;

TEST_P(StoreContract, FinishManyEndsEachAttemptOnItsOwn) {
  EnqueueBatch(std::vector<JobSpec>(4, Spec()));
  std::vector<ClaimedJob> c = Claim({"default"}, 4);
  ASSERT_EQ(c.size(), 4u);
  Lease forged = c[1].lease;
  forged.token = std::string(forged.token.size(), 'f');

  auto r = store().JobsFinish({
      {now_, c[0].lease, Outcome::Succeeded(R"({"n":0})")},
      {now_, forged, Outcome::Succeeded()},
      {now_, c[2].lease, Outcome::Failed("flaky", "again")},
      {now_, c[3].lease, Outcome::Succeeded("{broken")},
  });
  ASSERT_OK(r);
  ASSERT_EQ(r->size(), 4u);
  ASSERT_OK((*r)[0]);
  EXPECT_EQ((*r)[0]->state, JobState::kSucceeded);
  EXPECT_CODE((*r)[1], ErrorCode::kStaleLease);
  ASSERT_OK((*r)[2]);
  EXPECT_EQ((*r)[2]->state, JobState::kScheduled);
  EXPECT_EQ((*r)[2]->retry_at, std::optional<TimePoint>(now_ + std::chrono::seconds(5)));
  EXPECT_CODE((*r)[3], ErrorCode::kInvalidArgument);

  ExpectTerminalWithFinal(c[0].job.id, JobState::kSucceeded);
  EXPECT_EQ(Get(c[1].job.id).state, JobState::kRunning);
  EXPECT_EQ(TapeTypes(c[1].job.id), (std::vector<ET>{ET::kCreated, ET::kStarted}));
  EXPECT_EQ(TapeTypes(c[2].job.id).back(), ET::kAttemptFailed);
  EXPECT_EQ(Get(c[3].job.id).state, JobState::kRunning);
  EXPECT_EQ(TapeTypes(c[3].job.id), (std::vector<ET>{ET::kCreated, ET::kStarted}));
  // The items that failed left their leases intact.
  EXPECT_OK(Heartbeat(c[1].lease));
  EXPECT_OK(Finish(c[3].lease, Outcome::Succeeded()));
  ExpectAllTapesSound();
}

TEST_P(StoreContract, FinishManyWithOneLeaseTwiceEndsItOnce) {
  JobId id = Enqueue();
  ClaimedJob c = ClaimOne();
  auto r = store().JobsFinish({
      {now_, c.lease, Outcome::Succeeded()},
      {now_, c.lease, Outcome::Failed("late", "second finish", false)},
  });
  ASSERT_OK(r);
  ASSERT_EQ(r->size(), 2u);
  EXPECT_OK((*r)[0]);
  EXPECT_CODE((*r)[1], ErrorCode::kStaleLease);
  ExpectTerminalWithFinal(id, JobState::kSucceeded);
  EXPECT_EQ(CountOf(TapeTypes(id), ET::kFinal), 1u);
}

TEST_P(StoreContract, FinishManyAfterFinalIsStale) {
  JobId id = Enqueue();
  ClaimedJob c = ClaimOne();
  ASSERT_OK(Finish(c.lease, Outcome::Succeeded()));
  std::string before = DescribeAll();
  auto r = store().JobsFinish({{now_, c.lease, Outcome::Cancelled()}});
  ASSERT_OK(r);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_CODE((*r)[0], ErrorCode::kStaleLease);
  EXPECT_EQ(DescribeAll(), before);
  EXPECT_EQ(Get(id).state, JobState::kSucceeded);
}

TEST_P(StoreContract, FinishManyOfNothingOrTooManyIsRejected) {
  Enqueue();
  ClaimedJob c = ClaimOne();
  std::string before = DescribeAll();
  EXPECT_CODE(store().JobsFinish({}), ErrorCode::kInvalidArgument);
  std::vector<FinishParams> too_many(ContractLimits().max_claim + 1,
                                     FinishParams{now_, c.lease, Outcome::Succeeded()});
  auto r = store().JobsFinish(too_many);
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(CodeOf(r) == ErrorCode::kInvalidArgument || CodeOf(r) == ErrorCode::kLimitExceeded)
      << DescribeStatus(r);
  EXPECT_EQ(DescribeAll(), before);
}

}  // namespace
}  // namespace jobtape::store::testing
