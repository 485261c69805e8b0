// Executor: the server's built-in executor. It claims jobs of the kinds the
// operator defined (KindRegistry) through the Dispatcher, runs one process per
// attempt (ProcessRunner), turns the process's output into tape events, keeps
// the lease alive while the process runs (R5), and ends the attempt with the
// outcome its exit maps to (attempt.hpp).
//
// Which jobs: the executor serves the queues its kinds name. A job in one of
// those queues whose kind is not defined fails at once, not retryable
// (`unknown_kind`): a queue served by the built-in executor holds built-in
// kinds only (remote workers use other queues). A client names a kind and a
// payload; the command always comes from the kind file.
//
// Limits (R4): `slots` attempts at most over all kinds, and a kind's
// `max_concurrent`. The store enforces queue limits and concurrency keys in
// the claim; the executor enforces its own limits by what it asks for: it
// claims at most its free slots, and leaves out a queue while any kind of
// that queue is at its limit, so no claimed job ever waits for a slot.
//
// Cancellation (R8): the executor observes the store (StoreObserver): a
// `cancel_requested` event for one of its attempts sends SIGTERM to the
// process group at once, SIGKILL after the shorter of the kind's cancel grace
// and the grace the cancel request gave (its `grace_ms`, counted from the
// event), and the attempt then ends `cancelled`. The store's grace is folded
// into the lease: once it is over the reaper ends the attempt, so the group
// is killed no later than that. A heartbeat that answers cancel_requested
// does the same (a cancel from another node), bounded by the lease the
// heartbeat granted, which never runs past the cancel's deadline.
//
// A lost lease kills the process group at once (SIGKILL) and drops its
// output; nothing more is written for that attempt. The lease is lost when a
// heartbeat, append or finish answers stale_lease, or as soon as the
// executor sees someone else end the attempt: a `final` of the job, an
// `attempt_failed` of the attempt or a `started` of a later one that it did
// not write itself (the reaper, a cancel past its grace).
//
// Output: `::progress` lines become progress events, other lines log events
// (stdout and stderr), capped per attempt by an OutputLimiter whose cap hits
// are written as one log event each (stream "jobtape"). Events of one attempt
// are appended in order, one append in flight at a time (what arrives
// meanwhile goes in the next batch), and the attempt is finished only after
// its last append: `final` is always last (R1).
//
// Lifecycle: construct, register with the store (`store.AddObserver(&e)`,
// before the store is used), Start(), ..., Stop(). Stop() stops claiming,
// asks every process to stop (SIGTERM, SIGKILL after its grace, within the
// timeout) and ends each attempt still running as failed `interrupted`
// (retryable), so nothing is stranded; it returns once every attempt is
// written to the store. Attempts of a server that crashed are recovered at the
// next start by Store::AttemptsRecover(node_id), which is why every claim
// carries `node_id`; the children themselves die with the server
// (PR_SET_PDEATHSIG, spawn.hpp).
//
// Thread-safety: every public method may be called from any thread; Stop()
// blocks and must not run on a store, runner or dispatcher thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "engine/dispatcher.hpp"
#include "engine/snapshot.hpp"
#include "exec/child_ledger.hpp"
#include "exec/kind_registry.hpp"
#include "exec/output_limiter.hpp"
#include "exec/process.hpp"
#include "store/store.hpp"

