// Single-threaded store driver for instruction-level profiling of the SQLite
// store's hot path (`valgrind --tool=callgrind`): enqueue in batches, claim in
// batches, finish each claimed batch with one JobsFinish call. Its wall-clock
// figure means little; the per-operation instruction counts are the point.
//
// Usage: jobtape_bench_store_profile [--jobs N] [--batch B] [--claim-max M] [--dir DIR]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/clock.hpp"
#include "store/sqlite/sqlite_store.hpp"

using namespace jobtape;

int main(int argc, char** argv) {
  int jobs = 20'000, batch = 512, claim_max = 64;
  std::string dir = "/tmp";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--jobs")
      jobs = std::atoi(argv[i + 1]);
    else if (k == "--batch")
      batch = std::atoi(argv[i + 1]);
    else if (k == "--claim-max")
      claim_max = std::atoi(argv[i + 1]);
    else if (k == "--dir")
      dir = argv[i + 1];
  }
  std::string path = dir + "/store_profile.db";
  for (const char* suffix : {"", "-wal", "-shm"})
    std::filesystem::remove(path + suffix);
  store::sqlite::Options options;
  options.path = path;
  auto opened = store::sqlite::Open(options);
  if (!opened.ok()) {
    std::fprintf(stderr, "open: %s\n", opened.status().message().c_str());
    return 1;
  }
  store::Store& s = **opened;
  SystemClock& clock = SystemClock::Instance();
  JobSpec spec;
  spec.queue = "default";
  spec.kind = "noop";
  spec.payload = "null";
  auto t0 = std::chrono::steady_clock::now();
  int done = 0;
  for (int first = 0; first < jobs; first += batch) {
    store::EnqueueParams p{clock.Now(), {}};
    p.jobs.assign(std::min(batch, jobs - first), spec);
    if (!s.JobsEnqueue(std::move(p)).ok()) return 1;
    for (;;) {
      auto c = s.JobsClaim({clock.Now(), "w", "", {"default"}, claim_max});
      if (!c.ok()) return 1;
      if (c->jobs.empty()) break;
      std::vector<store::FinishParams> items;
      for (auto& j : c->jobs)
        items.push_back({clock.Now(), j.lease, Outcome::Succeeded()});
      auto r = s.JobsFinish(std::move(items));
      if (!r.ok()) return 1;
      done += static_cast<int>(c->jobs.size());
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%d jobs in %.3f s\n", done, secs);
  return done == jobs ? 0 : 1;
}
