// Fork/exec of one child into its own process group, with pipes for its stdio.
// Internal to ProcessRunner (process.hpp), which calls it only from its
// supervisor thread; exposed for its tests and for reuse by that runner alone.
//
// Hand-written: no Debian 12 package spawns with PR_SET_PDEATHSIG (Boost.Process
// v2 and posix_spawn cannot run code in the child between fork and exec).
//
// What the child gets:
//   * its own process group (setpgid(0,0)), so the runner can signal the
//     command together with everything it started;
//   * PR_SET_PDEATHSIG = SIGKILL, with the getppid() race check: if the forking
//     *thread* dies (the runner's supervisor, i.e. the server), the leader is
//     killed by the kernel. Grandchildren are not covered by this; the runner
//     kills the group when the leader exits, and a server killed with -9 cannot
//     (a cgroup per attempt would be the complete answer; not done yet);
//   * fd 0 = read end of the stdin pipe, fd 1/2 = write ends of the output
//     pipes; every other descriptor is closed at exec (close_range
//     CLOSE_RANGE_CLOEXEC, whatever the rest of the process forgot to mark);
//   * an empty signal mask and default dispositions for every signal (the
//     server blocks or ignores some; SIGPIPE ignored would survive exec);
//   * exactly the environment given, and `working_dir` if non-empty.
//
// Between fork and exec the child makes only async-signal-safe calls on data
// prepared before fork. A failure there (chdir, exec, ...) is written to a
// CLOEXEC error pipe as {stage, errno}; the parent reads that pipe to EOF, so
// exec failure is a value, never a guess from exit code 127.
//
// Thread-safety: ForkExec may run on any thread, but PDEATHSIG ties the child
// to that thread's lifetime; ProcessRunner keeps it on one long-lived thread.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "exec/unique_fd.hpp"

namespace jobtape::exec {

// The PATH a child gets when its environment sets none: enough to find the
// usual system tools, nothing user-writable.
inline constexpr std::string_view kDefaultChildPath = "/usr/local/bin:/usr/bin:/bin";

struct SpawnPlan {
  std::string program;  // absolute path to execve()
  std::vector<std::string> argv;
  std::vector<std::string> env;  // "NAME=value", the complete environment
  std::string working_dir;       // empty = inherit the server's cwd
};

struct SpawnedChild {
  pid_t pid = -1;     // also the process group id
  UniqueFd pidfd;     // pidfd_open(pid): readable once the leader has exited
  UniqueFd stdin_w;   // O_NONBLOCK
  UniqueFd stdout_r;  // O_NONBLOCK
  UniqueFd stderr_r;  // O_NONBLOCK
};

struct SpawnError {
  std::string stage;    // "resolve", "pipe", "fork", "setpgid", "chdir", "exec", ...
  int error = 0;        // errno
  std::string message;  // e.g. "exec /usr/bin/x: No such file or directory"
};

// Resolves argv[0]: an absolute path is returned as is (if it exists and is
// executable); a bare name is looked up in the PATH entry of `env` (else
// kDefaultChildPath), like execvp, but in the parent so that "not found" is a
// clear value. Returns false and fills `error` on failure.
bool ResolveProgram(const std::string& argv0, const std::vector<std::string>& env,
                    std::string& program, SpawnError& error);

// Forks and execs `plan`. On success fills `child` and returns true; the child
// has exec'd (or died right after). On failure no child remains (it was
// reaped) and `error` says why.
bool ForkExec(const SpawnPlan& plan, SpawnedChild& child, SpawnError& error);

}  // namespace jobtape::exec
