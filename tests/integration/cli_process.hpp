// CliProcess: one run of a `jobtape` client command (submit, watch, ls, ...)
// as a child process, for the CLI end-to-end tests. Its environment is the
// test's, cleared of JOBTAPE_* and given `env` (JOBTAPE_URL, ...); stdin is
// the given text; stdout and stderr are collected separately on threads, so
// a test can wait for an output line of a command still running (`watch`)
// instead of sleeping. Every wait is bounded by a guard.
//
// Thread-safety: one test thread drives a CliProcess.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "server_process.hpp"

namespace jobtape::integration {

class CliProcess {
 public:
  CliProcess(std::vector<std::string> args, std::map<std::string, std::string> env,
             std::string stdin_text = {});
  ~CliProcess();  // SIGKILLs the process if it still runs
  CliProcess(const CliProcess&) = delete;
  CliProcess& operator=(const CliProcess&) = delete;

  // Waits for a stdout line containing `needle`; false on exit or guard first.
  bool WaitForLine(std::string_view needle, std::chrono::milliseconds guard = kGuard);
  // Waits for the exit; the exit code, or nullopt when the guard ran out.
  std::optional<int> Wait(std::chrono::milliseconds guard = kGuard);
  std::string Stdout() const;
  std::string Stderr() const;

 private:
  struct Stream {
    std::string text;
    bool eof = false;
  };
  void Read(int fd, Stream& into);

  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::thread out_reader_, err_reader_, in_writer_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  Stream out_, err_;  // GUARDED_BY(mu_)
};

// Runs a command to its end: {exit code (-1 if the guard ran out), stdout, stderr}.
struct CliResult {
  int code = -1;
  std::string out;
  std::string err;
};
CliResult RunCli(std::vector<std::string> args, std::map<std::string, std::string> env,
                 std::string stdin_text = {});

}  // namespace jobtape::integration
