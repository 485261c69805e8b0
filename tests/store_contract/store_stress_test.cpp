// Stress: several threads run random enqueue / claim / heartbeat / append /
// finish (success, retryable and fatal failure; single and batched) / cancel /
// reap against one store for a bounded number of operations, on a shared
// logical clock that the threads advance (leases are short, so reaps really
// happen). Then the remaining work is drained and every job's whole tape is
// checked (R1, R3: gapless seq, one final iff terminal and last, attempts
// never overlap, no event outside its attempt), and the limits the test
// observed live (R4: max_concurrent, concurrency keys) were never exceeded.
//
// JOBTAPE_STRESS_OPS (operations per thread) and JOBTAPE_STRESS_SEED override
// the defaults; sanitizer builds run fewer operations.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <shared_mutex>
#include <thread>

#include "store_factory.hpp"
#include "tape_checks.hpp"
#include "temp_dir.hpp"

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define JOBTAPE_STRESS_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define JOBTAPE_STRESS_SANITIZED 1
#endif
#endif

namespace jobtape::store::testing {
namespace {

using std::chrono::milliseconds;

constexpr int kThreads = 4;
#ifdef JOBTAPE_STRESS_SANITIZED
constexpr int kDefaultOpsPerThread = 1500;
#else
constexpr int kDefaultOpsPerThread = 6000;
#endif
constexpr Duration kLease = std::chrono::seconds(1);  // the shortest allowed: reaps happen
constexpr Duration kGrace = milliseconds(300);
constexpr int kQ0MaxConcurrent = 3;  // q0 is capped, q1 is not

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

// Keys are per queue so the test does not depend on whether a key spans queues.
struct KeyDef {
  std::string key;
  int limit;
};
const std::vector<KeyDef>& KeysFor(int queue) {
  static const std::vector<KeyDef> q0 = {{"", 1}, {"q0.solo", 1}, {"q0.duo", 2}};
  static const std::vector<KeyDef> q1 = {{"", 1}, {"q1.solo", 1}, {"q1.trio", 3}};
  return queue == 0 ? q0 : q1;
}

// Which attempts the test's threads hold right now, and the limits they imply.
// A claim is counted after the store returns it; a worker's finish is
// uncounted before it is sent; a reap is uncounted while no claim or finish
// is in flight (the gate). So the counts never exceed the store's own.
// It also remembers every attempt known to have ended (reaped, or finished
// with an OK answer): a lease call accepted for one of those is a fencing
// failure (R2), and a claim handing out one of those attempt numbers again
// breaks R3.
class LiveTracker {
 public:
  void Claimed(const ClaimedJob& c) {
    std::lock_guard lock(mu_);
    if (ended_.count({c.job.id, c.lease.attempt}) != 0) {
      Violation("job " + std::to_string(c.job.id) + " attempt " + std::to_string(c.lease.attempt) +
                " claimed again after it ended");
    }
    auto it = live_.find(c.job.id);
    if (it != live_.end()) {  // the store re-claimed an expired lease itself
      if (it->second.attempt >= c.lease.attempt) {
        Violation("job " + std::to_string(c.job.id) + " attempt " +
                  std::to_string(c.lease.attempt) + " claimed while attempt " +
                  std::to_string(it->second.attempt) + " is held");
      }
      EraseLocked(it);
    }
    Held h{c.lease.attempt, c.job.spec.queue, c.job.spec.concurrency_key,
           c.job.spec.concurrency_limit};
    live_.emplace(c.job.id, h);
    int q = ++per_queue_[h.queue];
    if (h.queue == "q0" && q > kQ0MaxConcurrent) {
      Violation("q0 has " + std::to_string(q) + " running, max_concurrent " +
                std::to_string(kQ0MaxConcurrent));
    }
    if (!h.key.empty()) {
      int k = ++per_key_[h.key];
      peak_key_ = std::max(peak_key_, k);
      if (k > h.key_limit) {
        Violation("key " + h.key + " has " + std::to_string(k) + " running, limit " +
                  std::to_string(h.key_limit));
      }
    }
    peak_q0_ = std::max(peak_q0_, per_queue_["q0"]);
  }
  void Ended(JobId id, int attempt) {
    std::lock_guard lock(mu_);
    auto it = live_.find(id);
    if (it != live_.end() && it->second.attempt == attempt) EraseLocked(it);
  }
  void Reaped(JobId id) {
    std::lock_guard lock(mu_);
    auto it = live_.find(id);
    if (it == live_.end()) return;
    ended_.insert({id, it->second.attempt});
    EraseLocked(it);
  }
  // The store answered OK to `call` with `lease`; `ends` if that ended it.
  // Called with the gate held (shared), so no reap runs in between.
  void Accepted(const Lease& lease, const char* call, bool ends) {
    std::lock_guard lock(mu_);
    std::pair<JobId, int> attempt{lease.job_id, lease.attempt};
    if (ended_.count(attempt) != 0) {
      Violation(std::string(call) + " accepted for job " + std::to_string(lease.job_id) +
                " attempt " + std::to_string(lease.attempt) + " after that attempt ended");
    }
    if (ends) ended_.insert(attempt);
  }
  std::vector<std::string> violations() {
    std::lock_guard lock(mu_);
    return violations_;
  }
  int peak_q0() {
    std::lock_guard lock(mu_);
    return peak_q0_;
  }

