// The built-in executor's side of R5 and R8: lease renewals, cancel
// requests (SIGTERM, SIGKILL after the shorter grace) and lost leases (the
// group killed at once, its output dropped). See executor.hpp.
#include <algorithm>

#include "exec/executor.hpp"
#include "exec/executor_attempt.hpp"
#include "exec/executor_events.hpp"

namespace jobtape::exec {

void Executor::Heartbeat(const AttemptPtr& a) {
  const TimePoint sent = clock_.Now();
  store_.LeaseHeartbeatAsync(
      {sent, a->lease(), options_.lease_ttl},
      Tracked<store::HeartbeatResult>([this, a, sent](Result<store::HeartbeatResult> r) {
        bool cancel = false;
        Duration left{0};
        {
          std::lock_guard<std::mutex> lock(mu_);
          a->heartbeat_in_flight = false;
          const TimePoint now = clock_.Now();
          // The lease counts from `sent`, so the next renewal does too: a
          // slow store reply must not push it towards the lease's end.
          a->next_heartbeat = sent + options_.heartbeat_interval;
          heartbeat_answered_ = true;
          if (r.ok()) {
            ++counters_.heartbeats;
            if (r->cancel_requested && !a->cancel && !a->lost) cancel = a->cancel = true;
            // The store never extends a cancelled attempt's lease past its
            // cancel deadline: the group must be gone by then.
            left = r->expires_at - now;
          } else if (r.status().code() != ErrorCode::kStaleLease) {
            ++counters_.store_errors;  // tried again at the next interval
          }
        }
        cv_.notify_all();
        if (!r.ok() && r.status().code() == ErrorCode::kStaleLease) {
          LeaseLost(a);
        } else if (cancel) {
          RequestStop(a, std::min(a->kind->cancel_grace, left));
        }
      }));
}

void Executor::LeaseLost(const AttemptPtr& a) {
  ChildId child = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!a->lost) {
      a->lost = true;
      a->pending.clear();
      ++counters_.lost_leases;
      child = a->child;
      if (child == 0) a->stop_wanted = Duration{0};
    }
  }
  if (child != 0) runner_.Kill(child);
  // Also when already lost: an append that was in flight then ends here, and
  // only Pump releases the slot once the process is gone.
  Pump(a);
}

void Executor::RequestStop(const AttemptPtr& a, Duration grace) {
  grace = std::max(grace, Duration{0});
  ChildId child = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (a->exited) return;
    // A stop asked again with a shorter grace (a cancel during Stop(), a
    // cancel with a short server grace) shortens it; a longer one changes
    // nothing.
    if (a->stop_wanted && *a->stop_wanted <= grace) return;
    a->stop_wanted = grace;
    if (a->child == 0) return;  // StartAttempt sends it
    a->stop_sent = true;
    child = a->child;
  }
  runner_.Terminate(child, grace);
}

void Executor::OnEvents(const std::vector<Event>& events) {
  std::vector<std::pair<AttemptPtr, Duration>> cancelled;
  std::vector<AttemptPtr> ended;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const TimePoint now = clock_.Now();
    for (const Event& e : events) {
      if (e.type != EventType::kCancelRequested && e.type != EventType::kFinal &&
          e.type != EventType::kAttemptFailed && e.type != EventType::kStarted) {
        continue;
      }
      auto it = attempts_.find(e.job_id);
      if (it == attempts_.end()) continue;
      const AttemptPtr& a = it->second;
      const int attempt = a->lease().attempt;
      if (a->lost) continue;
      if (e.type == EventType::kCancelRequested) {
        if (e.attempt != attempt || a->cancel) continue;
        a->cancel = true;
        // The kind's grace, but never past the deadline the cancel set: then
        // the reaper ends the attempt, and the group must be gone by then.
        Duration grace = a->kind->cancel_grace;
        if (auto server = CancelRequestGrace(e)) grace = std::min(grace, e.at + *server - now);
        cancelled.emplace_back(a, grace);
        continue;
      }
      // Someone else ended our attempt (the reaper past a cancel's grace or
      // the lease, a cancel) or the job went on without it: the lease is
      // gone. Our own finish writes these too; its reply decides then.
      const bool gone = e.type == EventType::kFinal     ? true
                        : e.type == EventType::kStarted ? e.attempt > attempt
                                                        : e.attempt == attempt;
      if (gone && !a->finish_in_flight) ended.push_back(a);
    }
  }
  for (const AttemptPtr& a : ended)
    LeaseLost(a);
  for (auto& [a, grace] : cancelled)
    RequestStop(a, grace);
}

}  // namespace jobtape::exec
