#include "engine/dispatcher.hpp"

#include <algorithm>
#include <future>

namespace jobtape::engine {

struct Dispatcher::Waiter {
  uint64_t id = 0;
  ClaimRequest req;
  TimePoint deadline;
  ClaimDone done;
  uint64_t issued_at_signal = 0;      // signal_seq_ when the current claim was issued
  TimePoint claim_now;                // the `now` of the current claim (its ClaimParams)
  std::optional<TimePoint> next_due;  // from the latest claim, reported at the deadline
  bool woken = false;                 // the current claim follows a wake-up
  bool cancelled = false;             // CancelClaim: never park again
};

Dispatcher::Dispatcher(store::Store& store, Clock& clock, DispatcherOptions options)
    : store_(store), clock_(clock), options_(std::move(options)) {
  cell_ = MakeLoopCell(options_.registry, options_.name, options_.snapshot_interval);
}

Dispatcher::~Dispatcher() {
  Stop();
}

void Dispatcher::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_ || stopping_) return;
  started_ = true;
  timer_ = std::thread([this] { TimerLoop(); });
}

void Dispatcher::Stop() {
  Actions actions;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    stopped_ = stopping_ = true;
    counters_.stopping = true;
    for (auto& [id, w] : parked_) {
      CompleteLocked(w, Status::Unavailable("dispatcher stopped"), actions);
    }
    parked_.clear();
    deadlines_.clear();
    dues_.clear();
    for (auto& [name, q] : queues_) {
      q.parked.clear();
      q.due.reset();
    }
    counters_.parked = 0;
    timer_cv_.notify_all();
    state_cv_.notify_all();
  }
  if (timer_.joinable()) timer_.join();
  Perform(std::move(actions));
  std::unique_lock<std::mutex> lock(mu_);
  // Claims at the store still deliver their jobs; wait for them (and for the
  // callbacks handling them) so no store thread touches *this afterwards.
  state_cv_.wait(lock, [this] { return counters_.in_flight == 0; });
  PublishLocked(clock_.Now(), kLoopStopped);
}

ClaimTicket Dispatcher::ClaimAsync(ClaimRequest req, TimePoint deadline, ClaimDone done) {
  if (req.queues.empty()) {
    done(Status::InvalidArgument("queues must not be empty", "queues"));
    return 0;
  }
  auto w = std::make_shared<Waiter>();
  w->req = std::move(req);
  w->deadline = deadline;
  bool accepted = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      accepted = true;
      w->id = next_waiter_id_++;
      w->done = std::move(done);
      ++counters_.requests;
      pending_.emplace(w->id, w);
      BeginClaimLocked(w);
    }
  }
  if (!accepted) {
    done(Status::Unavailable("dispatcher stopped"));
    return 0;
  }
  const ClaimTicket ticket = w->id;
  IssueClaim(w);
  return ticket;
}

bool Dispatcher::CancelClaim(ClaimTicket ticket) {
  Actions actions;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = pending_.find(ticket);
    if (it == pending_.end()) return false;
    WaiterPtr w = it->second;
    w->cancelled = true;
    ++counters_.cancelled;
    if (parked_.count(ticket) != 0) {
      UnparkLocked(w);
      CompleteLocked(w, Status::Unavailable("claim cancelled"), actions);
    }
    // else: at the store; OnClaimDone completes it.
    state_cv_.notify_all();
  }
  Perform(std::move(actions));
  return true;
}

Result<store::ClaimResult> Dispatcher::Claim(ClaimRequest req, Duration wait) {
  // Shared so the promise outlives a completion still returning from set_value.
  auto promise = std::make_shared<std::promise<Result<store::ClaimResult>>>();
  auto future = promise->get_future();
  const TimePoint now = clock_.Now();
  // A huge wait means "until work comes": clamp instead of overflowing.
  const TimePoint deadline = wait >= TimePoint::max() - now ? TimePoint::max() : now + wait;
  ClaimAsync(std::move(req), deadline,
             [promise](Result<store::ClaimResult> r) { promise->set_value(std::move(r)); });
  return future.get();
}

void Dispatcher::IssueClaim(const WaiterPtr& w) {
  store::ClaimParams p;
  p.now = w->claim_now;  // set by BeginClaimLocked; nothing else writes it while the claim runs
  p.worker_id = w->req.worker_id;
  p.node_id = w->req.node_id;
  p.queues = w->req.queues;
  p.max = w->req.max;
  p.lease_ttl = w->req.lease_ttl;
  store_.JobsClaimAsync(std::move(p),
                        [this, w](Result<store::ClaimResult> r) { OnClaimDone(w, std::move(r)); });
}

