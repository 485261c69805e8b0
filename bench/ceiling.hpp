// The SQLite ceiling (DESIGN §4): the fastest one SQLite writer can run the
// minimal row work of a job's lifecycle, with nothing else in the way.
//
// Per job: insert the job row + its `created` event; update it to running +
// `started` event; update it to succeeded + `final` event. Each phase is done
// for a whole batch of jobs in one transaction (WAL, synchronous=FULL, so one
// fsync per commit), with prepared statements and the raw SQLite C API: no
// engine, no store, no JSON, no secondary indexes, no threads. The engine
// benchmark reports its own throughput as a ratio of this number measured in
// the same run (target: >= 50%).
//
// Thread-safety: each call uses its own database file and connection; calls
// may run concurrently (though that would skew both figures).
#pragma once

#include <cstdint>
#include <string>

namespace jobtape::bench {

// Jobs folded into one transaction per phase: the SqliteStore's default
// group-commit batch (store::sqlite::Options::max_batch).
inline constexpr int kCeilingDefaultBatch = 512;

struct CeilingOptions {
  // Directory for the temporary database; it must be on a real disk (not
  // tmpfs) for the fsyncs to mean anything. The file is removed afterwards.
  std::string dir;
  int jobs = 200'000;
  int batch = kCeilingDefaultBatch;
};

struct CeilingResult {
  bool ok = false;
  std::string error;  // set when !ok
  int64_t jobs = 0;
  int64_t transactions = 0;
  double seconds = 0;  // wall time of the timed lifecycle work only
  double jobs_per_sec = 0;
  bool on_tmpfs = false;  // dir is on tmpfs/ramfs: the figure is not a disk figure
};

CeilingResult MeasureCeiling(const CeilingOptions& options);

// Jobs per second through the whole lifecycle, or 0 on failure (the SQLite
// error is printed to stderr).
double MeasureCeilingJobsPerSec(const std::string& dir, int jobs);

}  // namespace jobtape::bench
