// Batch benchmark (issue 5: a batch of 10,000 end to end).
//
// Starts the real `jobtape serve` (temp data directory, durability full) and
// W remote workers in this process (client::Worker, no-op handler, batched
// claims and completions, as jobtape_bench_worker). Then, timed on the wall
// clock (system_clock, the server's clock too):
//   t0        before POST /v1/batches with N members and an on_complete job
//   created   the POST answered (one transaction: the batch and N jobs)
//   finished  the batch's finished_at: the last member's `final`, which
//             enqueued on_complete in the same transaction
//   callback  the on_complete job's handler started on a worker
// and prints each step and N / (finished - t0) as end-to-end jobs/s.
//
// Usage: jobtape_bench_batch [--jobs N] [--workers W] [--concurrency C]
//            [--dir DIR] [--server PATH]
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "bench_error.hpp"
#include "bench_options.hpp"
#include "bench_server.hpp"
#include "bench_workers.hpp"
#include "client/client.hpp"
#include "client/http_transport.hpp"

namespace jobtape::bench {
namespace {

using Wall = std::chrono::system_clock;

struct Args {
  int jobs = 10'000;
  int workers = 2;
  int concurrency = 32;
  std::string dir = DefaultDir();
  std::string server = JOBTAPE_BINARY;
};

Args Parse(int argc, char** argv) {
  Args a;
  BenchOptions()
      .Int("--jobs", a.jobs)
      .Int("--workers", a.workers)
      .Int("--concurrency", a.concurrency)
      .Str("--dir", a.dir)
      .Str("--server", a.server)
      .Parse(argc, argv);
  if (a.jobs < 1 || a.jobs > 10'000 || a.workers < 1 || a.concurrency < 1) {
    Die("--jobs 1..10000, --workers and --concurrency at least 1");
  }
  return a;
}

double Ms(Wall::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

Wall::time_point FromMs(int64_t ms) {
  return Wall::time_point(std::chrono::milliseconds(ms));
}

boost::json::value Call(const client::ClientOptions& options, const std::string& method,
                        const std::string& target, std::string body, int expect) {
  client::HttpTransport transport(options);
  client::HttpRequest request;
  request.method = method;
  request.target = target;
  request.body = std::move(body);
  auto reply = transport.RoundTrip(request);
  if (!reply.ok()) Die(method + " " + target + ": " + reply.status().ToString());
  if (reply->status != expect) {
    Die(method + " " + target + ": HTTP " + std::to_string(reply->status) + " " +
        reply->body.substr(0, 300));
  }
  return boost::json::parse(reply->body);
}

}  // namespace
}  // namespace jobtape::bench

int main(int argc, char** argv) {
  using namespace jobtape;
  using namespace jobtape::bench;
  try {
    Args a = Parse(argc, argv);
    BenchServer server({.binary = a.server, .dir = a.dir, .name = "batch"});
    client::ClientOptions options;
    options.server.host = "127.0.0.1";
    options.server.port = server.port();

    std::mutex mu;
    std::condition_variable cv;
    std::optional<Wall::time_point> callback_at;  // GUARDED_BY(mu)
    BenchWorkers workers(
        options, {.workers = a.workers, .concurrency = a.concurrency, .id_prefix = "batch-bench-"});
    workers.Register("bench.done", [&](client::JobContext&) {
      std::lock_guard<std::mutex> lock(mu);
      if (!callback_at) callback_at = Wall::now();
      cv.notify_all();
      return client::JobResult::Success();
    });
    workers.Start();

    std::string body = R"({"on_complete":{"kind":"bench.done","queue":"bench"},"jobs":[)";
    for (int i = 0; i < a.jobs; ++i) {
      if (i > 0) body += ',';
      body += R"({"kind":"bench.noop","queue":"bench","payload":{"n":)" + std::to_string(i) + "}}";
    }
    body += "]}";
    const std::size_t body_bytes = body.size();
    const Wall::time_point t0 = Wall::now();
    boost::json::value created = Call(options, "POST", "/v1/batches", std::move(body), 201);
    const Wall::time_point t_created = Wall::now();
    const std::string id(created.at("batch").at("id").as_string());

    Wall::time_point t_callback;
    {
      std::unique_lock<std::mutex> lock(mu);
      if (!cv.wait_for(lock, std::chrono::minutes(10), [&] { return callback_at.has_value(); })) {
        Die("the on_complete job did not run within 10 minutes");
      }
      t_callback = *callback_at;
    }
    boost::json::value batch = Call(options, "GET", "/v1/batches/" + id, {}, 200);
    workers.Stop();
    if (batch.at("counts").at("succeeded").as_int64() != a.jobs) {
      Die("not every member succeeded: " + boost::json::serialize(batch.at("counts")));
    }
    const Wall::time_point t_finished = FromMs(batch.at("finished_at_ms").as_int64());
    const double total_s = Ms(t_finished - t0) / 1000;
    std::printf("batch of %d jobs (%zu bytes), %d workers x %d handler threads\n", a.jobs,
                body_bytes, a.workers, a.concurrency);
    std::printf("  create (POST /v1/batches answered): %.1f ms\n", Ms(t_created - t0));
    std::printf("  last member final (on_complete enqueued): %.1f ms after the POST\n",
                Ms(t_finished - t0));
    std::printf("  on_complete started: %.1f ms after the last final\n",
                Ms(t_callback - t_finished));
    std::printf("batch_e2e_jobs_per_s=%.0f batch_e2e_ms=%.0f\n", a.jobs / total_s,
                Ms(t_callback - t0));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "jobtape_bench_batch: %s\n", e.what());
    return 1;
  }
  return 0;
}