void Dispatcher::OnClaimDone(const WaiterPtr& w, Result<store::ClaimResult> r) {
  Actions actions;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const TimePoint now = clock_.Now();
    const bool signalled = SignalledSinceLocked(*w);
    for (const auto& q : w->req.queues) {
      auto it = queues_.find(q);
      if (it != queues_.end()) --it->second.claiming;
    }
    if (!r.ok()) {
      ++counters_.errors;
      last_error_ = r.status().ToString();
      error_in_cycle_ = true;
      // A woken waiter may have consumed the only wake-up for its queues.
      if (w->woken || signalled) {
        for (const auto& q : w->req.queues)
          KickLocked(q, 1, actions);
      }
      CompleteLocked(w, std::move(r), actions);
    } else {
      if (r->next_due && *r->next_due > w->claim_now) {
        // next_due spans all the waiter's queues; waking each of them at that
        // time over-approximates harmlessly. It is compared with the claim's
        // own `now`, not with the time it returned: a job that was not yet
        // due when the claim ran may have come due while it committed, and
        // then the timer must fire at once (NoteDueLocked with a past time),
        // not never. A next_due not after the claim's `now` was due but not
        // made claimable: it is blocked by a pause whose release signals
        // work anyway.
        for (const auto& q : w->req.queues)
          NoteDueLocked(q, *r->next_due);
      }
      w->next_due = r->next_due;
      const auto claimed = static_cast<int>(r->jobs.size());
      if (claimed > 0) {
        counters_.claimed_jobs += static_cast<uint64_t>(claimed);
        if (claimed >= w->req.max || signalled) {
          for (const auto& q : w->req.queues)
            KickLocked(q, kBatonFanout, actions);
        }
        CompleteLocked(w, std::move(r), actions);
      } else if (stopping_) {
        CompleteLocked(w, Status::Unavailable("dispatcher stopped"), actions);
      } else if (w->cancelled) {
        CompleteLocked(w, Status::Unavailable("claim cancelled"), actions);
      } else if (now >= w->deadline) {
        ++counters_.timeouts;
        if (signalled) {
          for (const auto& q : w->req.queues)
            KickLocked(q, 1, actions);
        }
        CompleteLocked(w, std::move(r), actions);
      } else if (signalled) {
        // Work arrived while this claim ran and it found nothing: the signal
        // may be for work it could not yet see. Claim again rather than park.
        ++counters_.reclaims;
        BeginClaimLocked(w);
        actions.claims.push_back(w);
      } else {
        ParkLocked(w);
      }
    }
  }
  Perform(std::move(actions));
  // Counted down only now, so Stop() cannot return while this callback still
  // runs on a store thread.
  std::lock_guard<std::mutex> lock(mu_);
  --counters_.in_flight;
  state_cv_.notify_all();
}

void Dispatcher::OnEvents(const std::vector<Event>& /*events*/) {}

void Dispatcher::OnWork(const std::string& queue, std::optional<TimePoint> due) {
  Actions actions;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++counters_.work_signals;
    if (stopping_) return;
    if (due && *due > clock_.Now()) {
      NoteDueLocked(queue, *due);
    } else {
      SignalLocked(queue);
      KickLocked(queue, 1, actions);
    }
    state_cv_.notify_all();
  }
  Perform(std::move(actions));
}

DispatcherCycleStats Dispatcher::RunOnce(TimePoint now) {
  DispatcherCycleStats stats;
  Actions actions;
  {
    std::lock_guard<std::mutex> lock(mu_);
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
      WaiterPtr w = parked_.at(deadlines_.begin()->second);
      UnparkLocked(w);
      ++counters_.timeouts;
      ++stats.timed_out;
      store::ClaimResult empty;
      empty.next_due = w->next_due;
      CompleteLocked(w, std::move(empty), actions);
    }
    while (!dues_.empty() && dues_.begin()->first <= now) {
      const auto [due, queue] = *dues_.begin();
      dues_.erase(dues_.begin());
      queues_[queue].due.reset();
      SignalDueLocked(queue, due);
      const size_t before = actions.claims.size();
      KickLocked(queue, 1, actions);
      stats.woken += static_cast<int>(actions.claims.size() - before);
    }
    std::erase_if(queues_, [](const auto& entry) { return entry.second.Unused(); });
    counters_.queues = static_cast<int64_t>(queues_.size());
    ++counters_.cycles;
    PublishLocked(now, stopping_ ? kLoopStopped : error_in_cycle_ ? kLoopError : kLoopOk);
    error_in_cycle_ = false;
    state_cv_.notify_all();
  }
  Perform(std::move(actions));
  return stats;
}

void Dispatcher::TimerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    TimePoint next = clock_.Now() + options_.snapshot_interval;
    if (!deadlines_.empty()) next = std::min(next, deadlines_.begin()->first);
    if (!dues_.empty()) next = std::min(next, dues_.begin()->first);
    rearm_ = false;
    clock_.WaitUntil(timer_cv_, lock, next, [this] { return stopping_ || rearm_; });
    if (stopping_) break;
    const TimePoint now = clock_.Now();
    if (now < next) continue;  // an earlier timer was added: recompute
    lock.unlock();
    RunOnce(now);
    lock.lock();
  }
}

