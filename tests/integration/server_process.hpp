// ChildProcess / ServerProcess: the real `jobtape` binary as a child process
// (`jobtape serve`, `jobtape worker`, ...), for the integration tests. A
// server listens on 127.0.0.1:0 with a temp data directory. Output is read
// line by line on a thread, and tests wait on lines ("listening on
// http://127.0.0.1:PORT", "stopped") and on exit instead of sleeping. Every
// wait is bounded by a guard so a bug fails the test rather than hanging it.
//
// Thread-safety: one test thread drives a process object; the reader thread
// only appends output under a mutex.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace jobtape::integration {

// Generous, because the same tests run under the sanitizers on a busy 2-core machine.
inline constexpr std::chrono::seconds kGuard(60);

// A fresh directory under $TMPDIR (or /tmp), removed with its contents.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// True once process `pid` is gone (waits on a pidfd, no sleeping; works for
// any process, not only children), false if it still runs when `guard` passes.
bool WaitForProcessGone(pid_t pid, std::chrono::milliseconds guard = kGuard);
// True while `pid` exists (kill(pid, 0)).
bool ProcessExists(pid_t pid);

// A jobtape process (`jobtape <args...>`) as a child: its environment is the
// test's without JOBTAPE_* variables, plus `env`; stdout and stderr are read
// line by line on a thread. The destructor SIGKILLs it if it still runs and
// fails the test if it reported a sanitizer error.
class ChildProcess {
 public:
  ChildProcess(std::vector<std::string> args, std::map<std::string, std::string> env,
               std::string what);
  virtual ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Waits for an output line containing `needle` (printed at any time so far).
  bool WaitForLine(std::string_view needle, std::chrono::milliseconds guard = kGuard);
  // Sends a signal to the process (unless it was reaped).
  void Signal(int sig);
  // Waits for the process to end; its exit code (128 + signal if killed), or
  // nullopt if it still ran when the guard ran out.
  std::optional<int> WaitForExit(std::chrono::milliseconds guard = kGuard);
  // Everything it printed so far.
  std::string Output() const;
  pid_t pid() const { return pid_; }

 protected:
  // The lines so far (for subclasses that parse them).
  std::vector<std::string> Lines() const;

 private:
  void ReadOutput(int fd);

  const std::string what_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::thread reader_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;  // GUARDED_BY(mu_)
  std::string partial_;             // GUARDED_BY(mu_)
  bool eof_ = false;                // GUARDED_BY(mu_)
};

// `jobtape serve --data-dir <data_dir> --log-format text --listen
// 127.0.0.1:0 <extra...>` (without the --listen when `extra` has one). Does
// not wait for it to listen.
class ServerProcess : public ChildProcess {
 public:
  ServerProcess(const std::string& data_dir, std::vector<std::string> extra = {},
                std::map<std::string, std::string> env = {});

  // Waits for the "listening on" line; false if the process exited or the
  // guard ran out first. Then port() is the bound port.
  bool WaitForListening(std::chrono::milliseconds guard = kGuard);
  uint16_t port() const { return port_; }

 private:
  uint16_t port_ = 0;
};

}  // namespace jobtape::integration
