#include "engine/scheduler.hpp"

#include <algorithm>

namespace jobtape::engine {

Scheduler::Scheduler(store::Store& store, Clock& clock, SchedulerOptions options)
    : store_(store), clock_(clock), options_(std::move(options)) {
  cell_ = MakeLoopCell(options_.registry, options_.name, options_.interval);
}

Scheduler::~Scheduler() {
  Stop();
}

void Scheduler::Start() {
  loop_.Start([this] { TimerLoop(); });
}

void Scheduler::Stop() {
  loop_.Stop();
}

void Scheduler::Wake() {
  std::lock_guard<std::mutex> lock(loop_.mu());
  wake_ = true;
  loop_.cv().notify_all();
}

void Scheduler::SetStalledForTest(bool stalled) {
  std::lock_guard<std::mutex> lock(loop_.mu());
  stalled_ = stalled;
  loop_.cv().notify_all();
}

SchedulerCycleStats Scheduler::RunOnce(TimePoint now) {
  SchedulerCycleStats stats;
  std::string error;
  const int batch = std::max(1, options_.batch);
  while (true) {
    auto r = store_.SchedulesFireDue(
        {.now = now, .limit = batch, .misfire_grace = options_.misfire_grace});
    if (!r.ok()) {
      stats.error = true;
      error = r.status().ToString();
      break;
    }
    stats.fired += static_cast<int>(r->fired.size());
    stats.skipped += r->skipped;
    stats.failed += static_cast<int>(r->failed.size());
    stats.next_fire_at = r->next_fire_at;
    stats.schedules = r->active;
    if (!r->failed.empty()) {
      error =
          "schedules stopped (next fire failed): " + r->failed.front() +
          (r->failed.size() > 1 ? " and " + std::to_string(r->failed.size() - 1) + " more" : "");
    }
    const bool news = !r->fired.empty() || r->skipped > 0 || !r->failed.empty();
    if (news && options_.on_fired) options_.on_fired(*r);
    if (!r->more) break;
  }

  std::lock_guard<std::mutex> lock(loop_.mu());
  SchedulerCounters& totals = loop_.counters_locked();
  ++totals.cycles;
  totals.fired += static_cast<uint64_t>(stats.fired);
  totals.skipped += static_cast<uint64_t>(stats.skipped);
  totals.failed += static_cast<uint64_t>(stats.failed);
  if (!stats.error) totals.schedules = stats.schedules;
  if (stats.error) ++totals.errors;
  if (!error.empty()) last_error_ = error;
  LoopSnapshot s;
  s.name = options_.name;
  s.cycle = totals.cycles;
  s.last_updated = now;
  s.status = stats.error ? kLoopError : kLoopOk;
  s.last_error = last_error_;
  s.interval = options_.interval;
  s.counts = {
      {"fired", static_cast<int64_t>(totals.fired)},
      {"skipped", static_cast<int64_t>(totals.skipped)},
      {"failed", static_cast<int64_t>(totals.failed)},
      {"errors", static_cast<int64_t>(totals.errors)},
      {"schedules", totals.schedules},
  };
  if (stats.next_fire_at) s.counts["next_fire_at_ms"] = ToMillis(*stats.next_fire_at);
  cell_->Publish(std::move(s));
  loop_.cv().notify_all();
  return stats;
}

void Scheduler::TimerLoop() {
  std::unique_lock<std::mutex> lock(loop_.mu());
  while (!loop_.stopping()) {
    // The stall hook parks here, on the real condition variable: advancing a
    // ManualClock does not release it, so the published snapshot ages.
    loop_.cv().wait(lock, [this] { return loop_.stopping() || !stalled_; });
    if (loop_.stopping()) break;
    wake_ = false;
    const TimePoint started = clock_.Now();
    lock.unlock();
    SchedulerCycleStats stats = RunOnce(started);
    lock.lock();
    TimePoint deadline = started + options_.interval;
    // Sleep exactly until the next fire when it comes sooner. A next fire at
    // or before `started` (a schedule that could not be advanced) must not
    // spin the loop: the interval stands then.
    if (!stats.error && stats.next_fire_at && *stats.next_fire_at > started) {
      deadline = std::min(deadline, *stats.next_fire_at);
    }
    clock_.WaitUntil(loop_.cv(), lock, deadline,
                     [this] { return loop_.stopping() || wake_ || stalled_; });
  }
  PublishLoopStopped(*cell_, clock_.Now());
}

}  // namespace jobtape::engine
