#include "http/handlers/metrics.hpp"

#include <atomic>
#include <map>
#include <mutex>
#include <unordered_map>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace jobtape::http {
namespace prom = prometheus;

namespace {

// Request latency buckets in seconds: sub-millisecond API calls up to the
// longest long poll (a claim may wait up to a minute by design).
const prom::Histogram::BucketBoundaries kLatencyBuckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

// Identifies a (method, route, status) series. The route view points into the
// router's table, so its address names it; an empty route is "unmatched".
struct SeriesKey {
  const char* route;
  std::size_t route_size;
  Method method;
  int status;
  bool operator==(const SeriesKey&) const = default;
};
struct SeriesKeyHash {
  std::size_t operator()(const SeriesKey& k) const {
    std::size_t h = std::hash<const void*>()(k.route);
    h = h * 31 + k.route_size;
    h = h * 31 + static_cast<std::size_t>(k.method);
    return h * 31 + static_cast<std::size_t>(k.status);
  }
};

// The series of `family` with the labels `make()` returns, looked up once and
// then kept in `slot`: Family::Add builds a label map and takes the family's
// lock, too much for every request. (Add returns the same series every time,
// so a race between two first callers is harmless.)
template <typename MakeLabels>
prom::Counter& CachedSeries(std::atomic<prom::Counter*>& slot, prom::Family<prom::Counter>& family,
                            MakeLabels make) {
  prom::Counter* c = slot.load(std::memory_order_acquire);
  if (c == nullptr) {
    c = &family.Add(make());
    slot.store(c, std::memory_order_release);
  }
  return *c;
}

// Turns a total kept elsewhere into a Prometheus counter: adds what is new.
void Advance(prom::Counter& counter, uint64_t& last, uint64_t now) {
  if (now > last) counter.Increment(static_cast<double>(now - last));
  last = now;
}

}  // namespace

struct Metrics::Impl {
  Impl()
      : registry(std::make_shared<prom::Registry>()),
        requests(prom::BuildCounter()
                     .Name("jobtape_http_requests_total")
                     .Help("HTTP requests answered, by method, route pattern and status")
                     .Register(*registry)),
        latency(prom::BuildHistogram()
                    .Name("jobtape_http_request_duration_seconds")
                    .Help("Time from a parsed request to its response (stream: to its head)")
                    .Register(*registry)),
        submitted(prom::BuildCounter()
                      .Name("jobtape_jobs_submitted_total")
                      .Help("Jobs submitted through the API")
                      .Register(*registry)),
        claimed(prom::BuildCounter()
                    .Name("jobtape_jobs_claimed_total")
                    .Help("Jobs leased to workers through POST /v1/claims")
                    .Register(*registry)
                    .Add({})),
        finished(prom::BuildCounter()
                     .Name("jobtape_attempts_finished_total")
                     .Help("Attempts ended through the lease API, by the job's state after it")
                     .Register(*registry)),
        stale(prom::BuildCounter()
                  .Name("jobtape_stale_lease_total")
                  .Help("Lease calls refused because the lease was stale (409 stale_lease)")
                  .Register(*registry)
                  .Add({})),
        reaped(prom::BuildCounter()
                   .Name("jobtape_reaped_total")
                   .Help("Reaper actions by queue and reason: lease_expired, "
                         "runtime_backstop, cancel_grace (attempts ended); deferred (an "
                         "expired attempt left running because its rules are off, counted "
                         "once per reaper cycle); raced (changed by someone else first)")
                   .Register(*registry)),
        jobs(prom::BuildGauge()
                 .Name("jobtape_jobs")
                 .Help("Jobs by queue and state")
                 .Register(*registry)),
        open_streams(prom::BuildGauge()
                         .Name("jobtape_open_streams")
                         .Help("Open SSE and WebSocket tape streams")
                         .Register(*registry)
                         .Add({})),
        catchups(prom::BuildCounter()
                     .Name("jobtape_stream_catchups_total")
                     .Help("Times a slow watcher fell behind and switched to reading the store")
                     .Register(*registry)
                     .Add({})),
        store_commits(prom::BuildCounter()
                          .Name("jobtape_store_commits_total")
                          .Help("Write transactions committed (group commits)")
                          .Register(*registry)
                          .Add({})),
        store_requests(prom::BuildCounter()
                           .Name("jobtape_store_write_requests_total")
                           .Help("Write requests folded into those commits (divide by commits "
                                 "for the mean batch size)")
                           .Register(*registry)
                           .Add({})),
        store_max_batch(prom::BuildGauge()
                            .Name("jobtape_store_commit_batch_max")
                            .Help("Largest number of write requests in one commit")
                            .Register(*registry)
                            .Add({})),
        claim_waiters(prom::BuildGauge()
                          .Name("jobtape_claim_waiters")
                          .Help("Long-poll claims parked waiting for work")
                          .Register(*registry)
                          .Add({})),
        claim_timeouts(prom::BuildCounter()
                           .Name("jobtape_claim_timeouts_total")
                           .Help("Long-poll claims that ended empty at their deadline")
                           .Register(*registry)
                           .Add({})),
        executor(prom::BuildGauge()
                     .Name("jobtape_executor")
                     .Help("Built-in executor: slots, running attempts, kinds loaded, kind "
                           "files skipped as malformed (kind_file_errors)")
                     .Register(*registry)),
        executor_attempts(prom::BuildCounter()
                              .Name("jobtape_executor_attempts_total")
                              .Help("Built-in executor attempts by how they ended (spawned "
                                    "counts processes started)")
                              .Register(*registry)) {}

