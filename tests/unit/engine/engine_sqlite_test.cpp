// The Dispatcher and the StreamHub on the real SQLite store (in a temp file):
// its group-commit writer calls OnWork/OnEvents, its claim writes `started`
// and returns next_due, its finish frees queue capacity.
#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "engine/dispatcher.hpp"
#include "engine/stream_hub.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "test_util.hpp"

namespace jobtape::engine {
namespace {

using std::chrono::seconds;
using testing::ClaimedOnly;
using testing::kSafety;
using testing::MakeCollector;

class EngineSqliteTest : public ::testing::Test {
 protected:
  // `clock` drives the dispatcher and the `now` of every store call.
  void Open(Clock& clock) {
    clock_ = &clock;
    ASSERT_FALSE(dir_.path().empty());
    auto opened = store::sqlite::Open(
        {.path = dir_.path() + "/jobtape.db", .durability = store::sqlite::Durability::kNormal});
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(*opened);
    dispatcher_ = std::make_unique<Dispatcher>(*store_, clock);
    hub_ = std::make_unique<StreamHub>(*store_);
    store_->AddObserver(dispatcher_.get());
    store_->AddObserver(hub_.get());
  }
  void SetUp() override { Open(manual_); }
  void TearDown() override {
    if (dispatcher_) dispatcher_->Stop();
    if (hub_) hub_->CloseAll(Status::Unavailable("test over"));
    store_.reset();  // before its observers
    dispatcher_.reset();
    hub_.reset();
  }

  TimePoint Now() const { return clock_->Now(); }
  static ClaimRequest Req(int max = 1) {
    ClaimRequest r;
    r.worker_id = "w";
    r.queues = {"q"};
    r.max = max;
    return r;
  }
  JobId Enqueue(std::optional<TimePoint> run_at = std::nullopt) {
    store::EnqueueParams p;
    p.now = Now();
    p.jobs.push_back(JobSpec{.kind = "k", .queue = "q", .run_at = run_at});
    auto r = store_->JobsEnqueue(p);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->jobs[0].id : 0;
  }
  bool WaitFor(const std::function<bool(const DispatcherCounters&)>& pred) {
    return dispatcher_->WaitFor(pred, kSafety);
  }
  // Claims one job, parks a second claimer, then finishes the claimed job:
  // the capacity that frees must wake the waiter, which claims `next`.
  void ExpectFinishWakesWaiterFor(JobId next) {
    auto first = dispatcher_->Claim(Req(), Duration{0});
    ASSERT_TRUE(first.ok() && first->jobs.size() == 1u);

    auto out = MakeCollector();
    dispatcher_->ClaimAsync(Req(), Now() + seconds(60), out->Callback());
    ASSERT_TRUE(WaitFor([](const auto& c) { return c.parked == 1; }));
    ASSERT_TRUE(store_->JobFinish({.now = Now(), .lease = first->jobs[0].lease}).ok());
    EXPECT_TRUE(ClaimedOnly(out->Wait(), next));
  }