void Dispatcher::Perform(Actions actions) {
  for (const auto& w : actions.claims)
    IssueClaim(w);
  for (auto& c : actions.completions) {
    ClaimDone done = std::move(c.waiter->done);
    done(std::move(c.result));
  }
}

void Dispatcher::BeginClaimLocked(const WaiterPtr& w) {
  w->issued_at_signal = signal_seq_;
  w->claim_now = clock_.Now();
  for (const auto& q : w->req.queues)
    ++queues_[q].claiming;
  ++counters_.in_flight;
  ++counters_.claims;
}

void Dispatcher::ParkLocked(const WaiterPtr& w) {
  w->woken = false;
  parked_.emplace(w->id, w);
  for (const auto& q : w->req.queues)
    queues_[q].parked.insert(w->id);
  deadlines_.emplace(w->deadline, w->id);
  ++counters_.parked;
  if (deadlines_.begin()->second == w->id) {
    rearm_ = true;
    timer_cv_.notify_one();
  }
  state_cv_.notify_all();
}

void Dispatcher::UnparkLocked(const WaiterPtr& w) {
  // find(), never operator[]: callers may hold an iterator into queues_.
  for (const auto& q : w->req.queues) {
    auto it = queues_.find(q);
    if (it != queues_.end()) it->second.parked.erase(w->id);
  }
  deadlines_.erase({w->deadline, w->id});
  parked_.erase(w->id);
  --counters_.parked;
}

void Dispatcher::SignalLocked(const std::string& queue) {
  queues_[queue].last_signal = ++signal_seq_;
}

void Dispatcher::SignalDueLocked(const std::string& queue, TimePoint due) {
  QueueState& q = queues_[queue];
  q.last_due_signal = ++signal_seq_;
  q.latest_due_fired = std::max(q.latest_due_fired, due);
}

void Dispatcher::KickLocked(const std::string& queue, int count, Actions& out) {
  for (; count > 0; --count) {
    // Found anew each time: BeginClaimLocked may add entries to queues_.
    auto it = queues_.find(queue);
    if (it == queues_.end() || it->second.parked.empty()) return;
    WaiterPtr w = parked_.at(*it->second.parked.begin());
    UnparkLocked(w);
    w->woken = true;
    ++counters_.wakeups;
    BeginClaimLocked(w);
    out.claims.push_back(std::move(w));
  }
}

bool Dispatcher::SignalledSinceLocked(const Waiter& w) const {
  for (const auto& name : w.req.queues) {
    auto it = queues_.find(name);
    if (it == queues_.end()) continue;
    const QueueState& q = it->second;
    if (q.last_signal > w.issued_at_signal) return true;
    // A due time the claim's own `now` had reached is no news to it: it saw
    // that job (claimed it, or found it taken). Claiming again for it only
    // kept waiters busy that the next due time needed parked (issue 5).
    // latest_due_fired may be of an earlier signal: then this errs towards
    // claiming again, which is safe.
    if (q.last_due_signal > w.issued_at_signal && q.latest_due_fired > w.claim_now) return true;
  }
  return false;
}

void Dispatcher::NoteDueLocked(const std::string& queue, TimePoint due) {
  QueueState& q = queues_[queue];
  if (q.due && *q.due <= due) return;
  if (q.due) dues_.erase({*q.due, queue});
  q.due = due;
  dues_.emplace(due, queue);
  if (dues_.begin()->first == due) {
    rearm_ = true;
    timer_cv_.notify_one();
  }
}

void Dispatcher::CompleteLocked(const WaiterPtr& w, Result<store::ClaimResult> r, Actions& out) {
  ++counters_.completed;
  pending_.erase(w->id);
  out.completions.push_back(Completion{w, std::move(r)});
}

void Dispatcher::PublishLocked(TimePoint now, const char* status) {
  LoopSnapshot s;
  s.name = options_.name;
  s.cycle = counters_.cycles;
  s.last_updated = now;
  s.status = status;
  s.last_error = last_error_;
  s.interval = options_.snapshot_interval;
  s.counts = {
      {"parked", counters_.parked},
      {"in_flight", counters_.in_flight},
      {"requests", static_cast<int64_t>(counters_.requests)},
      {"claims", static_cast<int64_t>(counters_.claims)},
      {"claimed_jobs", static_cast<int64_t>(counters_.claimed_jobs)},
      {"wakeups", static_cast<int64_t>(counters_.wakeups)},
      {"timeouts", static_cast<int64_t>(counters_.timeouts)},
      {"errors", static_cast<int64_t>(counters_.errors)},
      {"queues", counters_.queues},
  };
  cell_->Publish(std::move(s));
}

DispatcherCounters Dispatcher::counters() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counters_;
}

bool Dispatcher::WaitFor(const std::function<bool(const DispatcherCounters&)>& pred,
                         std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return state_cv_.wait_for(lock, timeout, [&] { return pred(counters_); });
}

}  // namespace jobtape::engine
