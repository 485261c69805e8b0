// HTTP benchmark (issue 3, DESIGN §4): the real `jobtape serve` binary over
// loopback, driven by an async Beast/Asio client with keep-alive connections.
// Each phase starts a fresh server (temp data directory on disk, durability
// full, default settings, --listen 127.0.0.1:0) and stops it with SIGTERM.
//
//   single     C connections, each sending POST /v1/jobs with one small job
//              back to back, until N requests or D seconds; requests/s
//              (target >= 30,000);
//   batch      a few connections sending POST /v1/jobs {"jobs":[1,000 jobs]}
//              back to back; jobs/s (target >= 200,000);
//   latency    an idle server with one worker long-polling POST /v1/claims
//              (wait_ms) on its own connection: submit one job, time until the
//              claim response arrives (the claim wrote `started`), complete it,
//              repeat; p50/p99 (targets: p50 <= 1 ms, p99 <= 5 ms).
//
// Usage: jobtape_bench_http [--connections C] [--requests N] [--duration S]
//            [--batch-connections B] [--batches K] [--latency-samples L]
//            [--client-threads T] [--server-io-threads I] [--dir DIR]
//            [--server PATH] [--only single|batch|latency]
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/parse.hpp>

#include "bench_error.hpp"
#include "bench_options.hpp"
#include "bench_server.hpp"
#include "fdatasync_probe.hpp"

namespace jobtape::bench {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;
using Clk = std::chrono::steady_clock;

struct Args {
  int connections = 128;
  int requests = 200'000;
  double duration_s = 10;
  int batch_connections = 4;
  int batches = 400;  // of 1,000 jobs
  int latency_samples = 2'000;
  int client_threads = 1;
  int server_io_threads = 0;  // 0: the server's default
  std::string dir = DefaultDir();
  std::string server = JOBTAPE_BINARY;
  std::string only;
};

Args Parse(int argc, char** argv) {
  Args a;
  BenchOptions()
      .Int("--connections", a.connections)
      .Int("--requests", a.requests)
      .Double("--duration", a.duration_s)
      .Int("--batch-connections", a.batch_connections)
      .Int("--batches", a.batches)
      .Int("--latency-samples", a.latency_samples)
      .Int("--client-threads", a.client_threads)
      .Int("--server-io-threads", a.server_io_threads)
      .Str("--dir", a.dir)
      .Str("--server", a.server)
      .Str("--only", a.only)
      .Parse(argc, argv);
  if (a.connections < 1 || a.batch_connections < 1 || a.client_threads < 1 || a.requests < 1 ||
      a.batches < 1 || a.latency_samples < 1) {
    Die("counts must be at least 1");
  }
  if (!a.only.empty() && a.only != "single" && a.only != "batch" && a.only != "latency") {
    Die("--only takes single, batch or latency");
  }
  return a;
}

// The server as a child process (bench_server.hpp), plus its address.
class Server : public BenchServer {
 public:
  explicit Server(const Args& a)
      : BenchServer(
            {.binary = a.server, .dir = a.dir, .name = "http", .io_threads = a.server_io_threads}) {
  }
  tcp::endpoint endpoint() const { return {asio::ip::make_address_v4("127.0.0.1"), port()}; }
};

// ---- requests ----

std::string Post(std::string_view target, std::string_view body) {
  std::string r = "POST ";
  r.append(target);
  r += " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ";
  r += std::to_string(body.size());
  r += "\r\n\r\n";
  r.append(body);
  return r;
}

std::string Get(std::string_view target) {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
}

constexpr std::string_view kSmallJob = R"({"kind":"bench.noop","queue":"bench","payload":{"n":1}})";

std::string BatchBody(int jobs) {
  std::string b = R"({"jobs":[)";
  for (int i = 0; i < jobs; ++i) {
    if (i > 0) b += ',';
    b += R"({"kind":"bench.noop","queue":"bench","payload":{"n":)" + std::to_string(i) + "}}";
  }
  return b + "]}";
}

// ---- throughput: many keep-alive connections sending one request back to back ----

struct Load {
  std::string request;  // sent as is on every connection
  int64_t limit = 0;    // requests in all
  Clk::time_point deadline;
  std::atomic<int64_t> issued{0};
  std::atomic<int64_t> ok{0};
  std::atomic<int64_t> failed{0};
  std::mutex mu;
  std::string first_error;  // GUARDED_BY(mu)

