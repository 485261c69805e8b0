// StreamHub and Subscription (R7) against the FakeStore test double: the
// *Now() helpers commit on the test thread, which thereby plays the store's
// writer thread calling OnEvents.
#include "engine/stream_hub.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>
#include <vector>

#include "fake_store.hpp"
#include "test_util.hpp"

namespace jobtape::engine {
namespace {

using testing::FakeStore;
using testing::kSafety;

// Pops until the end (or `max` events); a kSafety timeout is a failure.
std::vector<Event> ReadAll(Subscription& s, size_t max = SIZE_MAX) {
  std::vector<Event> out;
  Event e;
  while (out.size() < max) {
    PopResult r = s.Next(e, kSafety);
    if (r == PopResult::kEvent) {
      out.push_back(e);
    } else if (r == PopResult::kEnd) {
      break;
    } else {
      ADD_FAILURE() << "no event within the safety timeout after seq " << s.last_popped();
      break;
    }
  }
  return out;
}

// Exactly seq from, from+1, ..., to: no gap, no duplicate, in order.
void ExpectSeqs(const std::vector<Event>& events, Seq from, Seq to) {
  ASSERT_EQ(static_cast<Seq>(events.size()), to - from + 1);
  for (size_t i = 0; i < events.size(); ++i) {
    ASSERT_EQ(events[i].seq, from + static_cast<Seq>(i)) << "at index " << i;
  }
}

class StreamHubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::make_unique<FakeStore>();
    hub_ = std::make_unique<StreamHub>(*store_);
    store_->AddObserver(hub_.get());
  }
  void TearDown() override {
    store_->ReleaseReads();
    hub_->CloseAll(Status::Unavailable("test over"));
    store_.reset();  // before the hub: the store points at its observers
    hub_.reset();
  }
  JobId NewJob() { return store_->CreateJobNow("q", clock_.Now()); }
  // FakeStore runs requests in order on one thread: once a request of ours
  // completed, every completion queued before it has returned.
  void StoreBarrier() { (void)store_->TapeRead({.job_id = 1}); }
  // A job with events 1..5 gets a subscriber from 0 whose catch-up read is
  // held at `hold`; 6..8 commit (and arrive live) while it is held, then the
  // final 9. The subscriber must read 1..9, each event once.
  void ExpectCatchUpRaceDeliversEveryEventOnce(FakeStore::Hold hold) {
    JobId id = NewJob();
    store_->AppendNow(id, EventType::kProgress, 4);
    store_->HoldReads(hold);
    auto sub = hub_->Subscribe(id, 0, 64);
    store_->WaitForHeldReads(1);
    store_->AppendNow(id, EventType::kProgress, 3);
    store_->ReleaseReads();
    store_->AppendNow(id, EventType::kFinal);
    ExpectSeqs(ReadAll(*sub), 1, 9);
  }

  ManualClock clock_;
  std::unique_ptr<FakeStore> store_;
  std::unique_ptr<StreamHub> hub_;
};

TEST_F(StreamHubTest, CatchesUpThenGoesLiveInOrderWithoutGaps) {
  JobId id = NewJob();
  store_->AppendNow(id, EventType::kProgress, 9);  // seq 2..10
  auto sub = hub_->Subscribe(id, 0, 64);
  EXPECT_EQ(hub_->open_subscriptions(), 1);
  store_->AppendNow(id, EventType::kLog, 20);  // 11..30
  store_->AppendNow(id, EventType::kFinal);    // 31

  auto events = ReadAll(*sub);
  ExpectSeqs(events, 1, 31);
  EXPECT_EQ(events.back().type, EventType::kFinal);
  EXPECT_TRUE(sub->ended());
  EXPECT_TRUE(sub->end_status().ok());
  EXPECT_EQ(hub_->open_subscriptions(), 0);
}

TEST_F(StreamHubTest, SubscribeAfterNOnFinishedJobGetsTheRestThenEnds) {
  JobId id = NewJob();
  store_->AppendNow(id, EventType::kProgress, 8);
  store_->AppendNow(id, EventType::kFinal);  // seq 10
  auto sub = hub_->Subscribe(id, 4);
  auto events = ReadAll(*sub);
  ExpectSeqs(events, 5, 10);
  EXPECT_EQ(events.back().type, EventType::kFinal);
  EXPECT_TRUE(sub->end_status().ok());
}

