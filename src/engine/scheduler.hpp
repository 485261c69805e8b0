// Scheduler: the background loop that fires cron schedules.
//
// Each cycle calls Store::SchedulesFireDue(now) until a call comes back
// without `more`. The store does the work in one transaction per call: it
// enqueues each due schedule's job (through the ordinary enqueue path) and
// advances the schedule's next_fire_at together, applying the misfire policy
// to fires missed while the server was down; so a crash or restart never
// fires twice and never silently skips, and the Scheduler holds no schedule
// state of its own. It sleeps until the earliest next_fire_at the store
// reported, or one interval, whichever comes first: the interval only bounds
// how late it notices a schedule changed without Wake() (by another node).
//
// Multi-node: with a shared store every node may run a Scheduler; the store's
// transaction serialises their fires and each fire's idempotency key makes a
// double enqueue a no-op. (DESIGN §2 elects one node with an advisory lock on
// PostgreSQL; that is the PostgreSQL store's business.)
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
#include <optional>
#include <string>

#include "core/clock.hpp"
#include "engine/loop_thread.hpp"
#include "engine/snapshot.hpp"
#include "store/store.hpp"

namespace jobtape::engine {

// The longest the loop sleeps. It normally wakes at the next fire time the
// store reported; the interval bounds how late a schedule created or changed
// elsewhere (another node, without Wake()) is noticed, at one cheap indexed
// query per interval when idle. Cron's granularity is a minute, so 5 s is
// well inside it; three missed intervals (15 s) make the loop "stalled".
inline constexpr Duration kDefaultSchedulerInterval = std::chrono::seconds(5);
// Schedules per store call: bounds one transaction; the cycle loops while full.
inline constexpr int kDefaultSchedulerBatch = 100;

struct SchedulerOptions {
  std::string name = "scheduler";
  Duration interval = kDefaultSchedulerInterval;
  int batch = kDefaultSchedulerBatch;
  Duration misfire_grace = store::kDefaultMisfireGrace;
  // When set, the snapshot cell is registered there under `name`.
  SnapshotRegistry* registry = nullptr;
  // Called (on the scheduler thread) after each store call that fired,
  // skipped or stopped something (for the log).
  std::function<void(const store::SchedulesFireDueResult&)> on_fired;
};

// Totals since construction.
struct SchedulerCounters {
  uint64_t cycles = 0;
  uint64_t fired = 0;     // jobs enqueued (or found by their idempotency key)
  uint64_t skipped = 0;   // misfires dropped under `skip`
  uint64_t failed = 0;    // schedules stopped because their next fire failed
  uint64_t errors = 0;    // store calls that failed
  int64_t schedules = 0;  // unpaused schedules at the latest cycle
};

struct SchedulerCycleStats {
  int fired = 0;
  int skipped = 0;
  int failed = 0;
  bool error = false;
  std::optional<TimePoint> next_fire_at;  // earliest next fire after this cycle
  int64_t schedules = 0;
};

class Scheduler {
 public:
  Scheduler(store::Store& store, Clock& clock, SchedulerOptions options = {});
  ~Scheduler();  // Stop()s
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  const std::string& Name() const { return options_.name; }

  // Starts the timer thread, which runs a cycle at once and then at each
  // next fire time (at most one interval apart).
  void Start();
  // Joins the timer thread (a cycle in progress finishes first). Idempotent.
  void Stop();
  // Runs a cycle soon: call after creating or changing a schedule, so an
  // earlier next fire is not missed until the interval runs out.
  void Wake();

  // One cycle: fires everything due at `now`, publishes a snapshot.
  SchedulerCycleStats RunOnce(TimePoint now);

  std::shared_ptr<const LoopSnapshot> snapshot() const { return cell_->Load(); }
  SchedulerCounters counters() const { return loop_.counters(); }
  // Test signal: blocks until pred(counters) holds (true) or `timeout` passes (false).
  bool WaitFor(const std::function<bool(const SchedulerCounters&)>& pred,
               std::chrono::milliseconds timeout) {
    return loop_.WaitFor(pred, timeout);
  }

  // Test hook: while stalled, the timer thread runs no cycles (it parks
  // before the next one), so the snapshot ages and /health can show the
  // loop as stalled. RunOnce() called directly is not affected.
  void SetStalledForTest(bool stalled);

 private:
  void TimerLoop();

  store::Store& store_;
  Clock& clock_;
  const SchedulerOptions options_;
  std::shared_ptr<SnapshotCell<LoopSnapshot>> cell_;

  // The timer thread, its lock and the counters; its cv() also carries the
  // wake and stall requests.
  LoopThread<SchedulerCounters> loop_;
  bool wake_ = false;       // GUARDED_BY(loop_.mu())
  bool stalled_ = false;    // GUARDED_BY(loop_.mu())
  std::string last_error_;  // GUARDED_BY(loop_.mu())
};

}  // namespace jobtape::engine
