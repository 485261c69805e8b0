// Helpers shared by the exec tests: a temporary directory and a runner that
// collects one child's lines and exit, with failure-guard timeouts only.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "exec/process.hpp"

namespace jobtape::exec::testing {

// Generous: a guard against hangs on a loaded 2-core machine under TSan, never
// a synchronisation device.
inline constexpr auto kGuard = std::chrono::seconds(30);

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "jobtape-exec-XXXXXX").string();
    char* p = mkdtemp(tmpl.data());
    EXPECT_NE(p, nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string Write(const std::string& name, const std::string& text) const {
    std::string file = path_ + "/" + name;
    std::ofstream(file, std::ios::binary | std::ios::trunc) << text;
    return file;
  }

 private:
  std::string path_;
};

// Everything one child reported, filled in by the runner's callbacks.
struct ChildLog {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> out, err;
  std::vector<bool> cut;
  int exits = 0;
  ExitInfo info;
  pid_t started_pid = -1;

  // Wires the callbacks of `req` to this log.
  void Attach(SpawnRequest& req) {
    req.on_start = [this](pid_t pid) {
      std::lock_guard lock(mu);
      started_pid = pid;
    };
    req.on_line = [this](Stream s, std::string_view line, bool was_cut) {
      std::lock_guard lock(mu);
      (s == Stream::kStdout ? out : err).emplace_back(line);
      cut.push_back(was_cut);
      cv.notify_all();
    };
    req.on_exit = [this](const ExitInfo& i) {
      std::lock_guard lock(mu);
      info = i;
      ++exits;
      cv.notify_all();
    };
  }
  // True once on_exit ran (false after the guard timeout).
  bool WaitExit() {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, kGuard, [&] { return exits > 0; });
  }
  // True once stdout has at least `n` lines.
  bool WaitStdoutLines(std::size_t n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, kGuard, [&] { return out.size() >= n || exits > 0; }) &&
           out.size() >= n;
  }
};

// A runner with `options`; a failure to create one fails the test.
inline std::unique_ptr<ProcessRunner> NewRunner(RunnerOptions options = {}) {
  auto r = ProcessRunner::Create(options);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return std::move(r).value();
}

inline SpawnRequest Shell(const std::string& script) {
  SpawnRequest req;
  req.argv = {"/bin/sh", "-c", script};
  req.env = {"PATH=/usr/bin:/bin"};
  return req;
}

}  // namespace jobtape::exec::testing