TEST_F(StreamHubTest, SubscribeAtEndOfFinishedTapeEndsAtOnce) {
  JobId id = NewJob();
  Seq last = store_->AppendNow(id, EventType::kFinal);
  auto sub = hub_->Subscribe(id, last);
  EXPECT_TRUE(ReadAll(*sub).empty());
  EXPECT_TRUE(sub->end_status().ok());
  EXPECT_EQ(hub_->open_subscriptions(), 0);
}

TEST_F(StreamHubTest, UnknownJobEndsWithNotFound) {
  auto sub = hub_->Subscribe(12345, 0);
  EXPECT_TRUE(ReadAll(*sub).empty());
  EXPECT_EQ(sub->end_status().code(), ErrorCode::kNotFound);
}

TEST_F(StreamHubTest, AfterBeyondTheTapeIsInvalid) {
  JobId id = NewJob();
  auto sub = hub_->Subscribe(id, 10);
  EXPECT_TRUE(ReadAll(*sub).empty());
  EXPECT_EQ(sub->end_status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(sub->end_status().field(), "after");
}

// The catch-up read saw seq 1..5; 6..8 committed and arrived live before the
// read's completion. They must be read again, not lost.
TEST_F(StreamHubTest, EventsCommittedAfterTheCatchUpReadAreNotLost) {
  ExpectCatchUpRaceDeliversEveryEventOnce(FakeStore::Hold::kAfter);
  EXPECT_EQ(store_->reads(), 2);
}

// 6..8 arrived live during catch-up *and* are in the read: delivered once.
TEST_F(StreamHubTest, EventsBothLiveAndInTheCatchUpReadAreNotDuplicated) {
  ExpectCatchUpRaceDeliversEveryEventOnce(FakeStore::Hold::kBefore);
  EXPECT_EQ(store_->reads(), 1);
}

TEST_F(StreamHubTest, SlowSubscriberSwitchesToCatchUpAndMissesNothing) {
  JobId id = NewJob();
  auto sub = hub_->Subscribe(id, 0, 4);
  ExpectSeqs(ReadAll(*sub, 1), 1, 1);  // caught up and live
  const int reads_before = store_->reads();
  store_->AppendNow(id, EventType::kLog, 50);  // 2..51: overflows a buffer of 4
  EXPECT_EQ(sub->catchups(), 1u);
  EXPECT_EQ(sub->buffered(), 4u);
  auto first = ReadAll(*sub, 50);
  store_->AppendNow(id, EventType::kFinal);  // 52
  auto rest = ReadAll(*sub);
  first.insert(first.end(), rest.begin(), rest.end());
  ExpectSeqs(first, 2, 52);
  EXPECT_GT(store_->reads(), reads_before) << "the missing events came from the store";
  EXPECT_TRUE(sub->end_status().ok());
}

// R7: a subscriber that never reads holds up neither the writer nor another
// subscriber reading all 10,000 events; afterwards it still gets every event.
TEST_F(StreamHubTest, StalledSubscriberBlocksNeitherWriterNorOthers) {
  constexpr int kEvents = 10'000;
  JobId id = NewJob();
  auto stalled = hub_->Subscribe(id, 0, 16);
  ExpectSeqs(ReadAll(*stalled, 1), 1, 1);  // live from here on, and never reads again
  auto reader = hub_->Subscribe(id, 0, 64);
  auto read_all = std::async(std::launch::async, [&] { return ReadAll(*reader); });

  auto writer = std::async(std::launch::async, [&] {
    for (int i = 0; i < kEvents; ++i)
      store_->AppendNow(id, EventType::kProgress);
    store_->AppendNow(id, EventType::kFinal);
  });
  ASSERT_EQ(writer.wait_for(kSafety), std::future_status::ready) << "the writer was blocked";
  writer.get();
  ASSERT_EQ(read_all.wait_for(kSafety), std::future_status::ready);
  ExpectSeqs(read_all.get(), 1, kEvents + 2);

  EXPECT_LE(stalled->buffered(), 16u) << "the buffer is bounded";
  EXPECT_GE(stalled->catchups(), 1u);
  ExpectSeqs(ReadAll(*stalled), 2, kEvents + 2);
  EXPECT_EQ(hub_->open_subscriptions(), 0);
}

TEST_F(StreamHubTest, EveryWatcherOfAJobGetsEveryEvent) {
  JobId id = NewJob();
  std::vector<std::shared_ptr<Subscription>> subs;
  for (int i = 0; i < 20; ++i)
    subs.push_back(hub_->Subscribe(id, 0, 8 + i));
  std::vector<std::future<std::vector<Event>>> reads;
  for (auto& s : subs) {
    reads.push_back(std::async(std::launch::async, [s] { return ReadAll(*s); }));
  }
  store_->AppendNow(id, EventType::kLog, 500);
  store_->AppendNow(id, EventType::kFinal);
  for (auto& r : reads)
    ExpectSeqs(r.get(), 1, 502);
}

TEST_F(StreamHubTest, NotifyCallbackSignalsDataAndEnd) {
  JobId id = NewJob();
  std::mutex mu;
  std::condition_variable cv;
  int notified = 0;  // GUARDED_BY(mu)
  auto wait_notified = [&](int n) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, kSafety, [&] { return notified >= n; });
  };
  auto sub = hub_->Subscribe(id, 0);
  sub->SetNotify([&] {
    std::lock_guard<std::mutex> lock(mu);
    ++notified;
    cv.notify_all();
  });
  ASSERT_TRUE(wait_notified(1));  // the catch-up delivered `created`
  Event e;
  ASSERT_EQ(sub->TryPop(e), PopResult::kEvent);
  EXPECT_EQ(e.seq, 1);
  EXPECT_EQ(sub->TryPop(e), PopResult::kEmpty);

  int seen;
  {
    std::lock_guard<std::mutex> lock(mu);
    seen = notified;
  }
  store_->AppendNow(id, EventType::kProgress);
  ASSERT_TRUE(wait_notified(seen + 1));
  ASSERT_EQ(sub->TryPop(e), PopResult::kEvent);
  EXPECT_EQ(e.seq, 2);
  EXPECT_EQ(sub->TryPop(e), PopResult::kEmpty);

  {
    std::lock_guard<std::mutex> lock(mu);
    seen = notified;
  }
  store_->AppendNow(id, EventType::kFinal);
  ASSERT_TRUE(wait_notified(seen + 1));
  ASSERT_EQ(sub->TryPop(e), PopResult::kEvent);
  EXPECT_EQ(e.type, EventType::kFinal);
  EXPECT_EQ(sub->TryPop(e), PopResult::kEnd);
  sub->SetNotify(nullptr);  // the callback captures locals of this test
}