 private:
  struct Held {
    int attempt;
    std::string queue;
    std::string key;
    int key_limit;
  };
  void EraseLocked(std::map<JobId, Held>::iterator it) {
    --per_queue_[it->second.queue];
    if (!it->second.key.empty()) --per_key_[it->second.key];
    live_.erase(it);
  }
  void Violation(std::string v) {
    if (violations_.size() < 50) violations_.push_back(std::move(v));
  }
  std::mutex mu_;
  std::map<JobId, Held> live_;                      // GUARDED_BY(mu_)
  std::set<std::pair<JobId, int>> ended_;           // GUARDED_BY(mu_)
  std::map<std::string, int> per_queue_, per_key_;  // GUARDED_BY(mu_)
  std::vector<std::string> violations_;             // GUARDED_BY(mu_)
  int peak_q0_ = 0, peak_key_ = 0;                  // GUARDED_BY(mu_)
};

class StoreStress : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override {
    dir_ = std::make_unique<TempDir>();
    ASSERT_FALSE(dir_->path().empty());
    // Invariants, not fsync latency, are the subject here (the durability test
    // covers fsync): without per-commit fsyncs the run stays short on a busy disk.
    store_ = GetParam().MakeFast(dir_->path(), Limits{});
    ASSERT_NE(store_, nullptr);
  }
  void TearDown() override {
    store_.reset();
    dir_.reset();
  }

  // The shared logical clock: each operation moves it forward a little.
  TimePoint Tick(std::mt19937_64& rng) {
    int64_t step = std::uniform_int_distribution<int64_t>(0, 8000)(rng);
    return FromMicros(clock_us_.fetch_add(step) + step);
  }