  std::shared_ptr<prom::Registry> registry;
  prom::Family<prom::Counter>& requests;
  prom::Family<prom::Histogram>& latency;
  prom::Family<prom::Counter>& submitted;
  prom::Counter& claimed;
  prom::Family<prom::Counter>& finished;
  std::atomic<prom::Counter*> submitted_created{nullptr};
  std::atomic<prom::Counter*> submitted_duplicate{nullptr};
  std::atomic<prom::Counter*> finished_by_state[256] = {};  // by JobState, retrying included
  prom::Counter& stale;
  prom::Family<prom::Counter>& reaped;
  prom::Family<prom::Gauge>& jobs;
  prom::Gauge& open_streams;
  prom::Counter& catchups;
  prom::Counter& store_commits;
  prom::Counter& store_requests;
  prom::Gauge& store_max_batch;
  prom::Gauge& claim_waiters;
  prom::Counter& claim_timeouts;
  prom::Family<prom::Gauge>& executor;
  prom::Family<prom::Counter>& executor_attempts;

  std::mutex series_mu;
  std::unordered_map<SeriesKey, prom::Counter*, SeriesKeyHash> request_series;    // GUARDED_BY
  std::unordered_map<SeriesKey, prom::Histogram*, SeriesKeyHash> latency_series;  // GUARDED_BY

  mutable std::mutex reaper_mu;
  std::map<std::string, QueueReaperTotals> reaper_totals;  // GUARDED_BY(reaper_mu)

  std::mutex render_mu;
  uint64_t last_commits = 0;                      // GUARDED_BY(render_mu)
  uint64_t last_requests = 0;                     // GUARDED_BY(render_mu)
  uint64_t last_catchups = 0;                     // GUARDED_BY(render_mu)
  uint64_t last_timeouts = 0;                     // GUARDED_BY(render_mu)
  std::map<std::string, uint64_t> last_executor;  // GUARDED_BY(render_mu), by outcome
};

Metrics::Metrics() : impl_(std::make_unique<Impl>()) {}
Metrics::~Metrics() = default;

void Metrics::ObserveRequest(Method method, std::string_view route, int status, double seconds) {
  Impl& m = *impl_;
  SeriesKey key{route.data(), route.size(), method, status};
  SeriesKey latency_key{route.data(), route.size(), method, 0};
  prom::Counter* counter;
  prom::Histogram* histogram;
  {
    std::lock_guard<std::mutex> lock(m.series_mu);
    prom::Counter*& c = m.request_series[key];
    prom::Histogram*& h = m.latency_series[latency_key];
    if (c == nullptr || h == nullptr) {
      std::string route_label = route.empty() ? "unmatched" : std::string(route);
      std::string method_label(MethodName(method));
      if (c == nullptr) {
        c = &m.requests.Add(
            {{"method", method_label}, {"route", route_label}, {"status", std::to_string(status)}});
      }
      if (h == nullptr) {
        h = &m.latency.Add({{"method", method_label}, {"route", route_label}}, kLatencyBuckets);
      }
    }
    counter = c;
    histogram = h;
  }
  counter->Increment();
  histogram->Observe(seconds);
}

