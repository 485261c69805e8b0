// Dispatcher: hands claimable jobs to in-process executors and HTTP long-poll
// workers, waking waiters when work appears instead of polling (DESIGN §4:
// submit -> started in about a millisecond on an idle server).
//
// A claim request first claims from the store. If nothing is claimable it is
// *parked* on its queues until one of:
//   - the store reports work in one of its queues (StoreObserver::OnWork);
//   - a scheduled job in its queues becomes due (the `next_due` a claim
//     returned, or the `due` of an OnWork) - handled by the timer thread;
//   - its deadline passes: it completes with an empty result.
// A woken waiter claims again at once, on the thread that woke it (the store
// writer thread for OnWork), so the wake-up costs no extra thread hop.
//
// Herd control: a work signal wakes the oldest parked waiter of that queue
// only. A claim that comes back full (jobs == max) may have left work behind,
// so it passes the baton to kBatonFanout more waiters of its queues; a woken
// claim that fails wakes one so its wake-up is not lost. A claim that comes
// back short drained its queues and wakes no one.
//
// Lost wake-ups are ruled out with a signal counter: each work signal stamps
// its queue with a new sequence number; a claim remembers the number current
// when it was issued, and if any of its queues was signalled while it ran and
// it found nothing, it claims again instead of parking.
//
// Lifecycle: construct, register with the store (`store.AddObserver(&d)`, by
// the owner, before the store is used), Start(), ..., Stop(). Stop() completes
// every parked waiter with kUnavailable, waits for claims already at the store
// to return (their jobs are still delivered: a leased job must reach its
// claimer), and joins the timer thread; later requests get kUnavailable at
// once. Because the store keeps a pointer to its observers, destroy the store
// after Stop() and before the Dispatcher.
//
// Thread-safety: every public method may be called from any thread, except
// that Stop() and Claim() block and must not run on a store thread or inside a
// completion. Completions run on a store thread, the timer thread, or inline in
// ClaimAsync (invalid request, stopped dispatcher); they must be short and
// must not block.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/status.hpp"
#include "engine/snapshot.hpp"
#include "store/store.hpp"

namespace jobtape::engine {

// What a claimer asks for; the dispatcher adds `now` for each store claim.
struct ClaimRequest {
  std::string worker_id;            // shown in the `started` event
  std::string node_id;              // this node for the built-in executor, empty for remote workers
  std::vector<std::string> queues;  // served in the order given; must not be empty
  int max = 1;                      // 1..limits.max_claim (checked by the store)
  Duration lease_ttl = std::chrono::seconds(30);
};

using ClaimDone = std::function<void(Result<store::ClaimResult>)>;

// Names one ClaimAsync request, for CancelClaim. 0 never names a request.
using ClaimTicket = uint64_t;

// A claim that came back full wakes this many more waiters per queue, so
// a burst of N jobs reaches N idle waiters in O(log N) claim round trips while
// wasting at most about half of the claims on an already drained queue.
inline constexpr int kBatonFanout = 2;

// The timer thread publishes a snapshot at least this often even when no
// waiter needs it, so /health can tell a stuck dispatcher (IsStalled) from an
// idle one. It never triggers a claim: claims happen on wake-ups only.
inline constexpr Duration kDefaultSnapshotInterval = std::chrono::seconds(1);

struct DispatcherOptions {
  std::string name = "dispatcher";
  Duration snapshot_interval = kDefaultSnapshotInterval;
  // When set, the snapshot cell is registered there under `name`.
  SnapshotRegistry* registry = nullptr;
};

// Gauges and counters, for tests (waited on via WaitFor) and /metrics.
struct DispatcherCounters {
  int64_t parked = 0;         // waiters parked now
  int64_t in_flight = 0;      // claims at the store now
  uint64_t requests = 0;      // ClaimAsync calls accepted
  uint64_t claims = 0;        // store claims issued (first tries, wake-ups and re-claims)
  uint64_t claimed_jobs = 0;  // jobs handed out
  uint64_t wakeups = 0;       // parked waiters woken (work signal, due time or baton)
  uint64_t reclaims = 0;      // empty claims repeated at once because their queue was signalled
  uint64_t timeouts = 0;      // waiters completed empty at their deadline
  uint64_t completed = 0;     // completions invoked (any outcome)
  uint64_t errors = 0;        // claims the store failed
  uint64_t work_signals = 0;  // OnWork calls
  uint64_t cycles = 0;        // RunOnce cycles
  uint64_t cancelled = 0;     // CancelClaim calls that found their request pending
  int64_t queues = 0;         // queues tracked now (parked waiters, claims or a due time)
  bool stopping = false;      // Stop() has begun
};

// What one RunOnce did.
struct DispatcherCycleStats {
  int timed_out = 0;  // waiters completed at their deadline
  int woken = 0;      // waiters woken because a scheduled job became due
};

class Dispatcher final : public store::StoreObserver {
 public:
  Dispatcher(store::Store& store, Clock& clock, DispatcherOptions options = {});
  ~Dispatcher() override;  // Stop()s if still running
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  const std::string& Name() const { return options_.name; }

  // Starts the timer thread (deadlines, due times, snapshots). Without it the
  // owner must call RunOnce itself.
  void Start();
  // See the header comment. Idempotent.
  void Stop();