  void Worker(int index, uint64_t seed, int ops);
  void Drain();
  void Unexpected(const std::string& what, const Status& s) {
    std::lock_guard lock(errors_mu_);
    if (errors_.size() < 50) errors_.push_back(what + ": " + s.ToString());
  }

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<Store> store_;
  std::atomic<int64_t> clock_us_{1'700'000'000'000'000};
  // Claims and finishes hold it shared; a reap holds it exclusively, so the
  // tracker learns of reaped attempts before any claim can reuse their slot.
  std::shared_mutex gate_;
  LiveTracker tracker_;
  std::mutex ids_mu_;
  std::vector<JobId> ids_;  // GUARDED_BY(ids_mu_): every job enqueued
  std::mutex errors_mu_;
  std::vector<std::string> errors_;  // GUARDED_BY(errors_mu_)
  std::atomic<int> claims_{0}, reaped_{0}, stale_{0}, cancels_{0}, abandoned_{0};
};

void StoreStress::Worker(int index, uint64_t seed, int ops) {
  std::mt19937_64 rng(seed + static_cast<uint64_t>(index) * 7919);
  auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
  std::vector<Lease> held;     // attempts this worker is working on
  std::vector<Lease> stalled;  // attempts it stopped renewing but may still touch, late
  auto drop = [](std::vector<Lease>& pool, std::size_t i) {
    pool[i] = pool.back();
    pool.pop_back();
  };
  // The lease for the next lease call: mostly a held one, sometimes a stalled
  // worker waking up (its lease may have been reaped and re-claimed meanwhile).
  auto choose = [&]() -> std::pair<std::vector<Lease>*, std::size_t> {
    std::vector<Lease>* pool = !stalled.empty() && pick(5) == 0 ? &stalled : &held;
    return {pool, static_cast<std::size_t>(pick(static_cast<int>(pool->size())))};
  };
  for (int op = 0; op < ops; ++op) {
    int roll = pick(100);
    if (roll >= 42 && roll < 88 && held.empty()) roll = 12 + pick(30);  // no lease: claim
    if (roll < 12) {                                                    // enqueue a batch
      EnqueueParams p{Tick(rng), {}};
      int n = 1 + pick(3);
      for (int i = 0; i < n; ++i) {
        int queue = pick(2);
        const KeyDef& key = KeysFor(queue)[pick(3)];
        JobSpec s;
        s.kind = "stress.work";
        s.queue = queue == 0 ? "q0" : "q1";
        s.payload = "{\"t\":" + std::to_string(index) + ",\"op\":" + std::to_string(op) + "}";
        s.max_attempts = 1 + pick(3);
        s.backoff.initial = milliseconds(50);
        s.backoff.max = milliseconds(500);
        s.backoff.jitter = 0.5;
        s.concurrency_key = key.key;
        s.concurrency_limit = key.limit;
        if (pick(5) == 0) s.run_at = p.now + milliseconds(pick(2000));
        if (pick(10) == 0) s.idempotency_key = "idem-" + std::to_string(pick(20));
        p.jobs.push_back(std::move(s));
      }
      auto r = store_->JobsEnqueue(std::move(p));
      if (!r.ok()) {
        Unexpected("enqueue", r.status());
        continue;
      }
      std::lock_guard lock(ids_mu_);
      for (const auto& j : r->jobs) {
        if (!j.duplicate) ids_.push_back(j.id);
      }
    } else if (roll < 42) {  // claim
      ClaimParams p;
      p.now = Tick(rng);
      p.worker_id = "w" + std::to_string(index);
      p.node_id = pick(2) == 0 ? "node-a" : "";
      p.queues = pick(2) == 0 ? std::vector<std::string>{"q0", "q1"}
                              : std::vector<std::string>{"q1", "q0"};
      p.max = 1 + pick(3);
      p.lease_ttl = kLease;
      std::shared_lock gate(gate_);
      auto r = store_->JobsClaim(std::move(p));
      if (!r.ok()) {
        Unexpected("claim", r.status());
        continue;
      }
      for (const auto& c : r->jobs) {
        tracker_.Claimed(c);
        held.push_back(c.lease);
        ++claims_;
      }
    } else if (roll < 56) {  // heartbeat
      auto [pool, i] = choose();
      std::shared_lock gate(gate_);
      auto r = store_->LeaseHeartbeat({Tick(rng), (*pool)[i], kLease});
      if (r.ok()) {
        tracker_.Accepted((*pool)[i], "heartbeat", false);
        continue;
      }
      if (r.status().code() != ErrorCode::kStaleLease) Unexpected("heartbeat", r.status());
      ++stale_;
      drop(*pool, i);
    } else if (roll < 70) {  // append
      auto [pool, i] = choose();
      std::vector<NewEvent> events;
      for (int n = 1 + pick(3); n > 0; --n) {
        events.push_back({pick(2) == 0 ? EventType::kProgress : EventType::kLog,
                          "{\"n\":" + std::to_string(n) + "}"});
      }
      std::shared_lock gate(gate_);
      auto r = store_->TapeAppend({Tick(rng), (*pool)[i], std::move(events)});
      if (r.ok()) {
        tracker_.Accepted((*pool)[i], "append", false);
        continue;
      }
      if (r.status().code() != ErrorCode::kStaleLease) Unexpected("append", r.status());
      ++stale_;
      drop(*pool, i);
    } else if (roll < 88) {  // finish
      auto [pool, i] = choose();
      if (pool == &held && pick(8) == 0) {  // the worker dies or hangs: the reaper must act
        ++abandoned_;
        if (pick(2) == 0) stalled.push_back(held[i]);
        drop(held, i);
        continue;
      }
      int o = pick(20);
      Outcome outcome = o < 12   ? Outcome::Succeeded("{}")
                        : o < 17 ? Outcome::Failed("flaky", "try again", true)
                        : o < 19 ? Outcome::Failed("fatal", "give up", false)
                                 : Outcome::Cancelled();
      std::shared_lock gate(gate_);
      if (pool == &held && held.size() >= 2 && pick(3) == 0) {  // a batch of up to three
        std::vector<FinishParams> items;
        std::vector<Lease> leases;
        TimePoint now = Tick(rng);
        for (int n = 1 + pick(3); n > 0 && !held.empty(); --n) {
          std::size_t k = pick(static_cast<int>(held.size()));
          tracker_.Ended(held[k].job_id, held[k].attempt);
          items.push_back({now, held[k], n == 1 ? outcome : Outcome::Succeeded()});
          leases.push_back(held[k]);
          drop(held, k);
        }
        auto r = store_->JobsFinish(std::move(items));
        if (!r.ok()) {
          Unexpected("finish many", r.status());
          continue;
        }
        for (std::size_t k = 0; k < r->size(); ++k) {
          const auto& item = (*r)[k];
          if (item.ok()) {
            tracker_.Accepted(leases[k], "batch finish", true);
            continue;
          }
          if (item.status().code() != ErrorCode::kStaleLease) {
            Unexpected("finish many item", item.status());
          }
          ++stale_;
        }
        continue;
      }
      const Lease lease = (*pool)[i];
      drop(*pool, i);
      tracker_.Ended(lease.job_id, lease.attempt);
      auto r = store_->JobFinish({Tick(rng), lease, std::move(outcome)});
      if (r.ok()) tracker_.Accepted(lease, "finish", true);
      if (!r.ok()) {
        if (r.status().code() != ErrorCode::kStaleLease) Unexpected("finish", r.status());
        ++stale_;
      }
    } else if (roll < 92) {  // cancel any job
      JobId id = 0;
      {
        std::lock_guard lock(ids_mu_);
        if (!ids_.empty()) id = ids_[pick(static_cast<int>(ids_.size()))];
      }
      if (id == 0) continue;
      CancelParams p;
      p.now = Tick(rng);
      p.id = id;
      p.grace = kGrace;
      auto r = store_->JobCancel(std::move(p));
      if (!r.ok()) Unexpected("cancel", r.status());
      ++cancels_;
    } else {  // reap
      std::unique_lock gate(gate_);
      auto r = store_->LeasesReapExpired({Tick(rng), 1000});
      if (!r.ok()) {
        Unexpected("reap", r.status());
        continue;
      }
      for (JobId id : r->job_ids)
        tracker_.Reaped(id);
      reaped_ += static_cast<int>(r->job_ids.size());
    }
  }
}

// Runs everything left to a terminal state: far-future reaps and claims,
// every claimed job finished successfully.
void StoreStress::Drain() {
  for (int round = 0; round < 20; ++round) {
    TimePoint now = FromMicros(clock_us_ += 3'600'000'000);  // an hour: past every lease
    auto reaped = store_->LeasesReapExpired({now, 100000});
    ASSERT_TRUE(reaped.ok()) << reaped.status().ToString();
    for (;;) {
      ClaimParams p;
      p.now = now;
      p.worker_id = "drain";
      p.queues = {"q0", "q1"};
      p.max = 100;
      p.lease_ttl = kLease;
      auto r = store_->JobsClaim(p);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      if (r->jobs.empty()) break;
      for (const auto& c : r->jobs) {
        auto f = store_->JobFinish({now, c.lease, Outcome::Succeeded()});
        ASSERT_TRUE(f.ok()) << f.status().ToString();
      }
    }
    bool live = false;
    for (JobState s : {JobState::kScheduled, JobState::kQueued, JobState::kRunning}) {
      ListParams lp;
      lp.state = s;
      lp.limit = 1;
      auto page = store_->JobsList(lp);
      ASSERT_TRUE(page.ok()) << page.status().ToString();
      live = live || !page->jobs.empty();
    }
    if (!live) return;
  }
  ADD_FAILURE() << "jobs still live after draining";
}

TEST_P(StoreStress, RandomOperationsKeepEveryInvariant) {
  const int ops = EnvInt("JOBTAPE_STRESS_OPS", kDefaultOpsPerThread);
  const auto seed = static_cast<uint64_t>(EnvInt("JOBTAPE_STRESS_SEED", 20240601));
  SCOPED_TRACE("JOBTAPE_STRESS_SEED=" + std::to_string(seed) +
               " JOBTAPE_STRESS_OPS=" + std::to_string(ops));

  // Create q0 with a first job, then cap it.
  EnqueueParams first{FromMicros(clock_us_.load()), {}};
  first.jobs.emplace_back();
  first.jobs[0].kind = "stress.work";
  first.jobs[0].queue = "q0";
  auto r0 = store_->JobsEnqueue(first);
  ASSERT_TRUE(r0.ok()) << r0.status().ToString();
  ids_.push_back(r0->jobs[0].id);
  QueueUpdateParams cap;
  cap.now = first.now;
  cap.name = "q0";
  cap.max_concurrent = std::optional<int>(kQ0MaxConcurrent);
  ASSERT_TRUE(store_->QueueUpdate(cap).ok());

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] { Worker(t, seed, ops); });
  for (auto& th : threads)
    th.join();
  for (const std::string& e : errors_)
    ADD_FAILURE() << "unexpected error: " << e;
  for (const std::string& v : tracker_.violations())
    ADD_FAILURE() << "limit exceeded: " << v;