  testing::TempDir dir_;
  ManualClock manual_;
  Clock* clock_ = nullptr;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::unique_ptr<StreamHub> hub_;
};

// No timer thread, a clock that never moves: the store's OnWork alone wakes it.
TEST_F(EngineSqliteTest, EnqueueWakesParkedWaiterWhichStartsTheJob) {
  auto out = MakeCollector();
  dispatcher_->ClaimAsync(Req(), Now() + seconds(60), out->Callback());
  ASSERT_TRUE(WaitFor([](const auto& c) { return c.parked == 1; }));
  JobId id = Enqueue();
  auto r = out->Wait();
  ASSERT_TRUE(r && r->ok()) << (r ? r->status().ToString() : "timeout");
  ASSERT_EQ((*r)->jobs.size(), 1u);
  EXPECT_EQ((*r)->jobs[0].job.id, id);
  EXPECT_EQ((*r)->jobs[0].job.state, JobState::kRunning);

  auto tape = store_->TapeRead({.job_id = id});
  ASSERT_TRUE(tape.ok());
  ASSERT_EQ(tape->events.size(), 2u);
  EXPECT_EQ(tape->events[1].type, EventType::kStarted);
}

TEST_F(EngineSqliteTest, DeadlineEndsTheWaitEmpty) {
  dispatcher_->Start();
  auto out = MakeCollector();
  dispatcher_->ClaimAsync(Req(), Now() + seconds(5), out->Callback());
  ASSERT_TRUE(WaitFor([](const auto& c) { return c.parked == 1; }));
  manual_.Advance(seconds(5));
  auto r = out->Wait();
  ASSERT_TRUE(r && r->ok());
  EXPECT_TRUE((*r)->jobs.empty());
  EXPECT_EQ(dispatcher_->counters().claims, 1u) << "no polling while waiting";
}

TEST_F(EngineSqliteTest, DelayedJobIsClaimedWhenDue) {
  dispatcher_->Start();
  JobId id = Enqueue(Now() + seconds(10));
  auto out = MakeCollector();
  dispatcher_->ClaimAsync(Req(), Now() + seconds(60), out->Callback());
  ASSERT_TRUE(WaitFor([](const auto& c) { return c.parked == 1; }));
  EXPECT_FALSE(out->done());
  manual_.Advance(seconds(10));
  ASSERT_TRUE(ClaimedOnly(out->Wait(), id));
}

// max_concurrent = 1: the second job waits for the first to finish; the
// finish's work signal (freed capacity) wakes the parked waiter.
TEST_F(EngineSqliteTest, FinishFreeingQueueCapacityWakesWaiter) {
  ASSERT_TRUE(store_->QueueUpdate({.now = Now(), .name = "q", .max_concurrent = 1}).ok());
  Enqueue();
  JobId second = Enqueue();
  ExpectFinishWakesWaiterFor(second);
}

// The same for a concurrency key (limit 1 by default) in an unlimited queue.
TEST_F(EngineSqliteTest, FinishFreeingAConcurrencyKeyWakesWaiter) {
  store::EnqueueParams p;
  p.now = Now();
  p.jobs.assign(2, JobSpec{.kind = "k", .queue = "q", .concurrency_key = "tenant-1"});
  auto enq = store_->JobsEnqueue(p);
  ASSERT_TRUE(enq.ok()) << enq.status().ToString();
  ExpectFinishWakesWaiterFor(enq->jobs[1].id);
}

// Without a queue limit or a concurrency key no claimer can be waiting for
// the capacity a final frees: the finish signals nothing, and a parked
// waiter stays parked instead of claiming in vain (issue 5).
TEST_F(EngineSqliteTest, FinishWithoutALimitWakesNoOne) {
  Enqueue();
  auto first = dispatcher_->Claim(Req(), Duration{0});
  ASSERT_TRUE(first.ok() && first->jobs.size() == 1u);
  auto out = MakeCollector();
  dispatcher_->ClaimAsync(Req(), Now() + seconds(60), out->Callback());
  ASSERT_TRUE(WaitFor([](const auto& c) { return c.parked == 1; }));
  const DispatcherCounters before = dispatcher_->counters();
  // The store publishes a commit's effects before it completes its requests.
  ASSERT_TRUE(store_->JobFinish({.now = Now(), .lease = first->jobs[0].lease}).ok());
  const DispatcherCounters after = dispatcher_->counters();
  EXPECT_EQ(after.work_signals, before.work_signals);
  EXPECT_EQ(after.claims, before.claims);
  EXPECT_EQ(after.parked, 1);
  EXPECT_FALSE(out->done());
}

TEST_F(EngineSqliteTest, ConcurrentWorkersRunEveryJobExactlyOnce) {
  TearDown();
  Open(SystemClock::Instance());
  dispatcher_->Start();
  constexpr int kWorkers = 8, kJobs = 300;
  std::mutex mu;
  std::condition_variable cv;
  std::multiset<JobId> finished;  // GUARDED_BY(mu)
  std::vector<std::thread> workers;
  for (int i = 0; i < kWorkers; ++i) {
    workers.emplace_back([&, i] {
      while (true) {
        auto r = dispatcher_->Claim(Req(1 + i % 2), seconds(60));
        if (!r.ok()) return;  // stopped
        for (const auto& j : r->jobs) {
          auto f = store_->JobFinish({.now = Now(), .lease = j.lease});
          EXPECT_TRUE(f.ok()) << f.status().ToString();
          std::lock_guard<std::mutex> lock(mu);
          finished.insert(j.job.id);
          cv.notify_all();
        }
      }
    });
  }
  for (int n = 0; n < kJobs; n += 10) {
    store::EnqueueParams p;
    p.now = Now();
    for (int k = 0; k < 10; ++k)
      p.jobs.push_back(JobSpec{.kind = "k", .queue = "q"});
    ASSERT_TRUE(store_->JobsEnqueue(p).ok());
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    EXPECT_TRUE(cv.wait_for(lock, kSafety, [&] { return finished.size() >= kJobs; }))
        << finished.size() << " of " << kJobs;
    EXPECT_EQ(std::set<JobId>(finished.begin(), finished.end()).size(), finished.size());
  }
  dispatcher_->Stop();
  for (auto& t : workers)
    t.join();
}

// R7 end to end: the store's writer thread appends 10,000 events while one
// watcher never reads; another watcher and the appends are unaffected, and
// the stalled watcher later gets everything from the store.
TEST_F(EngineSqliteTest, StalledWatcherHoldsUpNeitherAppendsNorOtherWatchers) {
  constexpr int kEvents = 10'000, kPerAppend = 100;
  JobId id = Enqueue();
  auto stalled = hub_->Subscribe(id, 0, 16);
  Event e;
  ASSERT_EQ(stalled->Next(e, kSafety), PopResult::kEvent);  // live from here on
  auto reader = hub_->Subscribe(id, 0, 64);
  auto read_all = std::async(std::launch::async, [&] {
    std::vector<Seq> seqs;
    Event ev;
    while (reader->Next(ev, kSafety) == PopResult::kEvent)
      seqs.push_back(ev.seq);
    return seqs;
  });

  auto claim = dispatcher_->Claim(Req(), Duration{0});
  ASSERT_TRUE(claim.ok() && claim->jobs.size() == 1u);
  const Lease lease = claim->jobs[0].lease;
  for (int n = 0; n < kEvents; n += kPerAppend) {
    store::AppendParams p{.now = Now(), .lease = lease};
    p.events.assign(kPerAppend, NewEvent{EventType::kProgress, "{\"percent\":1}"});
    auto r = store_->TapeAppend(p);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  auto fin = store_->JobFinish({.now = Now(), .lease = lease});
  ASSERT_TRUE(fin.ok());
  const Seq last = fin->last_seq;  // created, started, kEvents progress, final
  ASSERT_EQ(last, kEvents + 3);

  ASSERT_EQ(read_all.wait_for(kSafety), std::future_status::ready);
  auto seqs = read_all.get();
  ASSERT_EQ(static_cast<Seq>(seqs.size()), last);
  for (Seq i = 0; i < last; ++i)
    ASSERT_EQ(seqs[i], i + 1);
  EXPECT_TRUE(reader->end_status().ok());

  EXPECT_LE(stalled->buffered(), 16u);
  EXPECT_GE(stalled->catchups(), 1u);
  Seq want = 2;
  while (stalled->Next(e, kSafety) == PopResult::kEvent)
    ASSERT_EQ(e.seq, want++);
  EXPECT_EQ(want, last + 1);
  EXPECT_TRUE(stalled->end_status().ok());
  EXPECT_EQ(hub_->open_subscriptions(), 0);
}

// A watcher's buffer is bounded in bytes as well as in events: 40 log lines
// of 30 KiB do not sit in memory for a watcher that does not read; it
// catches up from the store, page by page within the same budget, and
// still gets every event in order.
TEST_F(EngineSqliteTest, LargeEventsAreBufferedWithinTheByteBudget) {
  JobId id = Enqueue();
  auto sub = hub_->Subscribe(id, 0, 128);
  Event e;
  ASSERT_EQ(sub->Next(e, kSafety), PopResult::kEvent);  // live from here on
  auto claim = dispatcher_->Claim(Req(), Duration{0});
  ASSERT_TRUE(claim.ok() && claim->jobs.size() == 1u);
  const Lease lease = claim->jobs[0].lease;
  const std::string line(30 * 1024, 'x');
  const size_t largest = line.size() + 64 + sizeof(Event);
  for (int i = 0; i < 40; ++i) {
    store::AppendParams p{.now = Now(), .lease = lease};
    p.events.push_back(NewEvent{EventType::kLog, "{\"line\":\"" + line + "\"}"});
    ASSERT_TRUE(store_->TapeAppend(p).ok());
  }
  ASSERT_TRUE(store_->JobFinish({.now = Now(), .lease = lease}).ok());
  EXPECT_LE(sub->buffered_bytes(), kStreamBufferBytes);
  EXPECT_LT(sub->buffered(), 40u);
  EXPECT_GE(sub->catchups(), 1u);
  Seq want = 2;
  size_t most = 0;
  while (sub->Next(e, kSafety) == PopResult::kEvent) {
    ASSERT_EQ(e.seq, want++);
    most = std::max(most, sub->buffered_bytes());
  }
  EXPECT_EQ(want, 44) << "started, 40 logs, final";
  EXPECT_LE(most, kStreamBufferBytes + largest);
  EXPECT_TRUE(sub->end_status().ok());
}

TEST_F(EngineSqliteTest, WatchAfterNOfFinishedJobGetsTheRestThenEnds) {
  JobId id = Enqueue();
  auto claim = dispatcher_->Claim(Req(), Duration{0});
  ASSERT_TRUE(claim.ok() && claim->jobs.size() == 1u);
  store::AppendParams p{.now = Now(), .lease = claim->jobs[0].lease};
  p.events.assign(5, NewEvent{EventType::kLog, "{\"line\":\"x\"}"});
  ASSERT_TRUE(store_->TapeAppend(p).ok());
  auto fin = store_->JobFinish({.now = Now(), .lease = claim->jobs[0].lease});
  ASSERT_TRUE(fin.ok());
  ASSERT_EQ(fin->last_seq, 8);

  auto sub = hub_->Subscribe(id, 3);
  Event e;
  Seq want = 4;
  while (sub->Next(e, kSafety) == PopResult::kEvent)
    EXPECT_EQ(e.seq, want++);
  EXPECT_EQ(want, 9);
  EXPECT_EQ(e.type, EventType::kFinal);
  EXPECT_TRUE(sub->end_status().ok());
}

}  // namespace
}  // namespace jobtape::engine
