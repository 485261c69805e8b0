// Remote-worker benchmark (DESIGN §4: remote workers with batched claims
// >= 20,000 no-op jobs/s end to end over loopback).
//
// Starts the real `jobtape serve` binary (temp data directory on disk,
// durability full, --listen 127.0.0.1:0), pre-submits N no-op jobs in
// batches of 1,000 over a few connections, then runs W client::Worker
// instances in this process (each as a separate worker process would: its
// own claimer, C handler threads, heartbeater and completer, each with its
// own connection) with a no-op handler. Prints end-to-end jobs/s from the
// workers' start (their first claims) to the last completion acknowledged,
// the claim and completion request rates and batch sizes, the server's
// group commit, and the CPU seconds the server and this process used — the
// first place to look when the figure is short of the target.
//
// Usage: jobtape_bench_worker [--jobs N] [--workers W] [--concurrency C]
//            [--claim-batch B] [--submit-connections S] [--server-io-threads I]
//            [--dir DIR] [--server PATH]
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench_error.hpp"
#include "bench_options.hpp"
#include "bench_server.hpp"
#include "bench_workers.hpp"
#include "client/client.hpp"
#include "client/http_transport.hpp"

namespace jobtape::bench {
namespace {

using Clk = std::chrono::steady_clock;

struct Args {
  int jobs = 200'000;
  int workers = 4;
  int concurrency = 32;
  int claim_batch = 0;  // 0: free slots
  int submit_connections = 4;
  int server_io_threads = 0;  // 0: the server's default
  std::string dir = DefaultDir();
  std::string server = JOBTAPE_BINARY;
};

Args Parse(int argc, char** argv) {
  Args a;
  BenchOptions()
      .Int("--jobs", a.jobs)
      .Int("--workers", a.workers)
      .Int("--concurrency", a.concurrency)
      .Int("--claim-batch", a.claim_batch)
      .Int("--submit-connections", a.submit_connections)
      .Int("--server-io-threads", a.server_io_threads)
      .Str("--dir", a.dir)
      .Str("--server", a.server)
      .Parse(argc, argv);
  if (a.jobs < 1 || a.workers < 1 || a.concurrency < 1 || a.submit_connections < 1 ||
      a.claim_batch < 0) {
    Die("counts must be at least 1 (--claim-batch at least 0)");
  }
  return a;
}

// The server as a child process (bench_server.hpp).
class Server : public BenchServer {
 public:
  explicit Server(const Args& a)
      : BenchServer({.binary = a.server,
                     .dir = a.dir,
                     .name = "worker",
                     .io_threads = a.server_io_threads}) {}
};

// ---- measurements ----

// CPU seconds (user + system) of process `pid` so far, from /proc.
double ProcessCpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::size_t at = text.rfind(')');
  if (at == std::string::npos) return 0;
  // Fields after the command: state(3) ... utime(14) stime(15).
  std::vector<std::string> fields;
  std::size_t pos = at + 2;
  while (pos < text.size() && fields.size() < 13) {
    std::size_t next = text.find(' ', pos);
    if (next == std::string::npos) break;
    fields.push_back(text.substr(pos, next - pos));
    pos = next + 1;
  }
  if (fields.size() < 13) return 0;
  double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  return (std::atof(fields[11].c_str()) + std::atof(fields[12].c_str())) / ticks;
}

double SelfCpuSeconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

double MetricValue(const std::string& text, std::string_view name) {
  std::string needle = "\n" + std::string(name) + " ";
  std::size_t at = text.find(needle);
  return at == std::string::npos ? -1 : std::atof(text.c_str() + at + needle.size());
}

std::string Metrics(const client::ClientOptions& options) {
  client::HttpTransport transport(options);
  client::HttpRequest request;
  request.target = "/metrics";
  auto reply = transport.RoundTrip(request);
  return reply.ok() ? reply->body : std::string();
}

// Submits `jobs` no-op jobs in batches of 1,000 over `connections` clients.
double Submit(const client::ClientOptions& options, int jobs, int connections) {
  constexpr int kBatch = 1'000;
  std::atomic<int> next{0};
  std::atomic<bool> failed{false};
  std::string error;
  std::mutex mu;
  auto start = Clk::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < connections; ++t) {
    threads.emplace_back([&] {
      client::Client c(options);
      while (!failed) {
        int from = next.fetch_add(kBatch);
        if (from >= jobs) return;
        int n = std::min(kBatch, jobs - from);
        std::string body = R"({"jobs":[)";
        for (int i = 0; i < n; ++i) {
          if (i > 0) body += ',';
          body += R"({"kind":"bench.noop","queue":"bench","payload":{"n":)" +
                  std::to_string(from + i) + "}}";
        }
        body += "]}";
        auto r = c.SubmitRaw(std::move(body));
        if (!r.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          error = r.status().ToString();
          failed = true;
        }
      }
    });
  }
  for (auto& t : threads)
    t.join();
  if (failed) Die("submission failed: " + error);
  return std::chrono::duration<double>(Clk::now() - start).count();
}

}  // namespace
}  // namespace jobtape::bench

