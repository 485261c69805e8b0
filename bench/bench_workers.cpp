#include "bench_workers.hpp"

#include <chrono>
#include <cstdio>

#include "bench_error.hpp"

namespace jobtape::bench {

BenchWorkers::BenchWorkers(const client::ClientOptions& client, const BenchWorkersOptions& o) {
  for (int w = 0; w < o.workers; ++w) {
    client::WorkerOptions wo;
    wo.queues = {"bench"};
    wo.concurrency = o.concurrency;
    wo.claim_batch = o.claim_batch;
    wo.worker_id = o.id_prefix + std::to_string(w);
    wo.claim_wait = std::chrono::milliseconds(1'000);
    wo.on_error = [](const Status& s) {
      std::fprintf(stderr, "worker error: %s\n", s.ToString().c_str());
    };
    auto worker = std::make_unique<client::Worker>(client, wo);
    worker->Register("bench.noop",
                     [](client::JobContext&) { return client::JobResult::Success(); });
    workers_.push_back(std::move(worker));
  }
}

BenchWorkers::~BenchWorkers() {
  Join();
}

void BenchWorkers::Register(const std::string& kind, const client::Handler& handler) {
  for (auto& w : workers_)
    w->Register(kind, handler);
}

void BenchWorkers::Start() {
  statuses_.assign(workers_.size(), Status());
  for (std::size_t w = 0; w < workers_.size(); ++w)
    runs_.emplace_back([this, w] { statuses_[w] = workers_[w]->Run(); });
}

void BenchWorkers::Stop() {
  Join();
  for (const Status& s : statuses_) {
    if (!s.ok()) Die("a worker failed: " + s.ToString());
  }
}

client::WorkerCounters BenchWorkers::counters() const {
  client::WorkerCounters total;
  for (const auto& w : workers_) {
    client::WorkerCounters c = w->counters();
    total.claim_requests += c.claim_requests;
    total.claimed += c.claimed;
    total.handled += c.handled;
    total.completed += c.completed;
    total.failed += c.failed;
    total.complete_requests += c.complete_requests;
    total.lost_leases += c.lost_leases;
    total.heartbeats += c.heartbeats;
    total.skipped += c.skipped;
  }
  return total;
}

void BenchWorkers::Join() {
  for (auto& w : workers_)
    w->Stop();
  for (auto& t : runs_)
    t.join();
  runs_.clear();
}

}  // namespace jobtape::bench
