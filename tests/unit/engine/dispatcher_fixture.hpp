// The fixture of the Dispatcher tests on FakeStore (dispatcher_test.cpp,
// dispatcher_cancel_test.cpp): a Dispatcher registered as the observer of a
// FakeStore, on a ManualClock, and the claim helpers those tests share.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/dispatcher.hpp"
#include "fake_store.hpp"
#include "test_util.hpp"

namespace jobtape::engine::testing {

class DispatcherFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::make_unique<FakeStore>();
    dispatcher_ = std::make_unique<Dispatcher>(*store_, clock_);
    store_->AddObserver(dispatcher_.get());
  }
  void TearDown() override {
    store_->ReleaseClaimCompletions();
    dispatcher_->Stop();
    store_.reset();  // before the dispatcher: the store points at its observers
    dispatcher_.reset();
  }

  static ClaimRequest Req(std::vector<std::string> queues = {"q"}, int max = 1) {
    ClaimRequest r;
    r.worker_id = "w";
    r.queues = std::move(queues);
    r.max = max;
    return r;
  }
  bool WaitFor(const std::function<bool(const DispatcherCounters&)>& pred) {
    return dispatcher_->WaitFor(pred, kSafety);
  }
  TimePoint Now() const { return clock_.Now(); }

  // Issues Req() (deadline in 60 s) while the store holds claim completions,
  // and returns once its store claim, the store's `nth_claim`-th, has run:
  // the claim stays at the store until ReleaseClaimCompletions(). Its ticket
  // goes to `*ticket` when given.
  std::shared_ptr<ClaimCollector> ClaimHeld(int nth_claim = 1, ClaimTicket* ticket = nullptr) {
    store_->HoldClaimCompletions();
    auto out = MakeCollector();
    ClaimTicket t =
        dispatcher_->ClaimAsync(Req(), Now() + std::chrono::seconds(60), out->Callback());
    if (ticket != nullptr) *ticket = t;
    store_->WaitForClaims(nth_claim);
    return out;
  }

  ManualClock clock_;
  std::unique_ptr<FakeStore> store_;
  std::unique_ptr<Dispatcher> dispatcher_;
};

}  // namespace jobtape::engine::testing
