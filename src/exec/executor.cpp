#include "exec/executor.hpp"

#include <algorithm>
#include <optional>
#include <set>

#include "core/limits.hpp"
#include "exec/attempt.hpp"
#include "exec/executor_attempt.hpp"
#include "exec/executor_events.hpp"
#include "exec/protocol.hpp"

namespace jobtape::exec {

Executor::Executor(store::Store& store, engine::Dispatcher& dispatcher, Clock& clock,
                   KindRegistry& kinds, ProcessRunner& runner, ExecutorOptions options)
    : store_(store),
      dispatcher_(dispatcher),
      clock_(clock),
      kinds_(kinds),
      runner_(runner),
      options_([&] {
        if (options.worker_id.empty()) options.worker_id = "executor:" + options.node_id;
        return std::move(options);
      }()) {
  cell_ = engine::MakeLoopCell(options_.registry, options_.name, options_.refresh_interval);
}

Executor::~Executor() {
  Stop(Duration{0});
}

void Executor::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_ || stop_) return;
  started_ = true;
  thread_ = std::thread([this] { Loop(); });
}

void Executor::Stop(Duration timeout) {
  std::vector<AttemptPtr> running;
  engine::ClaimTicket ticket = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stop_) {
      stop_ = true;
      stop_grace_ = timeout;
      counters_.stopping = true;
      ticket = claim_ticket_;
      for (auto& [id, a] : attempts_) {
        if (!a->cancel && !a->lost) a->interrupted = true;
        running.push_back(a);
      }
    }
  }
  cv_.notify_all();
  if (ticket != 0) dispatcher_.CancelClaim(ticket);
  for (const AttemptPtr& a : running) {
    RequestStop(a, std::min(a->kind->cancel_grace, timeout));
  }
  // The processes get `timeout`; their final writes a little more.
  const auto deadline = std::chrono::steady_clock::now() + timeout + std::chrono::seconds(5);
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_until(lock, deadline, [this] {
      return attempts_.empty() && !counters_.claiming && calls_in_flight_ == 0;
    });
  }
  if (thread_.joinable()) thread_.join();
  engine::PublishLoopStopped(*cell_, clock_.Now());
}

ExecutorCounters Executor::counters() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counters_;
}

bool Executor::WaitFor(const std::function<bool(const ExecutorCounters&)>& pred,
                       std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return pred(counters_); });
}

// Every notify happens under mu_: once Stop() has seen its condition and
// returned, no thread may still be about to touch cv_.
void Executor::Bump(const std::function<void(ExecutorCounters&)>& f) {
  std::lock_guard<std::mutex> lock(mu_);
  f(counters_);
  cv_.notify_all();
}

// ---- control loop ----

void Executor::Loop() {
  uint64_t cycle = 0;
  std::shared_ptr<const KindSet> kinds = kinds_.Current();
  // A set loaded before Start() was reported by whoever loaded it.
  uint64_t generation = kinds->generation;
  Bump([&](ExecutorCounters& c) { c.kind_generation = generation; });
  auto next_refresh = std::chrono::steady_clock::now();
  for (;;) {
    if (std::chrono::steady_clock::now() >= next_refresh) {
      kinds = kinds_.Refresh();
      next_refresh = std::chrono::steady_clock::now() + options_.refresh_interval;
      if (kinds->generation != generation) {
        generation = kinds->generation;
        Bump([&](ExecutorCounters& c) { c.kind_generation = generation; });
        if (options_.on_kinds_changed) options_.on_kinds_changed(*kinds);
      }
      PublishSnapshot(++cycle, kinds->dir_status.ok() ? "" : kinds->dir_status.message());
    }
    std::function<void()> claim;
    std::vector<AttemptPtr> heartbeats;
    TimePoint next_heartbeat = TimePoint::max();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) break;
      claim = MaybeClaimLocked(*kinds);
      const TimePoint now = clock_.Now();
      for (auto& [id, a] : attempts_) {
        if (a->heartbeat_in_flight || a->finish_in_flight || a->lost) continue;
        if (a->next_heartbeat <= now) {
          a->heartbeat_in_flight = true;
          heartbeats.push_back(a);
        } else {
          next_heartbeat = std::min(next_heartbeat, a->next_heartbeat);
        }
      }
    }
    if (claim) claim();
    for (const AttemptPtr& a : heartbeats)
      Heartbeat(a);

    std::unique_lock<std::mutex> lock(mu_);
    auto wake = next_refresh;
    if (next_heartbeat != TimePoint::max()) {
      auto until_heartbeat = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          next_heartbeat - clock_.Now());
      wake = std::min(wake, std::chrono::steady_clock::now() + until_heartbeat);
    }
    // Woken early by anything that may allow a claim (a slot freed, a claim
    // came back) or by Stop().
    // Also by a heartbeat's reply: the attempt's next renewal was not known
    // when `wake` was computed, and may be due before it.
    cv_.wait_until(lock, wake, [&] {
      return stop_ || heartbeat_answered_ ||
             (!counters_.claiming && counters_.running < options_.slots && !kinds->kinds.empty() &&
              claim_wanted_);
    });
    claim_wanted_ = false;
    heartbeat_answered_ = false;
  }
}

