// Contract: reads. JobGet and TapeRead of an unknown job are kNotFound;
// JobsList filters by queue, state and kind and pages newest first with a
// cursor (no duplicates, nothing skipped); TapeRead honours after/limit;
// QueuesList counts jobs per state; Health reports the schema; observers see
// committed events in seq order.
#include <condition_variable>
#include <mutex>
#include <set>

#include "contract_fixture.hpp"

namespace jobtape::store::testing {
namespace {

using ET = EventType;

TEST_P(StoreContract, GetUnknownJobIsNotFound) {
  EXPECT_CODE(store().JobGet(987654321), ErrorCode::kNotFound);
  EXPECT_CODE(store().TapeRead({987654321, 0, 100}), ErrorCode::kNotFound);
}

TEST_P(StoreContract, ListIsNewestFirst) {
  std::vector<JobId> ids = EnqueueBatch(std::vector<JobSpec>(4, Spec()));
  JobId later = Enqueue();
  auto page = store().JobsList({});
  ASSERT_OK(page);
  ASSERT_EQ(page->jobs.size(), 5u);
  EXPECT_EQ(page->jobs[0].id, later);
  for (std::size_t i = 1; i < page->jobs.size(); ++i) {
    EXPECT_GT(page->jobs[i - 1].id, page->jobs[i].id);
  }
  EXPECT_FALSE(page->next_cursor.has_value());
}

TEST_P(StoreContract, ListFiltersByQueueStateAndKind) {
  JobSpec a = Spec("qa"), b = Spec("qb"), c = Spec("qa");
  c.kind = "other.kind";
  JobId ida = Enqueue(a);
  JobId idb = Enqueue(b);
  JobId idc = Enqueue(c);
  ClaimedJob running = ClaimOne("qb");
  ASSERT_EQ(running.job.id, idb);

  auto ids = [&](ListParams p) {
    std::set<JobId> out;
    for (const Job& j : ListAll(p))
      out.insert(j.id);
    return out;
  };
  ListParams by_queue;
  by_queue.queue = "qa";
  EXPECT_EQ(ids(by_queue), (std::set<JobId>{ida, idc}));
  ListParams by_state;
  by_state.state = JobState::kRunning;
  EXPECT_EQ(ids(by_state), (std::set<JobId>{idb}));
  ListParams by_kind;
  by_kind.kind = "other.kind";
  EXPECT_EQ(ids(by_kind), (std::set<JobId>{idc}));
  ListParams combined;
  combined.queue = "qa";
  combined.state = JobState::kQueued;
  combined.kind = "test.work";
  EXPECT_EQ(ids(combined), (std::set<JobId>{ida}));
  ListParams nothing;
  nothing.queue = "nope";
  EXPECT_TRUE(ids(nothing).empty());
}

TEST_P(StoreContract, ListPagesWithoutDuplicatesOrGaps) {
  std::vector<JobId> all;
  for (int i = 0; i < 3; ++i) {
    for (JobId id : EnqueueBatch(std::vector<JobSpec>(9, Spec())))
      all.push_back(id);
  }
  ListParams p;
  p.limit = 7;
  std::vector<JobId> seen;
  std::vector<std::size_t> sizes;
  for (int page = 0; page < 10; ++page) {
    auto r = store().JobsList(p);
    ASSERT_OK(r);
    sizes.push_back(r->jobs.size());
    for (const Job& j : r->jobs)
      seen.push_back(j.id);
    if (!r->next_cursor) break;
    EXPECT_EQ(*r->next_cursor, r->jobs.back().id);
    p.cursor = r->next_cursor;
  }
  EXPECT_EQ(sizes.front(), 7u);
  ASSERT_EQ(seen.size(), all.size());
  for (std::size_t i = 1; i < seen.size(); ++i)
    EXPECT_GT(seen[i - 1], seen[i]);
  EXPECT_EQ(std::set<JobId>(seen.begin(), seen.end()), std::set<JobId>(all.begin(), all.end()));
}

TEST_P(StoreContract, TapeReadHonoursAfterAndLimit) {
  JobId id = Enqueue();
  ClaimedJob c = ClaimOne();
  for (int i = 0; i < 8; ++i)
    ASSERT_OK(AppendProgress(c.lease, i));  // seq 3..10

  auto mid = store().TapeRead({id, 3, 4});
  ASSERT_OK(mid);
  ASSERT_EQ(mid->events.size(), 4u);
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(mid->events[i].seq, 4 + i);
  EXPECT_EQ(mid->last_seq, 10);
  EXPECT_EQ(mid->state, JobState::kRunning);

  auto tail = store().TapeRead({id, 10, 100});
  ASSERT_OK(tail);
  EXPECT_TRUE(tail->events.empty());
  EXPECT_EQ(tail->last_seq, 10);

  auto head = store().TapeRead({id, 0, 1});
  ASSERT_OK(head);
  ASSERT_EQ(head->events.size(), 1u);
  EXPECT_EQ(head->events[0].type, ET::kCreated);
  EXPECT_EQ(head->events[0].job_id, id);
}

// Pages are bounded in bytes as well as in items (kMaxReadPageBytes): large
// events and payloads end a page early, and reading on from the last seq /
// the cursor gets the rest, each item once.
TEST_P(StoreContract, LargeItemsEndAPageEarlyAndNothingIsLost) {
  JobId id = Enqueue();
  ClaimedJob c = ClaimOne();
  // The contract store's limits: 1 KiB events, pages of 16 KiB.
  const std::string line(900, 'y');
  const int kEvents = 100;  // 90 KB of event data
  for (int i = 0; i < kEvents; i += 10) {
    ASSERT_OK(Append(c.lease, std::vector<NewEvent>(
                                  10, NewEvent{EventType::kLog, "{\"line\":\"" + line + "\"}"})));
  }
  auto first = store().TapeRead({id, 0, 10'000});
  ASSERT_OK(first);
  EXPECT_LT(first->events.size(), static_cast<std::size_t>(kEvents + 2));
  std::size_t bytes = 0;
  for (const Event& e : first->events)
    bytes += e.data.size();
  EXPECT_LT(bytes, 16 * 1024 + line.size() + 100);
  Seq seq = 0;
  for (Seq after = 0;;) {
    auto page = store().TapeRead({id, after, 10'000});
    ASSERT_OK(page);
    if (page->events.empty()) break;
    for (const Event& e : page->events)
      ASSERT_EQ(e.seq, ++seq);
    after = page->events.back().seq;
  }
  EXPECT_EQ(seq, kEvents + 2);  // created, started, the logs

  JobSpec big = Spec("bulky");
  big.payload = "\"" + std::string(3000, 'p') + "\"";
  for (int i = 0; i < 2; ++i)
    EnqueueBatch(std::vector<JobSpec>(20, big));  // 120 KB of payloads
  ListParams lp;
  lp.queue = "bulky";
  lp.limit = 1000;
  auto page = store().JobsList(lp);
  ASSERT_OK(page);
  EXPECT_LT(page->jobs.size(), 40u);
  ASSERT_TRUE(page->next_cursor.has_value());
  EXPECT_EQ(ListAll(lp).size(), 40u);
}

TEST_P(StoreContract, QueuesListCountsJobsPerState) {
  EnqueueBatch(std::vector<JobSpec>(3, Spec("qa")));
  JobSpec later = Spec("qa");
  later.run_at = now_ + std::chrono::hours(1);
  Enqueue(later);
  Enqueue(Spec("qb"));
  ClaimedJob c = ClaimOne("qa");
  ASSERT_OK(Finish(ClaimOne("qa").lease, Outcome::Succeeded()));
  (void)c;

  auto queues = store().QueuesList();
  ASSERT_OK(queues);
  const QueueInfo* qa = nullptr;
  const QueueInfo* qb = nullptr;
  for (const QueueInfo& q : *queues) {
    if (q.name == "qa") qa = &q;
    if (q.name == "qb") qb = &q;
  }
  ASSERT_NE(qa, nullptr);
  ASSERT_NE(qb, nullptr);
  auto count = [](const QueueInfo* q, JobState s) { return q->counts[static_cast<int>(s)]; };
  EXPECT_EQ(count(qa, JobState::kScheduled), 1);
  EXPECT_EQ(count(qa, JobState::kQueued), 1);
  EXPECT_EQ(count(qa, JobState::kRunning), 1);
  EXPECT_EQ(count(qa, JobState::kSucceeded), 1);
  EXPECT_EQ(count(qa, JobState::kFailed), 0);
  EXPECT_EQ(count(qb, JobState::kQueued), 1);
  EXPECT_FALSE(qa->paused);
  EXPECT_FALSE(qa->max_concurrent.has_value());
}

TEST_P(StoreContract, HealthReportsCurrentSchema) {
  auto h = store().Health();
  ASSERT_OK(h);
  EXPECT_GT(h->schema_version, 0);
  EXPECT_EQ(h->schema_version, h->expected_schema_version);
  EXPECT_EQ(h->backend, GetParam().name);
}

// Collects what the store announces; tests wait on its condition variable.
class RecordingObserver final : public StoreObserver {
 public:
  void OnEvents(const std::vector<Event>& events) override {
    std::lock_guard lock(mu_);
    for (const Event& e : events)
      events_.push_back(e);
    cv_.notify_all();
  }
  void OnWork(const std::string& queue, std::optional<TimePoint>) override {
    std::lock_guard lock(mu_);
    work_.insert(queue);
    cv_.notify_all();
  }
  // Waits (bounded, as a failure guard only) until `pred` holds.
  template <typename Pred>
  bool WaitFor(Pred pred) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(30), [&] { return pred(); });
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Event> events_;
  std::set<std::string> work_;
};

TEST_P(StoreContract, ObserverSeesCommittedEventsInSeqOrder) {
  RecordingObserver observer;
  store().AddObserver(&observer);
  struct CloseFirst {  // the observer must outlive the store, even on early return
    std::unique_ptr<Store>& store;
    ~CloseFirst() { store.reset(); }
  } close_first{store_};
  JobId id = Enqueue(Spec("observed"));
  ClaimedJob c = ClaimOne("observed");
  ASSERT_OK(AppendProgress(c.lease, 5));
  ASSERT_OK(Finish(c.lease, Outcome::Succeeded()));
  ASSERT_TRUE(observer.WaitFor([&] { return observer.events_.size() >= 4; }))
      << "not every event was announced";
  std::lock_guard lock(observer.mu_);
  std::vector<Seq> seqs;
  for (const Event& e : observer.events_) {
    EXPECT_EQ(e.job_id, id);
    seqs.push_back(e.seq);
  }
  EXPECT_EQ(seqs, (std::vector<Seq>{1, 2, 3, 4}));
  EXPECT_EQ(observer.work_.count("observed"), 1u);
}

}  // namespace
}  // namespace jobtape::store::testing