  void Error(const std::string& e) {
    failed.fetch_add(1);
    std::lock_guard<std::mutex> lock(mu);
    if (first_error.empty()) first_error = e;
  }
};

asio::awaitable<void> Sender(tcp::socket socket, Load& load) {
  boost::beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> response;
  while (load.issued.fetch_add(1) < load.limit && Clk::now() < load.deadline) {
    co_await asio::async_write(socket, asio::buffer(load.request), asio::use_awaitable);
    response = {};
    co_await bhttp::async_read(socket, buffer, response, asio::use_awaitable);
    if (response.result_int() == 201) {
      load.ok.fetch_add(1);
    } else {
      load.Error("status " + std::to_string(response.result_int()) + ": " + response.body());
    }
  }
}

struct Throughput {
  int64_t requests = 0;
  double seconds = 0;
  double per_s = 0;
};

Throughput Run(const tcp::endpoint& ep, int connections, int threads, std::string request,
               int64_t limit, double duration_s) {
  asio::io_context ioc(threads);
  // Connect every connection before the clock starts.
  std::vector<tcp::socket> sockets;
  for (int i = 0; i < connections; ++i) {
    tcp::socket s(ioc);
    s.connect(ep);
    s.set_option(tcp::no_delay(true));
    sockets.push_back(std::move(s));
  }
  Load load;
  load.request = std::move(request);
  load.limit = limit;
  auto t0 = Clk::now();
  load.deadline =
      t0 + std::chrono::duration_cast<Clk::duration>(std::chrono::duration<double>(duration_s));
  for (auto& s : sockets) {
    asio::co_spawn(ioc, Sender(std::move(s), load), [&load](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        load.Error(ex.what());
      }
    });
  }
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i)
    pool.emplace_back([&] { ioc.run(); });
  ioc.run();
  for (auto& t : pool)
    t.join();
  Throughput r;
  r.seconds = std::chrono::duration<double>(Clk::now() - t0).count();
  r.requests = load.ok.load();
  r.per_s = static_cast<double>(r.requests) / r.seconds;
  if (load.failed.load() > 0) {
    Die(std::to_string(load.failed.load()) + " request(s) failed; first: " + load.first_error);
  }
  return r;
}

// ---- latency: synchronous, one worker connection and one submitter ----

struct Conn {
  explicit Conn(asio::io_context& ioc, const tcp::endpoint& ep) : socket(ioc) {
    socket.connect(ep);
    socket.set_option(tcp::no_delay(true));
  }
  void Send(const std::string& request) { asio::write(socket, asio::buffer(request)); }
  const bhttp::response<bhttp::string_body>& Receive() {
    response = {};
    bhttp::read(socket, buffer, response);
    return response;
  }
  const bhttp::response<bhttp::string_body>& Call(const std::string& request) {
    Send(request);
    return Receive();
  }
  tcp::socket socket;
  boost::beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> response;
};

// The value of an unlabelled series in Prometheus text, or -1.
double MetricValue(const std::string& text, std::string_view name) {
  std::string needle = "\n" + std::string(name) + " ";
  std::size_t at = text.find(needle);
  return at == std::string::npos ? -1 : std::atof(text.c_str() + at + needle.size());
}

// The store's group commit during a phase, from the server's /metrics.
void PrintStoreStats(const tcp::endpoint& ep) {
  asio::io_context ioc;
  Conn c(ioc, ep);
  const auto& r = c.Call(Get("/metrics"));
  double commits = MetricValue(r.body(), "jobtape_store_commits_total");
  double requests = MetricValue(r.body(), "jobtape_store_write_requests_total");
  double max_batch = MetricValue(r.body(), "jobtape_store_commit_batch_max");
  std::printf("  store: %.0f commits, %.1f write requests/commit (max %.0f)\n", commits,
              commits > 0 ? requests / commits : 0, max_batch);
}

// The jobtape_claim_waiters gauge of /metrics.
int ClaimWaiters(Conn& c) {
  static const std::string kRequest = Get("/metrics");
  const auto& r = c.Call(kRequest);
  const std::string& text = r.body();
  constexpr std::string_view kName = "\njobtape_claim_waiters ";
  std::size_t at = text.find(kName);
  if (r.result_int() != 200 || at == std::string::npos) Die("no jobtape_claim_waiters in /metrics");
  return std::atoi(text.c_str() + at + kName.size());
}

