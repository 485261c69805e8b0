// BenchWorkers: W client::Worker instances in this process, as the remote-
// worker benchmarks run them (worker, batch): each as a separate worker
// process would, with its own claimer, handler threads, heartbeater and
// completer on its own connections; queue "bench", a 1 s claim wait, a no-op
// handler for kind "bench.noop", and errors printed as "worker error: ...".
//
// Register more handlers, then Start(); Stop() ends the workers and throws
// std::runtime_error ("a worker failed: ...") if one of them failed. The
// destructor stops workers still running (without the check).
//
// Thread-safety: one thread owns a BenchWorkers; counters() may be called
// while the workers run.
#pragma once

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "client/worker.hpp"

namespace jobtape::bench {

struct BenchWorkersOptions {
  int workers = 1;
  int concurrency = 1;    // handler threads per worker
  int claim_batch = 0;    // 0: the SDK's default (free slots)
  std::string id_prefix;  // worker ids are PREFIX0, PREFIX1, ...
};

class BenchWorkers {
 public:
  BenchWorkers(const client::ClientOptions& client, const BenchWorkersOptions& options);
  ~BenchWorkers();
  BenchWorkers(const BenchWorkers&) = delete;
  BenchWorkers& operator=(const BenchWorkers&) = delete;

  // Every worker runs jobs of `kind` with `handler`. Call before Start().
  void Register(const std::string& kind, const client::Handler& handler);
  // Runs each worker on a thread of its own.
  void Start();
  // Stops and joins every worker; throws if one returned an error.
  void Stop();
  // The workers' counters, summed.
  client::WorkerCounters counters() const;

 private:
  void Join();

  std::vector<std::unique_ptr<client::Worker>> workers_;
  std::vector<std::thread> runs_;
  std::vector<Status> statuses_;  // one per worker, written by its run thread
};

}  // namespace jobtape::bench