void Executor::PublishSnapshot(uint64_t cycle, const std::string& error) {
  engine::LoopSnapshot s;
  s.name = options_.name;
  s.cycle = cycle;
  s.last_updated = clock_.Now();
  s.interval = options_.refresh_interval;
  s.status = error.empty() ? engine::kLoopOk : engine::kLoopError;
  s.last_error = error;
  auto kinds = kinds_.Current();
  ExecutorCounters c = counters();
  s.counts = {{"running", c.running},
              {"slots", options_.slots},
              {"kinds", static_cast<int64_t>(kinds->kinds.size())},
              {"kind_errors", static_cast<int64_t>(kinds->errors.size())},
              {"claimed", static_cast<int64_t>(c.claimed)},
              {"succeeded", static_cast<int64_t>(c.succeeded)},
              {"failed", static_cast<int64_t>(c.failed)},
              {"cancelled", static_cast<int64_t>(c.cancelled)},
              {"lost_leases", static_cast<int64_t>(c.lost_leases)}};
  cell_->Publish(std::move(s));
}

std::function<void()> Executor::MaybeClaimLocked(const KindSet& kinds) {
  if (stop_ || counters_.claiming) return {};
  int free = options_.slots - static_cast<int>(counters_.running);
  if (free <= 0 || kinds.kinds.empty()) return {};
  // A queue is served only while every kind in it has a free slot; the claim
  // asks for no more than the tightest of them, so no kind limit is exceeded
  // whatever mix of kinds comes back.
  std::map<std::string, std::vector<const KindSpec*>> by_queue;
  for (const auto& [name, k] : kinds.kinds)
    by_queue[k.queue].push_back(&k);
  std::vector<std::string> queues;
  int max = std::min(free, static_cast<int>(kDefaultMaxClaim));
  for (const auto& [queue, members] : by_queue) {
    int room = max;
    for (const KindSpec* k : members) {
      if (!k->max_concurrent) continue;
      auto it = running_per_kind_.find(k->name);
      int used = it == running_per_kind_.end() ? 0 : it->second;
      room = std::min(room, *k->max_concurrent - used);
    }
    if (room <= 0) continue;
    max = std::min(max, room);
    queues.push_back(queue);
    if (queues.size() == kMaxClaimQueues) break;
  }
  if (queues.empty()) return {};
  counters_.claiming = true;
  engine::ClaimRequest req{options_.worker_id, options_.node_id, std::move(queues), max,
                           options_.lease_ttl};
  const TimePoint deadline = clock_.Now() + options_.refresh_interval;
  return [this, req = std::move(req), deadline, kinds = kinds_.Current()]() mutable {
    engine::ClaimTicket ticket = dispatcher_.ClaimAsync(
        std::move(req), deadline,
        [this, kinds](Result<store::ClaimResult> r) { OnClaimed(kinds, std::move(r)); });
    std::lock_guard<std::mutex> lock(mu_);
    if (counters_.claiming) claim_ticket_ = ticket;
  };
}