void Metrics::JobsSubmitted(uint64_t created, uint64_t duplicates) {
  if (created > 0) {
    CachedSeries(impl_->submitted_created, impl_->submitted, [] {
      return prom::Labels{{"result", "created"}};
    }).Increment(static_cast<double>(created));
  }
  if (duplicates > 0) {
    CachedSeries(impl_->submitted_duplicate, impl_->submitted, [] {
      return prom::Labels{{"result", "duplicate"}};
    }).Increment(static_cast<double>(duplicates));
  }
}

void Metrics::JobsClaimed(uint64_t jobs) {
  if (jobs > 0) impl_->claimed.Increment(static_cast<double>(jobs));
}

void Metrics::AttemptFinished(JobState state) {
  CachedSeries(impl_->finished_by_state[static_cast<uint8_t>(state)], impl_->finished, [state] {
    return prom::Labels{
        {"state", IsTerminal(state) ? std::string(JobStateName(state)) : "retrying"}};
  }).Increment();
}

void Metrics::StaleLease() {
  impl_->stale.Increment();
}

void Metrics::LeasesReaped(const store::ReapResult& r) {
  Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.reaper_mu);
  for (const auto& [queue, c] : r.queues) {
    QueueReaperTotals& t = m.reaper_totals[queue];
    const std::pair<const char*, int> reasons[] = {{"lease_expired", c.expired},
                                                   {"runtime_backstop", c.timed_out},
                                                   {"cancel_grace", c.cancelled},
                                                   {"deferred", c.deferred},
                                                   {"raced", c.raced}};
    for (const auto& [reason, n] : reasons) {
      if (n > 0) m.reaped.Add({{"queue", queue}, {"reason", reason}}).Increment(n);
    }
    t.lease_expired += static_cast<uint64_t>(c.expired);
    t.runtime_backstop += static_cast<uint64_t>(c.timed_out);
    t.cancel_grace += static_cast<uint64_t>(c.cancelled);
    t.deferred += static_cast<uint64_t>(c.deferred);
    t.raced += static_cast<uint64_t>(c.raced);
  }
}

std::map<std::string, QueueReaperTotals> Metrics::ReaperTotals() const {
  std::lock_guard<std::mutex> lock(impl_->reaper_mu);
  return impl_->reaper_totals;
}

std::string Metrics::Render(const Sources& s) {
  Impl& m = *impl_;
  {
    std::lock_guard<std::mutex> lock(m.render_mu);
    for (const store::QueueInfo& q : s.queues) {
      for (int i = 0; i < kJobStateCount; ++i) {
        m.jobs
            .Add(
                {{"queue", q.name}, {"state", std::string(JobStateName(static_cast<JobState>(i)))}})
            .Set(static_cast<double>(q.counts[i]));
      }
    }
    m.open_streams.Set(static_cast<double>(s.open_streams));
    Advance(m.catchups, m.last_catchups, s.stream_catchups);
    Advance(m.store_commits, m.last_commits, s.store.commits);
    Advance(m.store_requests, m.last_requests, s.store.requests);
    m.store_max_batch.Set(static_cast<double>(s.store.max_batch));
    m.claim_waiters.Set(static_cast<double>(s.dispatcher.parked));
    Advance(m.claim_timeouts, m.last_timeouts, s.dispatcher.timeouts);
    if (s.executor) {
      const ExecutorReading& e = *s.executor;
      m.executor.Add({{"reading", "slots"}}).Set(static_cast<double>(e.slots));
      m.executor.Add({{"reading", "running"}}).Set(static_cast<double>(e.running));
      m.executor.Add({{"reading", "kinds"}}).Set(static_cast<double>(e.kinds));
      m.executor.Add({{"reading", "kind_file_errors"}})
          .Set(static_cast<double>(e.kind_file_errors));
      const std::pair<const char*, uint64_t> totals[] = {
          {"spawned", e.spawned},         {"succeeded", e.succeeded},
          {"failed", e.failed},           {"cancelled", e.cancelled},
          {"interrupted", e.interrupted}, {"unknown_kind", e.unknown_kind},
          {"lost_lease", e.lost_leases}};
      for (const auto& [outcome, total] : totals) {
        Advance(m.executor_attempts.Add({{"outcome", outcome}}), m.last_executor[outcome], total);
      }
    }
  }
  return prom::TextSerializer().Serialize(m.registry->Collect());
}

}  // namespace jobtape::http
