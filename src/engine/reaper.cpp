#include "engine/reaper.hpp"

#include <algorithm>
#include <map>

namespace jobtape::engine {

Reaper::Reaper(store::Store& store, Clock& clock, ReaperOptions options)
    : store_(store), clock_(clock), options_(std::move(options)) {
  cell_ = MakeLoopCell(options_.registry, options_.name, options_.interval);
}

Reaper::~Reaper() {
  Stop();
}

void Reaper::Start() {
  loop_.Start([this] { TimerLoop(); });
}

void Reaper::Stop() {
  loop_.Stop();
}

ReaperCycleStats Reaper::RunOnce(TimePoint now) {
  ReaperCycleStats stats;
  store::ReapResult cycle;
  std::string error;
  const int batch = std::max(1, options_.batch);
  for (bool first = true;; first = false) {
    auto r = store_.LeasesReapExpired({.now = now, .limit = batch, .rules = options_.rules});
    if (!r.ok()) {
      stats.error = true;
      error = r.status().ToString();
      break;
    }
    // Every call of a cycle sees the same deferred attempts (same `now`,
    // same rules; they are never selected): count them once.
    if (!first) {
      r->deferred = 0;
      for (auto& [queue, counts] : r->queues)
        counts.deferred = 0;
    }
    cycle += *r;
    for (const auto& [queue, counts] : r->queues)
      cycle.queues[queue] += counts;
    cycle.job_ids.insert(cycle.job_ids.end(), r->job_ids.begin(), r->job_ids.end());
    // Deferred attempts are not selected, so a full batch means more may wait.
    if (r->reaped() + r->raced < batch) break;
  }
  static_cast<store::ReapCounts&>(stats) = cycle;
  if (options_.on_reaped && (cycle.reaped() > 0 || cycle.deferred > 0 || cycle.raced > 0)) {
    std::erase_if(cycle.queues, [](const auto& q) { return q.second == store::ReapCounts{}; });
    options_.on_reaped(cycle);
  }

  std::lock_guard<std::mutex> lock(loop_.mu());
  ReaperCounters& totals = loop_.counters_locked();
  ++totals.cycles;
  totals.expired += static_cast<uint64_t>(stats.expired);
  totals.cancelled += static_cast<uint64_t>(stats.cancelled);
  totals.timed_out += static_cast<uint64_t>(stats.timed_out);
  totals.deferred += static_cast<uint64_t>(stats.deferred);
  totals.raced += static_cast<uint64_t>(stats.raced);
  if (stats.error) {
    ++totals.errors;
    last_error_ = error;
  }
  LoopSnapshot s;
  s.name = options_.name;
  s.cycle = totals.cycles;
  s.last_updated = now;
  s.status = stats.error ? kLoopError : kLoopOk;
  s.last_error = last_error_;
  s.interval = options_.interval;
  s.counts = {
      {"expired", static_cast<int64_t>(totals.expired)},
      {"cancelled", static_cast<int64_t>(totals.cancelled)},
      {"timed_out", static_cast<int64_t>(totals.timed_out)},
      {"deferred", static_cast<int64_t>(totals.deferred)},
      {"raced", static_cast<int64_t>(totals.raced)},
      {"errors", static_cast<int64_t>(totals.errors)},
  };
  cell_->Publish(std::move(s));
  loop_.cv().notify_all();
  return stats;
}

void Reaper::TimerLoop() {
  std::unique_lock<std::mutex> lock(loop_.mu());
  while (!loop_.stopping()) {
    // The next cycle is due one interval after this one began (fixed rate).
    const TimePoint started = clock_.Now();
    lock.unlock();
    RunOnce(started);
    lock.lock();
    clock_.WaitUntil(loop_.cv(), lock, started + options_.interval,
                     [this] { return loop_.stopping(); });
  }
  PublishLoopStopped(*cell_, clock_.Now());
}

}  // namespace jobtape::engine
