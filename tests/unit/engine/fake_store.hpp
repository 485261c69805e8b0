// FakeStore: an in-memory TEST DOUBLE of store::Store for the engine's unit
// tests. It implements just enough (enqueue, claim, append, finish, tape read)
// with the observable behaviour the engine relies on: requests run in order on
// one "store thread", observers are told after a request "committed" and
// before its completion runs, claims return next_due. Everything else answers
// kUnavailable. It is no reference for store semantics: the SQLite store and
// tests/store_contract/ are.
//
// Test controls: claim completions and tape reads can be held and released,
// to put engine code into the races it must survive deterministically; the
// *Now() helpers commit on the calling thread (acting as the writer) and call
// the observers there.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/store.hpp"

namespace jobtape::engine::testing {

class FakeStore final : public store::Store {
 public:
  FakeStore();
  ~FakeStore() override;  // runs what is queued, then joins the store thread

  void AddObserver(store::StoreObserver* observer) override;
  void JobsEnqueueAsync(store::EnqueueParams p, store::Done<store::EnqueueResult> done) override;
  void JobsClaimAsync(store::ClaimParams p, store::Done<store::ClaimResult> done) override;
  void LeaseHeartbeatAsync(store::HeartbeatParams p,
                           store::Done<store::HeartbeatResult> done) override;
  void TapeAppendAsync(store::AppendParams p, store::Done<store::AppendResult> done) override;
  void JobFinishAsync(store::FinishParams p, store::Done<store::FinishResult> done) override;
  void JobsFinishAsync(std::vector<store::FinishParams> p,
                       store::Done<std::vector<Result<store::FinishResult>>> done) override;
  void JobCancelAsync(store::CancelParams p, store::Done<store::CancelResult> done) override;
  void JobRetryAsync(store::RetryParams p, store::Done<store::EnqueuedJob> done) override;
  void LeasesReapExpiredAsync(store::ReapParams p, store::Done<store::ReapResult> done) override;
  void AttemptsRecoverAsync(store::RecoverParams p,
                            store::Done<store::RecoverResult> done) override;
  void QueueUpdateAsync(store::QueueUpdateParams p, store::Done<store::QueueInfo> done) override;
  void JobGetAsync(JobId id, store::Done<Job> done) override;
  void JobsListAsync(store::ListParams p, store::Done<store::JobPage> done) override;
  void TapeReadAsync(store::TapeReadParams p, store::Done<store::TapePage> done) override;
  void QueuesListAsync(store::Done<std::vector<store::QueueInfo>> done) override;
  void HealthAsync(store::Done<store::StoreHealth> done) override;
  // Schedules: not supported (kUnavailable); the Scheduler's tests use SQLite.
  void ScheduleUpsertAsync(store::ScheduleUpsertParams p,
                           store::Done<store::ScheduleUpsertResult> done) override;
  void ScheduleDeleteAsync(std::string name, store::Done<store::Schedule> done) override;
  void SchedulesFireDueAsync(store::SchedulesFireDueParams p,
                             store::Done<store::SchedulesFireDueResult> done) override;
  void ScheduleGetAsync(std::string name, store::Done<store::Schedule> done) override;
  void SchedulesListAsync(store::SchedulesListParams p,
                          store::Done<store::SchedulePage> done) override;
  // Batches: not supported either (their tests use SQLite).
  void BatchCreateAsync(store::BatchCreateParams p,
                        store::Done<store::BatchCreateResult> done) override;
  void BatchCancelAsync(store::BatchCancelParams p,
                        store::Done<store::BatchCancelResult> done) override;
  void BatchGetAsync(store::BatchId id, store::Done<store::BatchInfo> done) override;
  store::StoreStats Stats() const override { return {}; }
  const Limits& limits() const override { return limits_; }

  // ---- test controls ----

  // Creates a job (a `created` event) on the calling thread; OnEvents/OnWork
  // run there too (unless !notify). A run_at after `now` makes it scheduled.
  JobId CreateJobNow(const std::string& queue, TimePoint now,
                     std::optional<TimePoint> run_at = std::nullopt, bool notify = true);
  // Appends events of `type` to job `id` on the calling thread; a kFinal ends
  // the job. Returns the new last seq. (Bypasses leases: tests of the hub.)
  Seq AppendNow(JobId id, EventType type, int count = 1);

  // While held, claims still run in order but their completions wait.
  void HoldClaimCompletions();
  void ReleaseClaimCompletions();
  // While held, tape reads wait: kBefore holds the read itself (it sees what
  // commits later), kAfter reads at once and holds only the completion.
  enum class Hold { kNone, kBefore, kAfter };
  void HoldReads(Hold how);
  void ReleaseReads();
  // Blocks until `n` tape reads / claims are held or executed (a test signal).
  void WaitForHeldReads(int n);
  void WaitForClaims(int n);
  int reads() const;
  int claims() const;
  // When set, every claim fails with this status.
  void FailClaims(std::optional<Status> status);

 private:
  struct FakeJob {
    std::string queue;
    JobState state = JobState::kQueued;
    TimePoint run_at;
    int attempt = 0;
    std::string token;
    std::vector<Event> tape;
  };
  using Task = std::function<void()>;

  void Post(Task task);
  void Loop();
  // Appends to a job's tape; requires mu_.
  Event AppendLocked(JobId id, FakeJob& job, EventType type, TimePoint at, std::string data);
  void Publish(const std::vector<Event>& events,
               const std::vector<std::pair<std::string, std::optional<TimePoint>>>& work);
  store::TapePage ReadLocked(const store::TapeReadParams& p) const;

  Limits limits_;
  std::vector<store::StoreObserver*> observers_;  // set before use

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<JobId, FakeJob> jobs_;      // GUARDED_BY(mu_)
  JobId next_id_ = 1;                  // GUARDED_BY(mu_)
  std::deque<Task> tasks_;             // GUARDED_BY(mu_)
  bool stopping_ = false;              // GUARDED_BY(mu_)
  bool hold_claims_ = false;           // GUARDED_BY(mu_)
  std::vector<Task> held_claims_;      // GUARDED_BY(mu_)
  Hold hold_reads_ = Hold::kNone;      // GUARDED_BY(mu_)
  std::vector<Task> held_reads_;       // GUARDED_BY(mu_)
  int reads_ = 0;                      // GUARDED_BY(mu_)
  int claims_ = 0;                     // GUARDED_BY(mu_)
  std::optional<Status> fail_claims_;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace jobtape::engine::testing
