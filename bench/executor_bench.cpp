// Built-in executor benchmark (issue 4), both figures from one run:
//
//   spawn     the process runner alone: `/bin/true` spawned and reaped, with
//             `--parallel` children in flight; spawns/s and the mean time
//             per spawn (fork + exec + exit + reap + pipe EOF);
//   executor  in-process, durable (synchronous=FULL), end to end: `--jobs`
//             jobs of a kind running `/bin/true` are enqueued in one batch,
//             the executor (`--slots` slots) claims, spawns, and finishes
//             each; jobs/s from the enqueue to the last `final`, and the
//             executor's overhead per job beyond the bare spawn.
//
// Usage: jobtape_bench_executor [--jobs N] [--slots S] [--parallel P] [--dir DIR]
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>

#include "bench_options.hpp"
#include "engine/dispatcher.hpp"
#include "exec/executor.hpp"
#include "exec/process.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace jobtape::bench {
namespace {

namespace fs = std::filesystem;
using Clk = std::chrono::steady_clock;

struct Args {
  int jobs = 5'000;
  int slots = 8;
  int parallel = 8;
  std::string dir = fs::temp_directory_path().string();
};

Args Parse(int argc, char** argv) {
  Args a;
  BenchOptions()
      .Int("--jobs", a.jobs)
      .Int("--slots", a.slots)
      .Int("--parallel", a.parallel)
      .Str("--dir", a.dir)
      .Parse(argc, argv);
  return a;
}

// Spawns `n` /bin/true children, `parallel` at a time; returns seconds.
double SpawnOnly(exec::ProcessRunner& runner, int n, int parallel) {
  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0, done = 0, failed = 0;
  auto t0 = Clk::now();
  for (int i = 0; i < n; ++i) {
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return in_flight < parallel; });
      ++in_flight;
    }
    exec::SpawnRequest req;
    req.argv = {"/bin/true"};
    req.env = {"PATH=/usr/bin:/bin"};
    req.on_exit = [&](const exec::ExitInfo& e) {
      std::lock_guard<std::mutex> lock(mu);
      --in_flight;
      ++done;
      if (e.kind != exec::ExitInfo::Kind::kExited || e.exit_code != 0) ++failed;
      cv.notify_all();
    };
    if (!runner.Spawn(std::move(req)).ok()) std::exit(1);
  }
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done == n; });
  if (failed > 0) {
    std::fprintf(stderr, "%d spawns failed\n", failed);
    std::exit(1);
  }
  return std::chrono::duration<double>(Clk::now() - t0).count();
}

double ExecutorEndToEnd(const Args& a, exec::ProcessRunner& runner) {
  const std::string root = a.dir + "/jobtape-bench-executor";
  fs::remove_all(root);
  fs::create_directories(root + "/kinds");
  std::ofstream(root + "/kinds/true.toml")
      << "name = \"true\"\nqueue = \"spawn\"\nargv = [\"/bin/true\"]\n";
  store::sqlite::Options options;
  options.path = root + "/jobtape.db";
  auto opened = store::sqlite::Open(options);
  if (!opened.ok()) std::exit(1);
  std::unique_ptr<store::Store> store = std::move(opened).value();
  Clock& clock = SystemClock::Instance();
  engine::Dispatcher dispatcher(*store, clock);
  exec::KindRegistry kinds(root + "/kinds");
  kinds.Refresh();
  exec::ExecutorOptions eo;
  eo.node_id = "bench";
  eo.slots = a.slots;
  exec::Executor executor(*store, dispatcher, clock, kinds, runner, eo);
  store->AddObserver(&dispatcher);
  store->AddObserver(&executor);
  dispatcher.Start();
  executor.Start();

  auto t0 = Clk::now();
  for (int first = 0; first < a.jobs; first += 1000) {
    store::EnqueueParams p{clock.Now(), {}};
    JobSpec spec;
    spec.queue = "spawn";
    spec.kind = "true";
    p.jobs.assign(std::min(1000, a.jobs - first), spec);
    if (!store->JobsEnqueue(std::move(p)).ok()) std::exit(1);
  }
  const auto total = static_cast<uint64_t>(a.jobs);
  bool finished = executor.WaitFor(
      [&](const exec::ExecutorCounters& c) { return c.succeeded + c.failed >= total; },
      std::chrono::minutes(10));
  double secs = std::chrono::duration<double>(Clk::now() - t0).count();
  exec::ExecutorCounters c = executor.counters();
  executor.Stop(std::chrono::seconds(5));
  dispatcher.Stop();
  store.reset();
  fs::remove_all(root);
  if (!finished || c.failed > 0) {
    std::fprintf(stderr, "executor run failed: %llu succeeded, %llu failed\n",
                 static_cast<unsigned long long>(c.succeeded),
                 static_cast<unsigned long long>(c.failed));
    std::exit(1);
  }
  return secs;
}

}  // namespace
}  // namespace jobtape::bench

int main(int argc, char** argv) {
  using namespace jobtape::bench;
  Args a = Parse(argc, argv);
  auto runner = jobtape::exec::ProcessRunner::Create();
  if (!runner.ok()) return 1;
  double spawn_secs = SpawnOnly(**runner, a.jobs, a.parallel);
  std::printf("spawn: %d x /bin/true, %d in flight, %.3f s\n", a.jobs, a.parallel, spawn_secs);
  std::printf("spawns_per_s=%.0f\n", a.jobs / spawn_secs);
  std::printf("spawn_cost_ms=%.3f (wall time per spawn at that concurrency)\n",
              spawn_secs * 1000 / a.jobs);
  double exec_secs = ExecutorEndToEnd(a, **runner);
  std::printf("executor: %d jobs of /bin/true, %d slots, %.3f s\n", a.jobs, a.slots, exec_secs);
  std::printf("executor_jobs_per_s=%.0f\n", a.jobs / exec_secs);
  std::printf("executor_overhead_ms_per_job=%.3f (beyond the bare spawn)\n",
              (exec_secs - spawn_secs) * 1000 / a.jobs);
  return 0;
}
