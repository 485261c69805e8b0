// Dispatcher::CancelClaim: a claimer that went away (an HTTP worker that
// disconnected during its long poll) gives up its waiter, whether it is parked
// or its claim is at the store; jobs a claim already leased still reach it.
#include <gtest/gtest.h>

#include <memory>

#include "dispatcher_fixture.hpp"
#include "engine/dispatcher.hpp"
#include "test_util.hpp"

namespace jobtape::engine {
namespace {

using std::chrono::seconds;
using testing::ClaimedOnly;
using testing::MakeCollector;

using DispatcherCancelTest = testing::DispatcherFixture;

TEST_F(DispatcherCancelTest, CancelledParkedWaiterCompletesAtOnceAndTakesNoWork) {
  auto out = MakeCollector();
  ClaimTicket ticket = dispatcher_->ClaimAsync(Req(), clock_.Now() + seconds(60), out->Callback());
  ASSERT_NE(ticket, 0u);
  ASSERT_TRUE(WaitFor([](const auto& c) { return c.parked == 1; }));

  EXPECT_TRUE(dispatcher_->CancelClaim(ticket));
  auto r = out->Wait();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(dispatcher_->counters().parked, 0);

  // New work is not claimed for the departed claimer.
  store_->CreateJobNow("q", clock_.Now());
  EXPECT_EQ(store_->claims(), 1);
  EXPECT_FALSE(dispatcher_->CancelClaim(ticket));  // already completed: ignored
  EXPECT_EQ(out->calls(), 1);
}

TEST_F(DispatcherCancelTest, CancelDuringAnEmptyClaimCompletesInsteadOfParking) {
  ClaimTicket ticket = 0;
  auto out = ClaimHeld(1, &ticket);
  EXPECT_TRUE(dispatcher_->CancelClaim(ticket));
  EXPECT_FALSE(out->done());  // the claim is still at the store
  store_->ReleaseClaimCompletions();
  auto r = out->Wait();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(dispatcher_->counters().parked, 0);
}

TEST_F(DispatcherCancelTest, JobsLeasedBeforeTheCancelStillReachTheClaimer) {
  JobId id = store_->CreateJobNow("q", clock_.Now());
  ClaimTicket ticket = 0;
  auto out = ClaimHeld(1, &ticket);
  EXPECT_TRUE(dispatcher_->CancelClaim(ticket));
  store_->ReleaseClaimCompletions();
  ASSERT_TRUE(ClaimedOnly(out->Wait(), id));
}

TEST_F(DispatcherCancelTest, UnknownTicketIsIgnored) {
  EXPECT_FALSE(dispatcher_->CancelClaim(0));
  EXPECT_FALSE(dispatcher_->CancelClaim(12345));
}

}  // namespace
}  // namespace jobtape::engine