namespace jobtape::exec {

// Heartbeats every 10 s keep a 30 s lease through two lost ones.
inline constexpr Duration kDefaultExecutorLease = std::chrono::seconds(30);
inline constexpr Duration kDefaultExecutorHeartbeat = std::chrono::seconds(10);
// How often the kind directory is checked for changes (a stat per file), and
// the longest the control loop sleeps, so its snapshot shows it alive.
inline constexpr Duration kDefaultKindRefresh = std::chrono::seconds(1);
// Events per append call: bounds one store request.
inline constexpr std::size_t kMaxEventsPerAppend = 256;

struct ExecutorOptions {
  std::string name = "executor";  // snapshot name
  std::string node_id;            // stamped on every claim (recovery after a crash)
  std::string worker_id;          // shown in `started`; default "executor:<node_id>"
  int slots = 8;
  Duration lease_ttl = kDefaultExecutorLease;
  Duration heartbeat_interval = kDefaultExecutorHeartbeat;
  Duration refresh_interval = kDefaultKindRefresh;
  OutputLimits output_limits;
  engine::SnapshotRegistry* registry = nullptr;
  // When set, every process group is recorded there while it runs, so a
  // restart after a crash can kill what the attempt left (child_ledger.hpp).
  const ChildLedger* ledger = nullptr;
  // Told after each Refresh() that produced a new kind set (on the control
  // thread): for logs and metrics of malformed kind files.
  std::function<void(const KindSet&)> on_kinds_changed;
};

// Totals since construction (gauges: running, claiming).
struct ExecutorCounters {
  int64_t running = 0;        // attempts holding a slot now
  bool claiming = false;      // a claim is at the dispatcher now
  uint64_t claimed = 0;       // jobs received from claims
  uint64_t spawned = 0;       // processes started (exec succeeded)
  uint64_t succeeded = 0;     // attempts finished succeeded
  uint64_t failed = 0;        // attempts finished failed (retry or terminal)
  uint64_t cancelled = 0;     // attempts finished cancelled
  uint64_t interrupted = 0;   // attempts ended by Stop()
  uint64_t unknown_kind = 0;  // jobs failed because their kind is not defined
  uint64_t lost_leases = 0;   // attempts whose lease the store no longer honoured
  uint64_t heartbeats = 0;    // heartbeats answered
  uint64_t events = 0;        // events appended
  uint64_t store_errors = 0;  // store calls that failed for another reason
  uint64_t kind_generation = 0;
  bool stopping = false;
};

class Executor final : public store::StoreObserver {
 public:
  Executor(store::Store& store, engine::Dispatcher& dispatcher, Clock& clock, KindRegistry& kinds,
           ProcessRunner& runner, ExecutorOptions options);
  ~Executor() override;  // Stop(0)s if still running
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Starts the control thread (kind refresh, claims, heartbeats, snapshot).
  void Start();
  // See the header comment. Processes get min(kind grace, timeout) between
  // SIGTERM and SIGKILL. Idempotent.
  void Stop(Duration timeout);

  ExecutorCounters counters() const;
  // Test signal: blocks until `pred(counters())` holds or `timeout` passes.
  bool WaitFor(const std::function<bool(const ExecutorCounters&)>& pred,
               std::chrono::milliseconds timeout) const;

  // StoreObserver (writer thread): cancel requests for our attempts.
  void OnEvents(const std::vector<Event>& events) override;
  void OnWork(const std::string&, std::optional<TimePoint>) override {}

 private:
  struct Attempt;
  using AttemptPtr = std::shared_ptr<Attempt>;

  void Loop();
  void PublishSnapshot(uint64_t cycle, const std::string& error);
  // Issues a claim if slots are free and none is outstanding. Holds mu_.
  std::function<void()> MaybeClaimLocked(const KindSet& kinds);
  void OnClaimed(std::shared_ptr<const KindSet> kinds, Result<store::ClaimResult> r);
  void StartAttempt(const std::shared_ptr<const KindSet>& kinds, const KindSpec* kind,
                    store::ClaimedJob claimed);
  void FailUnclaimable(store::ClaimedJob claimed, Outcome outcome);
  void OnLine(const AttemptPtr& a, Stream stream, std::string_view line, bool cut);
  void OnExit(const AttemptPtr& a, const ExitInfo& exit);
  // Sends the next batch of pending events, or the finish once the process
  // exited and nothing is pending. Call without mu_.
  void Pump(const AttemptPtr& a);
  void Heartbeat(const AttemptPtr& a);
  void LeaseLost(const AttemptPtr& a);
  void RequestStop(const AttemptPtr& a, Duration grace);
  void Release(const AttemptPtr& a);
  void Bump(const std::function<void(ExecutorCounters&)>& f);
  // Wraps a store call's completion so Stop() waits for it: the count drops
  // (and Stop is notified) only after `f` returned, under mu_, so nothing
  // touches the Executor after Stop() could return.
  template <typename T>
  store::Done<T> Tracked(std::function<void(Result<T>)> f);

  store::Store& store_;
  engine::Dispatcher& dispatcher_;
  Clock& clock_;
  KindRegistry& kinds_;
  ProcessRunner& runner_;
  const ExecutorOptions options_;
  std::shared_ptr<engine::SnapshotCell<engine::LoopSnapshot>> cell_;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;           // state changes: wakes Loop, Stop, WaitFor
  std::map<JobId, AttemptPtr> attempts_;         // GUARDED_BY(mu_)
  std::map<std::string, int> running_per_kind_;  // GUARDED_BY(mu_)
  engine::ClaimTicket claim_ticket_ = 0;         // GUARDED_BY(mu_)
  bool claim_wanted_ = true;                     // GUARDED_BY(mu_): a reason to claim again
  bool heartbeat_answered_ = false;              // GUARDED_BY(mu_): wakes Loop to reschedule
  int calls_in_flight_ = 0;    // GUARDED_BY(mu_): store calls whose completion has not finished
  ExecutorCounters counters_;  // GUARDED_BY(mu_)
  bool started_ = false;       // GUARDED_BY(mu_)
  bool stop_ = false;          // GUARDED_BY(mu_)
  Duration stop_grace_{0};     // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace jobtape::exec
