// ProcessRunner: spawns the commands of job attempts and supervises them
// asynchronously, for the server's built-in executor and `jobtape worker`.
//
// One supervisor thread, owned by the runner, does all the work: it forks
// every child (PR_SET_PDEATHSIG fires when the *thread* that forked dies, so
// forking from short-lived threads would kill children at random; see
// spawn.hpp), and one epoll loop serves every child's pipes and pidfd and all
// deadlines. Spawn/Terminate/Kill only enqueue a command and wake the loop, so
// they never block on a process.
//
// Per child:
//   * stdin receives `stdin_data` (the payload) through a non-blocking pipe,
//     interleaved with reading output, so a child that never reads its stdin
//     cannot deadlock the runner; then stdin is closed. If the child exits or
//     closes stdin early, the unwritten rest is dropped.
//   * stdout and stderr are split into lines (LineSplitter): on_line(stream,
//     line, cut) is called in order per stream (no order between streams).
//   * when the leader exits, its whole process group gets SIGKILL before the
//     leader is reaped (so the group id cannot have been reused): a
//     `sh -c 'sleep 100 &'` grandchild does not survive its parent. A process
//     that left the group (setsid) is out of reach.
//   * on_exit(ExitInfo) is called exactly once, after both pipes reached EOF,
//     or after `drain_timeout` if something outside the group still holds
//     them open (then `output_abandoned`). Spawn failures are delivered the
//     same way, also exactly once.
//
// Callbacks run on the supervisor thread, one at a time. They must not block
// (hand work to another thread) and must not call Shutdown() or destroy the
// runner; calling Spawn/Terminate/Kill from them is fine. Timeouts and grace
// periods use CLOCK_MONOTONIC: they supervise real processes, not virtual time.
//
// The runner reaps its children with waitpid(pid). Nothing else in the process
// may reap them (no waitpid(-1), no SIGCHLD = SIG_IGN), or the exit status is
// lost (ExitInfo::Kind::kUnknown).
//
// Thread-safety: every public method is safe from any thread, except that
// Shutdown() and the destructor must not run on the supervisor thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/status.hpp"
#include "exec/protocol.hpp"

namespace jobtape::exec {

using ChildId = uint64_t;

// Bytes buffered per line per stream before the line is cut: above the
// OutputLimiter's per-line default (16 KiB) so the limiter sees and reports
// the cut, small enough that 1,000 children cost at most 128 MiB.
inline constexpr std::size_t kDefaultPipeLineBytes = 64 * 1024;
// How long after the leader's exit the runner waits for the output pipes to
// reach EOF (only a process that escaped the group can hold them that long).
inline constexpr Duration kDefaultDrainTimeout = std::chrono::seconds(5);

struct ExitInfo {
  enum class Kind : uint8_t {
    kExited,       // exit_code is valid
    kSignaled,     // signal is valid (SIGKILL after timed_out / Kill(), or foreign)
    kSpawnFailed,  // nothing ran: spawn_stage/spawn_errno/message
    kUnknown,      // the status was reaped by someone else (see the file comment)
  };
  Kind kind = Kind::kUnknown;
  int exit_code = -1;
  int signal = 0;
  bool timed_out = false;         // the runner killed it because `timeout` passed
  bool terminated = false;        // Terminate(), Kill() or Shutdown() was requested
  bool output_abandoned = false;  // pipes were still open drain_timeout after exit
  pid_t pid = -1;                 // -1 if never forked
  std::string spawn_stage;        // kSpawnFailed: "resolve", "chdir", "exec", ...
  int spawn_errno = 0;            // kSpawnFailed
  std::string message;            // human summary: "exited with code 3", "exec /x: No such file..."
};

struct SpawnRequest {
  // argv[0]: absolute path, or a bare name looked up in the PATH of `env`
  // (else kDefaultChildPath) at spawn time.
  std::vector<std::string> argv;
  // The complete environment, "NAME=value". Nothing is inherited from the
  // server; attempt.hpp builds the standard one for a kind.
  std::vector<std::string> env;
  std::string working_dir;          // empty = the server's cwd
  std::string stdin_data;           // written to stdin, then stdin is closed
  std::optional<Duration> timeout;  // from fork; then SIGKILL to the group
  std::size_t max_line_bytes = kDefaultPipeLineBytes;

  std::function<void(pid_t pid)> on_start;  // optional; after a successful exec
  // Optional. `line` excludes '\n' and is valid only during the call; `cut`
  // means bytes beyond max_line_bytes were discarded.
  std::function<void(Stream stream, std::string_view line, bool cut)> on_line;
  std::function<void(const ExitInfo& info)> on_exit;  // required
};

struct RunnerOptions {
  Duration drain_timeout = kDefaultDrainTimeout;
};

class ProcessRunner {
 public:
  // Starts the supervisor thread. Fails (kInternal) if epoll/eventfd cannot be
  // created.
  static Result<std::unique_ptr<ProcessRunner>> Create(RunnerOptions options = {});
  // Shutdown().
  ~ProcessRunner();
  ProcessRunner(const ProcessRunner&) = delete;
  ProcessRunner& operator=(const ProcessRunner&) = delete;

  // Queues a spawn and returns the child's id at once. Every later outcome,
  // including a spawn failure, arrives through the callbacks. Errors:
  // kInvalidArgument (empty argv or no on_exit), kUnavailable (shut down).
  Result<ChildId> Spawn(SpawnRequest request);

  // SIGTERM to the child's process group, then SIGKILL to the group after
  // `grace` unless the leader has exited. A zero grace is Kill(). No-op for an
  // unknown id or a child whose leader already exited. Never blocks.
  void Terminate(ChildId id, Duration grace);
  // SIGKILL to the child's process group. Same no-op cases as Terminate.
  void Kill(ChildId id);

  // SIGKILL to every child's group (spawns still queued fail with
  // spawn_stage "shutdown"), waits until
  // every on_exit has run, and stops the supervisor. Idempotent. For a
  // graceful stop, Terminate() each child first and wait for their on_exit.
  void Shutdown();

  // Children spawned and not yet reported by on_exit (a test/metrics signal).
  std::size_t live_children() const;

 private:
  class Supervisor;
  explicit ProcessRunner(std::unique_ptr<Supervisor> supervisor);

  std::unique_ptr<Supervisor> supervisor_;
};

}  // namespace jobtape::exec