void Executor::OnClaimed(std::shared_ptr<const KindSet> /*asked_with*/,
                         Result<store::ClaimResult> r) {
  // The latest definitions: a kind edited since the claim was asked runs as
  // edited.
  auto kinds = kinds_.Current();
  std::vector<std::pair<store::ClaimedJob, const KindSpec*>> runnable;
  std::vector<store::ClaimedJob> unknown, refused;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!r.ok() && r.status().code() != ErrorCode::kUnavailable) ++counters_.store_errors;
    if (r.ok()) {
      counters_.claimed += r->jobs.size();
      for (store::ClaimedJob& c : r->jobs) {
        const KindSpec* kind = stop_ ? nullptr : kinds->Find(c.job.spec.kind);
        if (stop_) {
          refused.push_back(std::move(c));
        } else if (kind == nullptr) {
          ++counters_.unknown_kind;
          unknown.push_back(std::move(c));
        } else {
          // Slots are taken here, before the claim counts as done, so the
          // next claim already counts them (R4).
          ++running_per_kind_[kind->name];
          ++counters_.running;
          runnable.emplace_back(std::move(c), kind);
        }
      }
    }
  }
  for (store::ClaimedJob& c : refused) {
    FailUnclaimable(std::move(c),
                    Outcome::Failed("interrupted", "the server stopped before the attempt ran"));
  }
  for (store::ClaimedJob& c : unknown) {
    const std::string name = c.job.spec.kind;
    FailUnclaimable(
        std::move(c),
        Outcome::Failed("unknown_kind",
                        "no kind '" + name + "' is defined for the built-in executor", false));
  }
  for (auto& [c, kind] : runnable)
    StartAttempt(kinds, kind, std::move(c));
  // Last: Stop() waits for the claim to be done, and nothing may touch the
  // Executor after that.
  std::lock_guard<std::mutex> lock(mu_);
  counters_.claiming = false;
  claim_ticket_ = 0;
  // A failed claim is tried again at the next refresh, not at once: a store
  // that keeps failing must not be hammered.
  claim_wanted_ = r.ok();
  cv_.notify_all();
}

void Executor::FailUnclaimable(store::ClaimedJob claimed, Outcome outcome) {
  store_.JobFinishAsync({clock_.Now(), claimed.lease, std::move(outcome)},
                        Tracked<store::FinishResult>([this](Result<store::FinishResult> r) {
                          Bump([&](ExecutorCounters& c) {
                            if (r.ok()) {
                              ++c.failed;
                            } else if (r.status().code() == ErrorCode::kStaleLease) {
                              ++c.lost_leases;
                            } else {
                              ++c.store_errors;
                            }
                          });
                        }));
}

// ---- attempts ----

void Executor::StartAttempt(const std::shared_ptr<const KindSet>& kinds, const KindSpec* kind,
                            store::ClaimedJob claimed) {
  auto a =
      std::make_shared<Attempt>(std::move(claimed), kinds, kind, clock_, options_.output_limits);
  const Job& job = a->claimed.job;
  {
    std::lock_guard<std::mutex> lock(mu_);
    a->next_heartbeat = clock_.Now() + options_.heartbeat_interval;
    attempts_[a->id()] = a;  // its slot was taken in OnClaimed
  }
  AttemptContext ctx{job.id, a->lease().attempt, job.spec.queue, job.spec.kind};
  SpawnRequest req = MakeSpawnRequest(*kind, ctx, job.spec.payload, job.spec.timeout);
  req.on_start = [this, a](pid_t pid) {
    if (options_.ledger != nullptr) {
      (void)options_.ledger->Record(pid, a->id(), a->lease().attempt);
    }
    Bump([&](ExecutorCounters& c) {
      a->pid = pid;
      ++c.spawned;
    });
  };
  req.on_line = [this, a](Stream stream, std::string_view line, bool cut) {
    OnLine(a, stream, line, cut);
  };
  req.on_exit = [this, a](const ExitInfo& exit) { OnExit(a, exit); };
  auto child = runner_.Spawn(std::move(req));
  if (!child.ok()) {
    ExitInfo failed;
    failed.kind = ExitInfo::Kind::kSpawnFailed;
    failed.spawn_stage = "runner";
    failed.message = child.status().message();
    OnExit(a, failed);
    return;
  }
  std::optional<Duration> stop;
  {
    std::lock_guard<std::mutex> lock(mu_);
    a->child = *child;
    if (a->stop_wanted && !a->stop_sent) {
      a->stop_sent = true;
      stop = a->stop_wanted;
    }
  }
  if (stop) runner_.Terminate(*child, *stop);
}

