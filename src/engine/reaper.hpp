// Reaper: the background loop that ends attempts whose lease ran out (R5).
//
// Each cycle calls Store::LeasesReapExpired(now) until a call comes back
// short: expired leases are retried or failed, cancel requests whose grace
// ran out end cancelled, attempts past their runtime backstop are failed.
// Each of the three rules can be switched off (ReaperOptions::rules; see
// store::ReapRules): its attempts are then left running and counted as
// deferrals (store::ReapResult defines them).
// The store does all of it with compare-and-set, so a reaper on every node
// (or a reaper racing a late worker) never advances a job twice; the reaper
// itself holds no job state. Liveness is the lease alone: a job whose worker
// keeps heartbeating is never touched, however long it runs.
//
// Shape shared by the background loops (STYLE 9): Name(), RunOnce(now)
// returning stats, a snapshot (R6) per cycle, Start()/Stop() for the real
// timer thread, WaitFor() as the test signal.
//
// Thread-safety: every public method may be called from any thread; Stop()
// blocks until the timer thread has joined and must not run on it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/clock.hpp"
#include "engine/loop_thread.hpp"
#include "engine/snapshot.hpp"
#include "store/store.hpp"

namespace jobtape::engine {

// Lease expiry is detected to within this much. Leases are at least 1 s
// (kMinLeaseTtl), so a second keeps a dead worker's job from waiting much
// longer than its lease, at one cheap indexed query per second when idle.
inline constexpr Duration kDefaultReapInterval = std::chrono::seconds(1);
// Jobs per store call: bounds one transaction; the cycle loops while full.
inline constexpr int kDefaultReapBatch = 1000;

struct ReaperOptions {
  std::string name = "reaper";
  Duration interval = kDefaultReapInterval;
  int batch = kDefaultReapBatch;
  // When set, the snapshot cell is registered there under `name`.
  SnapshotRegistry* registry = nullptr;
  // Which rules act; a switched-off rule's attempts are deferred.
  store::ReapRules rules;
  // Called (on the reaper thread) after each cycle that reaped, deferred or
  // raced over anything, with the cycle's totals and per-queue counts (each
  // deferred attempt counted once per cycle).
  std::function<void(const store::ReapResult&)> on_reaped;
};

// Totals since construction.
struct ReaperCounters {
  uint64_t cycles = 0;
  uint64_t expired = 0;    // leases that ran out
  uint64_t cancelled = 0;  // cancel grace ran out
  uint64_t timed_out = 0;  // runtime backstop hit
  uint64_t deferred = 0;   // deferrals: per cycle, attempts left running as their rules are off
  uint64_t raced = 0;      // selected, but renewed/finished/reaped by someone else first
  uint64_t errors = 0;     // store calls that failed
};

struct ReaperCycleStats : store::ReapCounts {
  bool error = false;
};

class Reaper {
 public:
  Reaper(store::Store& store, Clock& clock, ReaperOptions options = {});
  ~Reaper();  // Stop()s
  Reaper(const Reaper&) = delete;
  Reaper& operator=(const Reaper&) = delete;

  const std::string& Name() const { return options_.name; }

  // Starts the timer thread, which runs a cycle at once and then every interval.
  void Start();
  // Joins the timer thread (a cycle in progress finishes first). Idempotent.
  void Stop();

  // One cycle: reaps everything due at `now`, publishes a snapshot.
  ReaperCycleStats RunOnce(TimePoint now);

  std::shared_ptr<const LoopSnapshot> snapshot() const { return cell_->Load(); }
  ReaperCounters counters() const { return loop_.counters(); }
  // Test signal: blocks until pred(counters) holds (true) or `timeout` passes (false).
  bool WaitFor(const std::function<bool(const ReaperCounters&)>& pred,
               std::chrono::milliseconds timeout) {
    return loop_.WaitFor(pred, timeout);
  }

 private:
  void TimerLoop();

  store::Store& store_;
  Clock& clock_;
  const ReaperOptions options_;
  std::shared_ptr<SnapshotCell<LoopSnapshot>> cell_;

  LoopThread<ReaperCounters> loop_;  // the timer thread, its lock and the counters
  std::string last_error_;           // GUARDED_BY(loop_.mu())
};

}  // namespace jobtape::engine
