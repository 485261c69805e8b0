// jobtape_bench_ceiling: prints the SQLite ceiling of DESIGN §4 (see ceiling.hpp).
//
//   jobtape_bench_ceiling [--jobs N] [--batch B] [--runs R] [--dir DIR] [--allow-tmpfs]
//
// DIR defaults to $TMPDIR, else /tmp; it must be on a disk, not tmpfs. With
// several runs it prints each and reports the median as ceiling_jobs_per_s.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "ceiling.hpp"

namespace {

int Usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s [--jobs N] [--batch B] [--runs R] [--dir DIR] [--allow-tmpfs]\n",
               argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  jobtape::bench::CeilingOptions options;
  const char* tmpdir = std::getenv("TMPDIR");
  options.dir = (tmpdir != nullptr && *tmpdir != '\0') ? tmpdir : "/tmp";
  int runs = 1;
  bool allow_tmpfs = false;

  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--jobs" && has_value) {
      options.jobs = std::atoi(argv[++i]);
    } else if (arg == "--batch" && has_value) {
      options.batch = std::atoi(argv[++i]);
    } else if (arg == "--runs" && has_value) {
      runs = std::atoi(argv[++i]);
    } else if (arg == "--dir" && has_value) {
      options.dir = argv[++i];
    } else if (arg == "--allow-tmpfs") {
      allow_tmpfs = true;
    } else {
      return Usage(argv[0]);
    }
  }
  if (options.jobs <= 0 || options.batch <= 0 || runs <= 0) return Usage(argv[0]);

  std::printf("ceiling: jobs=%d batch=%d runs=%d dir=%s (WAL, synchronous=FULL)\n", options.jobs,
              options.batch, runs, options.dir.c_str());
  std::vector<double> rates;
  for (int run = 1; run <= runs; ++run) {
    const jobtape::bench::CeilingResult r = jobtape::bench::MeasureCeiling(options);
    if (!r.ok) {
      std::fprintf(stderr, "ceiling: %s\n", r.error.c_str());
      return 1;
    }
    if (r.on_tmpfs && !allow_tmpfs) {
      std::fprintf(stderr,
                   "ceiling: %s is on tmpfs, so fsync costs nothing and the figure means "
                   "nothing; use --dir on a disk (or --allow-tmpfs)\n",
                   options.dir.c_str());
      return 1;
    }
    std::printf("run %d: %.0f jobs/s (%lld jobs, %lld transactions, %.3f s)\n", run, r.jobs_per_sec,
                static_cast<long long>(r.jobs), static_cast<long long>(r.transactions), r.seconds);
    rates.push_back(r.jobs_per_sec);
  }
  std::sort(rates.begin(), rates.end());
  std::printf("ceiling_jobs_per_s=%.0f\n", rates[rates.size() / 2]);
  return 0;
}
