// BenchServer: the real `jobtape serve` binary as a child process for the
// benchmarks that drive it over HTTP (http, worker, batch). Fresh data
// directory under `dir`, durability full, 127.0.0.1 on a free port; waits for
// "listening on" (30 s at most), drains its output on a thread so it never
// blocks on a full pipe, and on destruction sends SIGTERM (SIGKILL after
// 20 s) and removes the data directory. Errors throw std::runtime_error:
// benchmarks are programs that either run or stop with a message.
//
// Thread-safety: one thread owns a BenchServer.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace jobtape::bench {

struct BenchServerOptions {
  std::string binary;              // the jobtape executable
  std::string dir;                 // parent of the temporary data directory
  std::string name;                // "http", "worker": names the data directory
  int io_threads = 0;              // 0: the server's default
  std::vector<std::string> extra;  // more `serve` arguments
};

class BenchServer {
 public:
  explicit BenchServer(const BenchServerOptions& options);
  ~BenchServer();
  BenchServer(const BenchServer&) = delete;
  BenchServer& operator=(const BenchServer&) = delete;

  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string dir_;
  std::thread reader_;
  std::mutex mu_;
  std::string output_;  // GUARDED_BY(mu_) once reader_ runs
};

}  // namespace jobtape::bench