void Latency(const tcp::endpoint& ep, int samples, double& p50_ms, double& p99_ms) {
  asio::io_context ioc;
  Conn worker(ioc, ep), submitter(ioc, ep), probe(ioc, ep);
  const std::string claim = Post("/v1/claims", R"({"queues":["lat"],"max":1,"wait_ms":10000})");
  const std::string submit = Post("/v1/jobs", R"({"kind":"bench.noop","queue":"lat"})");
  std::vector<double> ms;
  ms.reserve(static_cast<std::size_t>(samples));
  for (int i = 0; i < samples; ++i) {
    worker.Send(claim);
    // Submit only once the claim is parked: the idle-server case.
    auto until = Clk::now() + std::chrono::seconds(10);
    while (ClaimWaiters(probe) != 1) {
      if (Clk::now() > until) Die("the claim never parked");
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    auto t0 = Clk::now();
    submitter.Send(submit);
    const auto& claimed = worker.Receive();
    auto t1 = Clk::now();
    if (claimed.result_int() != 200) Die("claim: " + claimed.body());
    boost::json::value v = boost::json::parse(claimed.body());
    const auto& jobs = v.at("jobs").as_array();
    if (jobs.size() != 1) Die("claim returned " + std::to_string(jobs.size()) + " jobs");
    const auto& lease = jobs[0].at("lease");
    std::string target = "/v1/leases/" + std::to_string(lease.at("job_id").to_number<int64_t>()) +
                         "/" + std::to_string(lease.at("attempt").to_number<int64_t>()) +
                         "/complete";
    std::string body =
        R"({"lease_token":")" + std::string(lease.at("lease_token").as_string().c_str()) + "\"}";
    const auto& submitted = submitter.Receive();
    if (submitted.result_int() != 201) Die("submit: " + submitted.body());
    const auto& completed = worker.Call(Post(target, body));
    if (completed.result_int() != 200) Die("complete: " + completed.body());
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  p50_ms = ms[ms.size() / 2];
  p99_ms = ms[ms.size() * 99 / 100];
}

}  // namespace
}  // namespace jobtape::bench

int main(int argc, char** argv) {
  using namespace jobtape::bench;
  ::signal(SIGPIPE, SIG_IGN);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  try {
    Args a = Parse(argc, argv);
    PrintFdatasyncMicros(a.dir, "http");
    if (a.only.empty() || a.only == "single") {
      Server server(a);
      Throughput t = Run(server.endpoint(), a.connections, a.client_threads,
                         Post("/v1/jobs", kSmallJob), a.requests, a.duration_s);
      std::printf("single: %lld requests on %d connections in %.3f s\n",
                  static_cast<long long>(t.requests), a.connections, t.seconds);
      PrintStoreStats(server.endpoint());
      std::printf("http_single_submit_per_s=%.0f (target >= 30000)\n", t.per_s);
    }
    if (a.only.empty() || a.only == "batch") {
      Server server(a);
      constexpr int kJobsPerBatch = 1000;
      Throughput t = Run(server.endpoint(), a.batch_connections, a.client_threads,
                         Post("/v1/jobs", BatchBody(kJobsPerBatch)), a.batches, a.duration_s);
      std::printf("batch: %lld requests of %d jobs on %d connections in %.3f s\n",
                  static_cast<long long>(t.requests), kJobsPerBatch, a.batch_connections,
                  t.seconds);
      PrintStoreStats(server.endpoint());
      std::printf("http_batch_submit_jobs_per_s=%.0f (target >= 200000)\n",
                  t.per_s * kJobsPerBatch);
    }
    if (a.only.empty() || a.only == "latency") {
      Server server(a);
      double p50 = 0, p99 = 0;
      Latency(server.endpoint(), a.latency_samples, p50, p99);
      std::printf("latency: %d samples\n", a.latency_samples);
      std::printf("http_submit_to_started_p50_ms=%.3f (target <= 1)\n", p50);
      std::printf("http_submit_to_started_p99_ms=%.3f (target <= 5)\n", p99);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "jobtape_bench_http: %s\n", e.what());
    return 1;
  }
  return 0;
}
