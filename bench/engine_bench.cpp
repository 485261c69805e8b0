// Engine benchmark (issue 2, DESIGN §4), all figures from one run:
//
//   ceiling    the SQLite ceiling (bench/ceiling.hpp) measured first;
//   engine     in-process, durable (synchronous=FULL), end to end: a producer
//              enqueues, 16 workers claim through the Dispatcher (claim writes
//              `started`) and finish (`final`), each with its claims and its
//              completions in flight at once as the worker SDK does; jobs/s
//              from the first enqueue to the last final, and its ratio to the
//              ceiling (target >= 0.5);
//   enqueue    batch enqueue alone (1,000 jobs per call), jobs/s;
//   latency    an idle engine with one waiting worker: enqueue one job ->
//              the worker holds it with `started` committed; p50/p99
//              (targets: p50 <= 0.5 ms, p99 <= 2 ms).
//
// Usage: jobtape_bench_engine [--jobs N] [--workers W] [--claim-max M]
//                             [--latency-samples S] [--dir DIR]
//                             [--only engine|ceiling]   (one part alone, e.g. under callgrind)
//                             [--completer async|sync]  (sync: a worker waits for each
//                                                        completion before it claims again)
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <latch>
#include <semaphore>
#include <string>
#include <thread>
#include <vector>

#include "bench_options.hpp"
#include "ceiling.hpp"
#include "engine/dispatcher.hpp"
#include "in_process_engine.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace jobtape::bench {
namespace {

namespace fs = std::filesystem;
using Clk = std::chrono::steady_clock;

struct Args {
  int jobs = 200'000;
  int workers = 16;
  int claim_max = 64;
  int enqueue_batch = 100;
  int latency_samples = 2'000;
  std::string dir = fs::temp_directory_path().string();
  std::string only;  // "engine" or "ceiling": run only that part (profiling)
  // "async": a worker claims again while its completion is in flight (as the
  // worker SDK does); "sync": it waits for the completion first.
  std::string completer = "async";
};

Args Parse(int argc, char** argv) {
  Args a;
  BenchOptions()
      .Int("--jobs", a.jobs)
      .Int("--workers", a.workers)
      .Int("--claim-max", a.claim_max)
      .Int("--enqueue-batch", a.enqueue_batch)
      .Int("--latency-samples", a.latency_samples)
      .Str("--dir", a.dir)
      .Str("--only", a.only)
      .Str("--completer", a.completer)
      .Parse(argc, argv);
  return a;
}

JobSpec NoopSpec() {
  JobSpec s;
  s.kind = "noop";
  return s;
}

TimePoint Now() {
  return SystemClock::Instance().Now();
}

constexpr int kEnqueueWindow = 8;

double EndToEnd(const Args& a) {
  InProcessEngine e(a.dir, "engine");
  std::atomic<int> finished{0};
  std::atomic<bool> failed{false};
  auto t0 = Clk::now();
  // Producers submit concurrently, as many HTTP clients would: a window of
  // enqueue calls in flight, each of enqueue_batch jobs.
  std::thread producer([&] {
    std::counting_semaphore<> window(kEnqueueWindow);
    for (int i = 0; i < a.jobs; i += a.enqueue_batch) {
      window.acquire();
      store::EnqueueParams p{Now(), {}};
      p.jobs.assign(std::min(a.enqueue_batch, a.jobs - i), NoopSpec());
      e.store->JobsEnqueueAsync(std::move(p), [&](Result<store::EnqueueResult> r) {
        if (!r.ok()) failed = true;
        window.release();
      });
    }
    for (int i = 0; i < kEnqueueWindow; ++i)
      window.acquire();
  });
  // Each worker works like the worker SDK (src/client/worker.cpp): its
  // claimer claims again as soon as its slots are free (a no-op handler frees
  // them at once), while its completer reports the previous batch in one
  // store call, one completion in flight at a time.
  std::atomic<int64_t> last_final_ns{0};  // when the last job's final committed
  std::vector<std::thread> workers;
  for (int w = 0; w < a.workers; ++w) {
    workers.emplace_back([&, w] {
      engine::ClaimRequest req{
          "bench-" + std::to_string(w), "", {"default"}, a.claim_max, std::chrono::seconds(60)};
      std::binary_semaphore completer_idle(1);
      while (finished.load() < a.jobs && !failed) {
        auto c = e.dispatcher->Claim(req, std::chrono::milliseconds(200));
        if (!c.ok()) {
          failed = true;
          break;
        }
        if (c->jobs.empty()) continue;
        std::vector<store::FinishParams> items;
        items.reserve(c->jobs.size());
        TimePoint now = Now();
        for (auto& j : c->jobs)
          items.push_back({now, j.lease, Outcome::Succeeded()});
        completer_idle.acquire();
        e.store->JobsFinishAsync(
            std::move(items), [&, n = static_cast<int>(c->jobs.size())](
                                  Result<std::vector<Result<store::FinishResult>>> r) {
              if (!r.ok()) {
                failed = true;
              } else {
                for (auto& item : *r) {
                  if (!item.ok()) failed = true;
                }
              }
              if (finished.fetch_add(n) + n >= a.jobs) {
                last_final_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                    Clk::now().time_since_epoch())
                                    .count();
              }
              completer_idle.release();
            });
        if (a.completer == "sync") {
          completer_idle.acquire();
          completer_idle.release();
        }
      }
      completer_idle.acquire();  // the last completion was answered
    });
  }
  producer.join();
  for (auto& t : workers)
    t.join();
  // To the last final, not to the workers' exit: workers parked in a claim
  // when the last job ends wait out their claim's timeout.
  const Clk::time_point t_end{std::chrono::nanoseconds(last_final_ns.load())};
  double secs = std::chrono::duration<double>(t_end - t0).count();
  if (failed) {
    std::fprintf(stderr, "engine run failed\n");
    std::exit(1);
  }
  auto stats = e.store->Stats();
  std::printf("engine: %d jobs in %.3f s, %llu commits, %.1f requests/commit (max %llu)\n", a.jobs,
              secs, static_cast<unsigned long long>(stats.commits),
              static_cast<double>(stats.requests) / static_cast<double>(stats.commits),
              static_cast<unsigned long long>(stats.max_batch));
  return a.jobs / secs;
}

