// Metrics: the server's Prometheus metrics (GET /metrics), on prometheus-cpp's
// core Registry and TextSerializer (its own HTTP exposer is not used).
//
// Event counters (requests, submissions, claims, finishes, reaped leases) are
// bumped where things happen; gauges and totals owned by other components
// (jobs per queue and state, dispatcher waiters, open streams, store commit
// batches) are refreshed from a Sources value when the text is rendered, so
// a scrape shows one moment's readings. prometheus-cpp stays inside
// metrics.cpp: this header exposes none of it.
//
// Label sets are bounded: HTTP requests are labelled with the route pattern
// (never the raw path), the method and the status code; jobs and reaped
// attempts with queue names, which are validated names chosen by operators
// and producers, and a reason from a fixed set.
//
// The reaper's per-queue totals (what GET /v1/queues shows) are kept here too,
// in memory since the server started: they restart from zero with it.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/job_state.hpp"
#include "engine/dispatcher.hpp"
#include "http/job_encode.hpp"  // QueueReaperTotals
#include "http/request.hpp"
#include "store/store.hpp"

namespace jobtape::http {

// The built-in executor as /metrics shows it.
struct ExecutorReading {
  int64_t slots = 0;
  int64_t running = 0;
  int64_t kinds = 0;
  int64_t kind_file_errors = 0;
  uint64_t spawned = 0;
  uint64_t succeeded = 0;
  uint64_t failed = 0;
  uint64_t cancelled = 0;
  uint64_t interrupted = 0;
  uint64_t unknown_kind = 0;
  uint64_t lost_leases = 0;
};

class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // One answered request. `route` is the matched pattern, or empty.
  void ObserveRequest(Method method, std::string_view route, int status, double seconds);
  void JobsSubmitted(uint64_t created, uint64_t duplicates);
  void JobsClaimed(uint64_t jobs);
  // An attempt ended through the lease API; `state` is the job's state after
  // it (a non-terminal state means a retry follows).
  void AttemptFinished(JobState state);
  void StaleLease();
  // One reaper cycle's result (its per-queue counts).
  void LeasesReaped(const store::ReapResult& result);
  // The reaper's totals per queue since start; queues it never touched are absent.
  std::map<std::string, QueueReaperTotals> ReaperTotals() const;

  // Readings of other components, taken when /metrics is served.
  struct Sources {
    std::vector<store::QueueInfo> queues;
    store::StoreStats store;
    engine::DispatcherCounters dispatcher;
    int64_t open_streams = 0;
    uint64_t stream_catchups = 0;
    std::optional<ExecutorReading> executor;  // when the built-in executor runs
  };
  // The Prometheus text exposition format (version 0.0.4).
  std::string Render(const Sources& sources);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

}  // namespace jobtape::http