void Executor::OnLine(const AttemptPtr& a, Stream stream, std::string_view line, bool cut) {
  OutputLine out = ParseOutputLine(stream, line);
  std::vector<NewEvent> events;
  std::optional<std::string> result;
  if (out.type == OutputLine::Type::kResult) {
    result = std::string(out.text);
  } else {
    Admission adm =
        a->limiter.Admit(out.type == OutputLine::Type::kProgress ? out.text : line, cut);
    for (const TruncationNotice& n : adm.notices)
      events.push_back(TruncationEvent(n));
    if (adm.keep) {
      events.push_back(out.type == OutputLine::Type::kProgress
                           ? ProgressEvent(out.percent, adm.text)
                           : LogEvent(stream, adm.text, adm.truncated, out.malformed_directive));
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (a->lost) return;
    if (result) a->result = std::move(*result);
    for (NewEvent& e : events)
      a->pending.push_back(std::move(e));
  }
  Pump(a);
}

void Executor::OnExit(const AttemptPtr& a, const ExitInfo& exit) {
  // The runner killed the group when the leader exited: nothing left to record.
  if (options_.ledger != nullptr && exit.pid > 0) options_.ledger->Remove(exit.pid);
  std::vector<TruncationNotice> notices = a->limiter.Finish();
  {
    std::lock_guard<std::mutex> lock(mu_);
    a->exited = true;
    for (const TruncationNotice& n : notices)
      a->pending.push_back(TruncationEvent(n));
    if (a->cancel) {
      a->outcome = Outcome::Cancelled();
    } else if (a->interrupted) {
      a->outcome = Outcome::Failed("interrupted", "the server stopped during the attempt");
    } else {
      a->outcome = AttemptOutcome(*a->kind, exit, std::move(a->result));
    }
  }
  Pump(a);
}

void Executor::Pump(const AttemptPtr& a) {
  std::vector<NewEvent> batch;
  std::optional<Outcome> finish;
  bool release = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (a->released || a->append_in_flight || a->finish_in_flight) return;
    if (a->lost) {
      a->pending.clear();
      release = a->exited;
    } else if (!a->pending.empty()) {
      std::size_t n = std::min(a->pending.size(), kMaxEventsPerAppend);
      batch.assign(std::make_move_iterator(a->pending.begin()),
                   std::make_move_iterator(a->pending.begin() + static_cast<std::ptrdiff_t>(n)));
      a->pending.erase(a->pending.begin(), a->pending.begin() + static_cast<std::ptrdiff_t>(n));
      a->append_in_flight = true;
    } else if (a->exited && a->outcome) {
      finish = std::move(*a->outcome);
      a->outcome.reset();
      a->finish_in_flight = true;
    }
  }
  if (release) {
    Release(a);
    return;
  }
  if (!batch.empty()) {
    const std::size_t n = batch.size();
    store_.TapeAppendAsync(
        {clock_.Now(), a->lease(), std::move(batch)},
        Tracked<store::AppendResult>([this, a, n](Result<store::AppendResult> r) {
          {
            std::lock_guard<std::mutex> lock(mu_);
            a->append_in_flight = false;
            if (r.ok()) {
              counters_.events += n;
            } else if (r.status().code() != ErrorCode::kStaleLease) {
              // Dropped (e.g. an event over the size limit); the
              // attempt goes on.
              ++counters_.store_errors;
            }
          }
          if (!r.ok() && r.status().code() == ErrorCode::kStaleLease) {
            LeaseLost(a);
          } else {
            Pump(a);
          }
        }));
    return;
  }
  if (finish) {
    const Outcome::Kind kind = finish->kind;
    store_.JobFinishAsync(
        {clock_.Now(), a->lease(), std::move(*finish)},
        Tracked<store::FinishResult>([this, a, kind](Result<store::FinishResult> r) {
          {
            std::lock_guard<std::mutex> lock(mu_);
            a->finish_in_flight = false;
            if (r.ok()) {
              if (a->interrupted && !a->cancel) ++counters_.interrupted;
              if (r->state == JobState::kCancelled) {
                ++counters_.cancelled;
              } else if (kind == Outcome::Kind::kSucceeded && r->state == JobState::kSucceeded) {
                ++counters_.succeeded;
              } else {
                ++counters_.failed;
              }
            } else if (r.status().code() == ErrorCode::kStaleLease) {
              a->lost = true;
              ++counters_.lost_leases;
            } else {
              ++counters_.store_errors;  // the lease runs out; the reaper retries the job
            }
          }
          Release(a);
        }));
  }
}

void Executor::Release(const AttemptPtr& a) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (a->released) return;
    a->released = true;
    // The job may be ours again by now, as a later attempt.
    auto it = attempts_.find(a->id());
    if (it != attempts_.end() && it->second == a) attempts_.erase(it);
    if (--running_per_kind_[a->kind->name] == 0) running_per_kind_.erase(a->kind->name);
    --counters_.running;
    claim_wanted_ = true;
    cv_.notify_all();
  }
}

}  // namespace jobtape::exec