TEST_F(StreamHubTest, CloseAllEndsEveryStreamWithTheReason) {
  JobId id = NewJob();
  auto sub = hub_->Subscribe(id, 0);
  ExpectSeqs(ReadAll(*sub, 1), 1, 1);
  std::atomic<int> notified{0};
  sub->SetNotify([&] { notified.fetch_add(1); });
  hub_->CloseAll(Status::Unavailable("shutting down"));
  Event e;
  EXPECT_EQ(sub->TryPop(e), PopResult::kEnd);
  EXPECT_EQ(sub->end_status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(notified.load(), 1);
  EXPECT_EQ(sub->last_popped(), 1) << "where the client resumes";

  auto late = hub_->Subscribe(id, 0);
  EXPECT_TRUE(late->ended());
  EXPECT_EQ(late->end_status().message(), "shutting down");
  EXPECT_EQ(hub_->open_subscriptions(), 0);
  sub->SetNotify(nullptr);
}

TEST_F(StreamHubTest, DroppingASubscriptionUnsubscribes) {
  JobId id = NewJob();
  auto sub = hub_->Subscribe(id, 0);
  ExpectSeqs(ReadAll(*sub, 1), 1, 1);
  EXPECT_EQ(hub_->open_subscriptions(), 1);
  sub.reset();
  StoreBarrier();  // the read's completion may still have held a reference
  EXPECT_EQ(hub_->open_subscriptions(), 0);
  store_->AppendNow(id, EventType::kProgress, 3);  // delivered to no one, no crash
  auto again = hub_->Subscribe(id, 2);
  store_->AppendNow(id, EventType::kFinal);
  ExpectSeqs(ReadAll(*again), 3, 5);
}

}  // namespace
}  // namespace jobtape::engine
