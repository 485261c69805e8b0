// Delayed-job firing accuracy (issue 5, target: due -> started p99 <= 5 ms
// with 10,000 delayed jobs), in process and durable:
//
//   a SqliteStore with durability `full`, the Dispatcher on the real
//   SystemClock, and W worker threads (default 16) parked in
//   Dispatcher::Claim (up to --claim-max jobs per claim, default 1; the claim
//   writes `started`), each handing what it claimed to one JobsFinishAsync
//   (`final`) and claiming again at once;
//   the main thread enqueues all jobs first (1,000 per call) with `run_at` in
//   the future, starting --lead-ms after the enqueue began, so every job is
//   stored and every worker parked before the first one comes due.
//
// Two phases, each on a fresh database:
//
//   spread  run_at evenly spaced over --spread-ms (10,000 jobs over 10 s: one
//           due every millisecond). The target is about this phase.
//   burst   every run_at the same instant: lateness here is the time to work
//           through the backlog (throughput), not firing accuracy.
//
// For each job, lateness = W - run_at, where W is the wall clock
// (SystemClock::Now, the clock run_at is compared with) read on the worker
// thread the moment Dispatcher::Claim returned the job to it, i.e. when the
// worker holds the lease and the `started` event is committed and fsynced.
// Also printed: the dispatch part of it, S - run_at, where S is the
// `started` event's timestamp (the `now` the dispatcher stamped on the claim
// it sent to the store); the rest, W - S, is the claim transaction and its
// commit. "early" counts jobs with W < run_at or S < run_at (must be 0: a job
// never starts before its run_at). Each job must be claimed exactly once.
//
// Usage: jobtape_bench_delayed [--jobs N] [--spread-ms MS] [--lead-ms MS]
//                              [--workers W] [--claim-max M]
//                              [--mode spread|burst|both] [--dir DIR]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench_options.hpp"
#include "engine/dispatcher.hpp"
#include "fdatasync_probe.hpp"
#include "in_process_engine.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace jobtape::bench {
namespace {

namespace fs = std::filesystem;

struct Args {
  int jobs = 10'000;
  int spread_ms = 10'000;
  int lead_ms = 1'000;
  int workers = 16;
  int claim_max = 1;
  std::string mode = "both";
  std::string dir = fs::temp_directory_path().string();
};

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "delayed bench: %s\n", what.c_str());
  std::exit(1);
}

Args Parse(int argc, char** argv) {
  Args a;
  BenchOptions()
      .Int("--jobs", a.jobs)
      .Int("--spread-ms", a.spread_ms)
      .Int("--lead-ms", a.lead_ms)
      .Int("--workers", a.workers)
      .Int("--claim-max", a.claim_max)
      .Str("--mode", a.mode)
      .Str("--dir", a.dir)
      .Parse(argc, argv);
  if (a.jobs < 1 || a.workers < 1 || a.claim_max < 1 || a.spread_ms < 0 || a.lead_ms < 0)
    Die("--jobs, --workers and --claim-max must be >= 1, --spread-ms and --lead-ms >= 0");
  if (a.mode != "spread" && a.mode != "burst" && a.mode != "both")
    Die("--mode must be spread, burst or both");
  return a;
}

TimePoint Now() {
  return SystemClock::Instance().Now();
}

double Ms(Duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// Nearest-rank percentile of sorted samples.
double Percentile(const std::vector<Duration>& sorted, double p) {
  auto rank = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size()) + 0.999999);
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return Ms(sorted[rank - 1]);
}

void PrintDistribution(const char* phase, const char* what, std::vector<Duration> v) {
  std::sort(v.begin(), v.end());
  std::printf("%s_%s_ms: p50=%.3f p90=%.3f p99=%.3f max=%.3f\n", phase, what, Percentile(v, 50),
              Percentile(v, 90), Percentile(v, 99), Ms(v.back()));
}

// Per job, written by the one worker that claimed it (read after the join).
struct Sample {
  TimePoint run_at;
  TimePoint stamped;  // the `started` event's timestamp (the claim's now)
  TimePoint held;     // wall clock when Claim returned the job to the worker
  int claims = 0;
};