int main(int argc, char** argv) {
  using namespace jobtape;
  using namespace jobtape::bench;
  try {
    Args a = Parse(argc, argv);
    Server server(a);
    client::ClientOptions options;
    options.server.host = "127.0.0.1";
    options.server.port = server.port();

    double submit_s = Submit(options, a.jobs, a.submit_connections);
    std::printf("submitted %d jobs in %.3f s (%.0f jobs/s, batches of 1000)\n", a.jobs, submit_s,
                a.jobs / submit_s);
    std::string before = Metrics(options);

    BenchWorkers workers(options, {.workers = a.workers,
                                   .concurrency = a.concurrency,
                                   .claim_batch = a.claim_batch,
                                   .id_prefix = "bench-"});
    const double server_cpu0 = ProcessCpuSeconds(server.pid());
    const double self_cpu0 = SelfCpuSeconds();
    const auto start = Clk::now();
    workers.Start();
    // Sum the workers' acknowledged completions; a 2 ms poll bounds the
    // error of the end time (the workers themselves never poll).
    client::WorkerCounters total;
    const auto give_up = start + std::chrono::minutes(10);
    while (true) {
      total = workers.counters();
      if (total.completed + total.failed + total.lost_leases >= a.jobs) break;
      if (Clk::now() > give_up) Die("the workers did not finish within 10 minutes");
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    const double elapsed = std::chrono::duration<double>(Clk::now() - start).count();
    const double server_cpu = ProcessCpuSeconds(server.pid()) - server_cpu0;
    const double self_cpu = SelfCpuSeconds() - self_cpu0;
    workers.Stop();
    std::string after = Metrics(options);

    std::printf("workers: %d x %d handler threads, claim batch %s, %lld jobs in %.3f s\n",
                a.workers, a.concurrency,
                a.claim_batch == 0 ? "= free slots" : std::to_string(a.claim_batch).c_str(),
                static_cast<long long>(total.completed), elapsed);
    std::printf(
        "  claims: %lld requests (%.0f/s), %.1f jobs per claim\n",
        static_cast<long long>(total.claim_requests), total.claim_requests / elapsed,
        total.claim_requests > 0 ? static_cast<double>(total.claimed) / total.claim_requests : 0.0);
    std::printf("  completes: %lld requests (%.0f/s), %.1f jobs per request\n",
                static_cast<long long>(total.complete_requests), total.complete_requests / elapsed,
                total.complete_requests > 0
                    ? static_cast<double>(total.completed) / total.complete_requests
                    : 0.0);
    std::printf("  failed %lld, lost leases %lld, heartbeats %lld\n",
                static_cast<long long>(total.failed), static_cast<long long>(total.lost_leases),
                static_cast<long long>(total.heartbeats));
    double commits = MetricValue(after, "jobtape_store_commits_total") -
                     MetricValue(before, "jobtape_store_commits_total");
    double writes = MetricValue(after, "jobtape_store_write_requests_total") -
                    MetricValue(before, "jobtape_store_write_requests_total");
    std::printf("  store: %.0f commits (%.0f/s), %.1f write requests/commit\n", commits,
                commits / elapsed, commits > 0 ? writes / commits : 0.0);
    std::printf("  cpu: server %.2f s (%.0f%% of one core), workers %.2f s (%.0f%%), %ld cores\n",
                server_cpu, 100 * server_cpu / elapsed, self_cpu, 100 * self_cpu / elapsed,
                ::sysconf(_SC_NPROCESSORS_ONLN));
    std::printf("worker_e2e_jobs_per_s=%.0f (target >= 20000)\n", total.completed / elapsed);
    if (total.completed != a.jobs) {
      std::fprintf(stderr, "warning: %lld of %d jobs completed\n",
                   static_cast<long long>(total.completed), a.jobs);
      return 1;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "jobtape_bench_worker: %s\n", e.what());
    return 1;
  }
  return 0;
}