  ASSERT_NO_FATAL_FAILURE(Drain());

  std::size_t jobs = 0, violations = 0;
  std::optional<JobId> cursor;
  for (;;) {
    ListParams lp;
    lp.limit = 1000;
    lp.cursor = cursor;
    auto page = store_->JobsList(lp);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    for (const Job& job : page->jobs) {
      ++jobs;
      EXPECT_TRUE(IsTerminal(job.state)) << "job " << job.id << " " << JobStateName(job.state);
      auto tape = store_->TapeRead({job.id, 0, 10000});
      ASSERT_TRUE(tape.ok()) << tape.status().ToString();
      for (const std::string& v : TapeViolations(job, tape->events)) {
        if (++violations <= 50) ADD_FAILURE() << v;
      }
    }
    if (!page->next_cursor || page->jobs.empty()) break;
    cursor = page->next_cursor;
  }
  EXPECT_EQ(violations, 0u);
  EXPECT_EQ(jobs, ids_.size()) << "acknowledged jobs vs jobs in the store";
  // The run must have exercised what it claims to test.
  EXPECT_GT(claims_.load(), 0);
  EXPECT_GT(reaped_.load(), 0) << "no lease ever expired: the clock or lease is off";
  RecordProperty("claims", claims_.load());
  RecordProperty("reaped", reaped_.load());
  RecordProperty("stale", stale_.load());
  RecordProperty("peak_q0", tracker_.peak_q0());
  std::printf(
      "stress: %zu jobs, %d claims, %d abandoned, %d reaped, %d stale lease calls, "
      "%d cancels, peak q0 running %d\n",
      jobs, claims_.load(), abandoned_.load(), reaped_.load(), stale_.load(), cancels_.load(),
      tracker_.peak_q0());
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreStress, ::testing::ValuesIn(StoreFactories()), FactoryName);

}  // namespace
}  // namespace jobtape::store::testing