double BatchEnqueue(const Args& a) {
  InProcessEngine e(a.dir, "engine");
  constexpr int kBatch = 1000;
  auto t0 = Clk::now();
  int n = 0;
  for (; n < a.jobs; n += kBatch) {
    store::EnqueueParams p{Now(), {}};
    p.jobs.assign(kBatch, NoopSpec());
    if (!e.store->JobsEnqueue(std::move(p)).ok()) std::exit(1);
  }
  return n / std::chrono::duration<double>(Clk::now() - t0).count();
}

void Latency(const Args& a, double& p50_ms, double& p99_ms) {
  InProcessEngine e(a.dir, "engine");
  std::vector<double> samples;
  samples.reserve(a.latency_samples);
  for (int i = 0; i < a.latency_samples; ++i) {
    std::atomic<bool> parked{false};
    Clk::time_point started;
    std::thread worker([&] {
      engine::ClaimRequest req{"lat", "", {"default"}, 1, std::chrono::seconds(60)};
      auto c = e.dispatcher->Claim(req, std::chrono::seconds(10));
      started = Clk::now();
      if (!c.ok() || c->jobs.size() != 1) std::exit(1);
      (void)e.store->JobFinish({Now(), c->jobs[0].lease, Outcome::Succeeded()});
    });
    // Enqueue only once the worker is parked: the idle-engine case.
    e.dispatcher->WaitFor([](const engine::DispatcherCounters& c) { return c.parked == 1; },
                          std::chrono::seconds(10));
    auto t0 = Clk::now();
    if (!e.store->JobsEnqueue({Now(), {NoopSpec()}}).ok()) std::exit(1);
    worker.join();
    samples.push_back(std::chrono::duration<double, std::milli>(started - t0).count());
  }
  std::sort(samples.begin(), samples.end());
  p50_ms = samples[samples.size() / 2];
  p99_ms = samples[samples.size() * 99 / 100];
}

}  // namespace
}  // namespace jobtape::bench

int main(int argc, char** argv) {
  using namespace jobtape::bench;
  Args a = Parse(argc, argv);
  // Same SQLite settings for the ceiling as for the store, whichever runs first.
  jobtape::store::sqlite::InitializeLibrary();
  try {
    if (a.only == "engine") {
      std::printf("engine_jobs_per_s=%.0f\n", EndToEnd(a));
      return 0;
    }
    double ceiling = MeasureCeilingJobsPerSec(a.dir, a.jobs);
    std::printf("ceiling_jobs_per_s=%.0f\n", ceiling);
    if (a.only == "ceiling") return 0;
    double engine = EndToEnd(a);
    std::printf("engine_jobs_per_s=%.0f\n", engine);
    std::printf("engine_to_ceiling_ratio=%.3f (target >= 0.5)\n",
                ceiling > 0 ? engine / ceiling : 0);
    std::printf("batch_enqueue_jobs_per_s=%.0f\n", BatchEnqueue(a));
    double p50 = 0, p99 = 0;
    Latency(a, p50, p99);
    std::printf("enqueue_to_started_p50_ms=%.3f (target <= 0.5)\n", p50);
    std::printf("enqueue_to_started_p99_ms=%.3f (target <= 2)\n", p99);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());  // an InProcessEngine that did not open
    return 1;
  }
  return 0;
}