void RunPhase(const Args& a, const char* phase, bool burst) {
  std::vector<Sample> samples(static_cast<std::size_t>(a.jobs));
  std::atomic<int> finished{0};
  std::atomic<bool> failed{false};
  std::mutex done_mu;
  std::condition_variable done_cv;
  // After the above: its store threads run finish callbacks that use them.
  InProcessEngine e(a.dir, "delayed");

  // Enqueue everything first; ids of a fresh database are 1..jobs in order.
  const TimePoint begin = Now();
  const TimePoint first_due = begin + std::chrono::milliseconds(a.lead_ms);
  const Duration spread = std::chrono::milliseconds(a.spread_ms);
  constexpr int kEnqueueBatch = 1000;
  for (int i = 0; i < a.jobs; i += kEnqueueBatch) {
    store::EnqueueParams p{Now(), {}};
    for (int k = i; k < std::min(a.jobs, i + kEnqueueBatch); ++k) {
      JobSpec s;
      s.kind = "delayed";
      s.run_at = burst || a.jobs == 1 ? first_due : first_due + spread * k / (a.jobs - 1);
      samples[static_cast<std::size_t>(k)].run_at = *s.run_at;
      p.jobs.push_back(std::move(s));
    }
    auto r = e.store->JobsEnqueue(std::move(p));
    if (!r.ok()) Die("enqueue: " + r.status().ToString());
    for (std::size_t k = 0; k < r->jobs.size(); ++k) {
      if (r->jobs[k].id != i + static_cast<JobId>(k) + 1) Die("unexpected job id");
      if (r->jobs[k].state != JobState::kScheduled) {
        Die("a job was not scheduled (enqueue took longer than --lead-ms?)");
      }
    }
  }
  const TimePoint enqueued = Now();

  std::vector<std::thread> workers;
  for (int w = 0; w < a.workers; ++w) {
    workers.emplace_back([&, w] {
      engine::ClaimRequest req{
          "delayed-" + std::to_string(w), "", {"default"}, a.claim_max, std::chrono::seconds(60)};
      while (!failed) {
        // No deadline that would re-claim on its own: only the dispatcher's
        // due-time wake-ups deliver the jobs. Stop() ends the wait.
        auto c = e.dispatcher->Claim(req, std::chrono::hours(1));
        const TimePoint held = Now();
        if (!c.ok()) {
          if (c.status().code() != ErrorCode::kUnavailable) failed = true;
          return;
        }
        if (c->jobs.empty()) continue;
        std::vector<store::FinishParams> items;
        items.reserve(c->jobs.size());
        for (auto& j : c->jobs) {
          const auto k = static_cast<std::size_t>(j.job.id - 1);
          if (k >= samples.size() || !j.job.started_at) {
            failed = true;
            return;
          }
          Sample& s = samples[k];
          s.stamped = *j.job.started_at;
          s.held = held;
          ++s.claims;
          items.push_back({held, j.lease, Outcome::Succeeded()});
        }
        // Finished asynchronously, as the executor does, so the worker is
        // back in Claim at once: the finish commit is not in the way of the
        // next due job (but it does load the same writer).
        const auto n = static_cast<int>(items.size());
        e.store->JobsFinishAsync(std::move(items), [&, n](auto r) {
          bool ok = r.ok();
          if (ok) {
            for (auto& item : *r)
              ok = ok && item.ok();
          }
          if (!ok) failed = true;
          if (finished.fetch_add(n) + n >= a.jobs || !ok) {
            std::lock_guard<std::mutex> lock(done_mu);
            done_cv.notify_all();
          }
        });
      }
    });
  }
  {
    std::unique_lock<std::mutex> lock(done_mu);
    const auto guard = std::chrono::milliseconds(a.lead_ms + a.spread_ms) + std::chrono::minutes(5);
    if (!done_cv.wait_for(lock, guard, [&] { return finished.load() >= a.jobs || failed; })) {
      failed = true;
    }
  }
  const TimePoint all_finished = Now();
  const engine::DispatcherCounters counters = e.dispatcher->counters();
  e.dispatcher->Stop();  // completes the parked workers with kUnavailable
  for (auto& t : workers)
    t.join();
  if (failed) Die(std::string(phase) + ": a claim or finish failed, or the run timed out");

  std::vector<Duration> held, dispatch, commit;
  int early = 0, not_once = 0;
  for (const Sample& s : samples) {
    if (s.claims != 1) ++not_once;
    if (s.held < s.run_at || s.stamped < s.run_at) {
      if (++early <= 10) {
        std::printf("%s: EARLY job %zu: started stamp %+.3f ms, held %+.3f ms after its run_at\n",
                    phase, static_cast<std::size_t>(&s - samples.data()) + 1,
                    Ms(s.stamped - s.run_at), Ms(s.held - s.run_at));
      }
    }
    held.push_back(s.held - s.run_at);
    dispatch.push_back(s.stamped - s.run_at);
    commit.push_back(s.held - s.stamped);
  }
  const TimePoint last_due = samples.back().run_at;
  std::printf("%s: %d jobs due over %.0f ms, %d workers, claim max %d; enqueued in %.0f ms\n",
              phase, a.jobs, Ms(last_due - first_due), a.workers, a.claim_max,
              Ms(enqueued - begin));
  PrintDistribution(phase, "due_to_started", held);
  PrintDistribution(phase, "due_to_claim_stamp", dispatch);
  PrintDistribution(phase, "claim_commit", commit);
  std::printf("%s_early=%d (must be 0)\n", phase, early);
  std::printf("%s_not_claimed_exactly_once=%d (must be 0)\n", phase, not_once);
  std::printf("%s_jobs_per_s=%.0f (first due -> last final)\n", phase,
              a.jobs / std::chrono::duration<double>(all_finished - first_due).count());
  std::printf("%s_dispatcher: claims=%llu wakeups=%llu reclaims=%llu claimed_jobs=%llu\n", phase,
              static_cast<unsigned long long>(counters.claims),
              static_cast<unsigned long long>(counters.wakeups),
              static_cast<unsigned long long>(counters.reclaims),
              static_cast<unsigned long long>(counters.claimed_jobs));
  auto stats = e.store->Stats();
  std::printf("%s_store: %llu commits, %.1f requests/commit\n", phase,
              static_cast<unsigned long long>(stats.commits),
              static_cast<double>(stats.requests) / static_cast<double>(stats.commits));
  if (early > 0 || not_once > 0) Die(std::string(phase) + ": a job started early or not once");
}

}  // namespace
}  // namespace jobtape::bench

int main(int argc, char** argv) {
  using namespace jobtape::bench;
  Args a = Parse(argc, argv);
  jobtape::store::sqlite::InitializeLibrary();
  try {
    PrintFdatasyncMicros(a.dir, "delayed");
    if (a.mode != "burst") RunPhase(a, "spread", false);
    if (a.mode != "spread") RunPhase(a, "burst", true);
  } catch (const std::exception& e) {
    Die(e.what());
  }
  return 0;
}