  // Claims up to req.max jobs, waiting until `deadline` for work. `done` runs
  // exactly once with: the claimed jobs; an empty result at the deadline
  // (next_due set if known); kInvalidArgument for empty queues (or whatever
  // the store rejects); kUnavailable once stopped; the store's error if a
  // claim failed. A deadline not after now means "try once, do not wait".
  // Returns the request's ticket for CancelClaim, or 0 if `done` already ran
  // (inline, for an invalid request or a stopped dispatcher).
  ClaimTicket ClaimAsync(ClaimRequest req, TimePoint deadline, ClaimDone done);
  // Gives up a request whose claimer went away (an HTTP worker that
  // disconnected during its long poll), so it stops holding a waiter slot and
  // cannot take jobs nobody will work on. A parked request completes at once
  // with kUnavailable "claim cancelled". A request whose claim is at the
  // store completes when the claim returns: with the jobs, if it got any
  // (they are leased, so they must reach the claimer, who should give them
  // back), otherwise with kUnavailable instead of parking again. Returns true
  // if the request was still pending; unknown or completed tickets are ignored.
  bool CancelClaim(ClaimTicket ticket);
  // Blocking form of ClaimAsync with deadline = clock.Now() + wait (saturating:
  // Duration::max() waits until work comes or Stop()).
  Result<store::ClaimResult> Claim(ClaimRequest req, Duration wait);

  // Completes waiters whose deadline is <= now, wakes waiters of queues whose
  // due time is <= now, and publishes a snapshot. The timer thread calls it.
  DispatcherCycleStats RunOnce(TimePoint now);

  // StoreObserver. Called on a store thread; never blocks (a woken waiter's
  // claim is issued with JobsClaimAsync, which only queues the request).
  void OnEvents(const std::vector<Event>& events) override;
  void OnWork(const std::string& queue, std::optional<TimePoint> due) override;

  std::shared_ptr<const LoopSnapshot> snapshot() const { return cell_->Load(); }
  DispatcherCounters counters() const;
  // Test signal: blocks until pred(counters) holds (true) or `timeout` of real
  // time passes (false). Re-evaluated whenever a counter changes.
  bool WaitFor(const std::function<bool(const DispatcherCounters&)>& pred,
               std::chrono::milliseconds timeout);

 private:
  struct Waiter;
  using WaiterPtr = std::shared_ptr<Waiter>;
  // A queue's entry lives while something refers to it: parked waiters,
  // claims at the store (whose lost-wake-up check reads last_signal), or a
  // due time. RunOnce drops the others, so memory does not grow with every
  // queue name ever claimed from.
  struct QueueState {
    uint64_t last_signal = 0;      // signal_seq_ of the latest work signal
    uint64_t last_due_signal = 0;  // signal_seq_ of the latest due time fired (RunOnce)
    TimePoint latest_due_fired;    // the latest due time fired
    std::set<uint64_t> parked;     // waiter ids, oldest first
    std::optional<TimePoint> due;  // the one entry this queue has in dues_
    int claiming = 0;              // claims at the store that name this queue
    bool Unused() const { return parked.empty() && !due && claiming == 0; }
  };
  // A completion to run once the lock is released.
  struct Completion {
    WaiterPtr waiter;
    Result<store::ClaimResult> result;
  };
  // Work gathered under the lock and acted on after it is released.
  struct Actions {
    std::vector<WaiterPtr> claims;
    std::vector<Completion> completions;
  };

  void TimerLoop();
  // Issues the queued claims, then runs the completions. Never under mu_.
  void Perform(Actions actions);
  void IssueClaim(const WaiterPtr& w);
  void OnClaimDone(const WaiterPtr& w, Result<store::ClaimResult> r);

  void BeginClaimLocked(const WaiterPtr& w);
  void ParkLocked(const WaiterPtr& w);
  void UnparkLocked(const WaiterPtr& w);
  void SignalLocked(const std::string& queue);
  void SignalDueLocked(const std::string& queue, TimePoint due);
  void KickLocked(const std::string& queue, int count, Actions& out);
  bool SignalledSinceLocked(const Waiter& w) const;
  void NoteDueLocked(const std::string& queue, TimePoint due);
  void CompleteLocked(const WaiterPtr& w, Result<store::ClaimResult> r, Actions& out);
  void PublishLocked(TimePoint now, const char* status);

  store::Store& store_;
  Clock& clock_;
  const DispatcherOptions options_;
  std::shared_ptr<SnapshotCell<LoopSnapshot>> cell_;

  mutable std::mutex mu_;
  std::condition_variable timer_cv_;  // wakes the timer thread (re-arm, stop)
  std::condition_variable state_cv_;  // counters changed (WaitFor, Stop's drain)
  bool started_ = false;              // GUARDED_BY(mu_)
  bool stopping_ = false;             // GUARDED_BY(mu_)
  bool stopped_ = false;              // GUARDED_BY(mu_)
  bool rearm_ = false;                // GUARDED_BY(mu_): an earlier timer was added
  uint64_t next_waiter_id_ = 1;       // GUARDED_BY(mu_)
  uint64_t signal_seq_ = 0;           // GUARDED_BY(mu_)
  // One entry per queue name ever signalled or waited on (queue names are
  // operator-defined and validated, so this stays small).
  std::unordered_map<std::string, QueueState> queues_;  // GUARDED_BY(mu_)
  std::unordered_map<uint64_t, WaiterPtr> parked_;      // GUARDED_BY(mu_)
  // Every accepted request not yet completed (parked or at the store), for CancelClaim.
  std::unordered_map<uint64_t, WaiterPtr> pending_;     // GUARDED_BY(mu_)
  std::set<std::pair<TimePoint, uint64_t>> deadlines_;  // GUARDED_BY(mu_): parked waiters
  std::set<std::pair<TimePoint, std::string>> dues_;    // GUARDED_BY(mu_): one per queue
  DispatcherCounters counters_;                         // GUARDED_BY(mu_)
  std::string last_error_;                              // GUARDED_BY(mu_)
  bool error_in_cycle_ = false;                         // GUARDED_BY(mu_)
  std::thread timer_;
};

}  // namespace jobtape::engine
