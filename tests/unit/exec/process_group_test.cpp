// ProcessRunner and process groups: timeouts, Terminate/Kill, the leader's
// exit and Shutdown all take down the whole group, proven by the pid of a
// background grandchild that each script prints.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>
#include "exec/pidfd.hpp"

#include <chrono>
#include <memory>

#include "exec/process.hpp"
#include "test_util.hpp"

namespace jobtape::exec {
namespace {

using testing::ChildLog;
using testing::kGuard;
using testing::NewRunner;
using testing::Shell;
using Steady = std::chrono::steady_clock;

// A pidfd on the grandchild whose pid is `line`; -1 on failure. The process
// must be alive: the scripts keep it sleeping until the runner kills it.
class Watched {
 public:
  explicit Watched(const std::string& line) : pid_(std::stoi(line)), fd_(pidfd_open(pid_, 0)) {}
  ~Watched() {
    if (fd_ >= 0) {
      pidfd_send_signal(fd_, SIGKILL, nullptr, 0);  // clean up after a failed test
      close(fd_);
    }
  }
  bool valid() const { return fd_ >= 0; }
  pid_t pid() const { return pid_; }
  // True once the process has exited (pidfd readable); false after the guard.
  bool WaitGone() const {
    pollfd p{fd_, POLLIN, 0};
    int ms = static_cast<int>(std::chrono::milliseconds(kGuard).count());
    return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
  }

 private:
  pid_t pid_;
  int fd_;
};

// Spawns `req` (already attached to `log`) and returns a pidfd on the
// grandchild whose pid the script prints as its first stdout line.
// `id` receives the child's id.
std::unique_ptr<Watched> SpawnAndWatch(ProcessRunner& runner, SpawnRequest req, ChildLog& log,
                                       ChildId* id = nullptr) {
  auto spawned = runner.Spawn(std::move(req));
  EXPECT_TRUE(spawned.ok());
  if (id != nullptr && spawned.ok()) *id = *spawned;
  EXPECT_TRUE(log.WaitStdoutLines(1)) << "no grandchild pid";
  std::lock_guard lock(log.mu);
  if (log.out.empty()) return nullptr;
  auto w = std::make_unique<Watched>(log.out[0]);
  EXPECT_TRUE(w->valid()) << "grandchild " << log.out[0] << " already gone";
  // It really is in the child's group (so only a group kill reaches it).
  EXPECT_EQ(getpgid(w->pid()), log.started_pid);
  return w;
}

// A script that prints a background grandchild's pid, on its own runner.
class ProcessGroup : public ::testing::Test {
 protected:
  // Spawns `script` (see SpawnAndWatch); fails fatally unless its grandchild
  // is being watched.
  void SpawnGroup(const std::string& script) {
    SpawnRequest req = Shell(script);
    log_.Attach(req);
    runner_ = NewRunner();
    grandchild_ = SpawnAndWatch(*runner_, std::move(req), log_, &id_);
    ASSERT_TRUE(grandchild_ && grandchild_->valid());
  }

  ChildLog log_;
  std::unique_ptr<ProcessRunner> runner_;
  ChildId id_ = 0;
  std::unique_ptr<Watched> grandchild_;  // destroyed first: SIGKILLs a survivor
};

TEST_F(ProcessGroup, LeaderExitKillsBackgroundGrandchild) {
  // The leader exits 0 when told (SIGUSR1) and leaves `sleep 100` behind,
  // still holding the stdout pipe.
  ASSERT_NO_FATAL_FAILURE(SpawnGroup("trap 'exit 0' USR1; sleep 100 & echo $!; wait"));
  ASSERT_EQ(kill(log_.started_pid, SIGUSR1), 0);
  ASSERT_TRUE(log_.WaitExit());
  EXPECT_EQ(log_.info.kind, ExitInfo::Kind::kExited);
  EXPECT_EQ(log_.info.exit_code, 0);
  EXPECT_FALSE(log_.info.output_abandoned);
  EXPECT_TRUE(grandchild_->WaitGone()) << "grandchild " << grandchild_->pid() << " survived";
}

TEST_F(ProcessGroup, TimeoutKillsTheWholeGroupIncludingGrandchild) {
  constexpr auto kTimeout = std::chrono::milliseconds(1500);
  ChildLog log;
  SpawnRequest req = Shell("sleep 100 & echo $!; wait");
  req.timeout = kTimeout;
  log.Attach(req);
  auto runner = NewRunner();
  auto start = Steady::now();
  auto grandchild = SpawnAndWatch(*runner, std::move(req), log);
  ASSERT_TRUE(grandchild && grandchild->valid());
  ASSERT_TRUE(log.WaitExit());
  EXPECT_GE(Steady::now() - start, kTimeout);
  EXPECT_TRUE(log.info.timed_out);
  EXPECT_FALSE(log.info.terminated);
  EXPECT_EQ(log.info.kind, ExitInfo::Kind::kSignaled);
  EXPECT_EQ(log.info.signal, SIGKILL);
  EXPECT_TRUE(grandchild->WaitGone()) << "grandchild " << grandchild->pid() << " survived";
}

TEST_F(ProcessGroup, TerminateEscalatesToSigkillAfterGrace) {
  constexpr auto kGrace = std::chrono::milliseconds(300);
  // SIGTERM is ignored by the shell and (inherited) by its grandchild.
  ASSERT_NO_FATAL_FAILURE(SpawnGroup("trap '' TERM; sleep 100 & echo $!; wait"));
  auto sent = Steady::now();
  runner_->Terminate(id_, kGrace);
  ASSERT_TRUE(log_.WaitExit());
  EXPECT_GE(Steady::now() - sent, kGrace);  // SIGKILL waited for the grace
  EXPECT_EQ(log_.info.kind, ExitInfo::Kind::kSignaled);
  EXPECT_EQ(log_.info.signal, SIGKILL);
  EXPECT_TRUE(log_.info.terminated);
  EXPECT_TRUE(grandchild_->WaitGone());
}

TEST_F(ProcessGroup, TerminateLetsACooperativeChildExitCleanly) {
  ASSERT_NO_FATAL_FAILURE(
      SpawnGroup("trap 'echo got-term; exit 3' TERM; sleep 100 & echo $!; wait"));
  // A grace far beyond the guard's patience: only SIGTERM can end it in time.
  runner_->Terminate(id_, std::chrono::hours(1));
  ASSERT_TRUE(log_.WaitExit());
  EXPECT_EQ(log_.info.kind, ExitInfo::Kind::kExited);
  EXPECT_EQ(log_.info.exit_code, 3);
  EXPECT_TRUE(log_.info.terminated);
  EXPECT_EQ(log_.out.back(), "got-term");
  EXPECT_TRUE(grandchild_->WaitGone());
}

TEST_F(ProcessGroup, KillEndsTheGroupAtOnce) {
  ASSERT_NO_FATAL_FAILURE(SpawnGroup("trap '' TERM; sleep 100 & echo $!; wait"));
  runner_->Kill(id_);
  ASSERT_TRUE(log_.WaitExit());
  EXPECT_EQ(log_.info.signal, SIGKILL);
  EXPECT_TRUE(log_.info.terminated);
  EXPECT_TRUE(grandchild_->WaitGone());
  runner_->Kill(id_);                                     // already reported: a no-op
  runner_->Terminate(id_ + 99, std::chrono::seconds(1));  // unknown: a no-op
  EXPECT_EQ(log_.exits, 1);
}

TEST_F(ProcessGroup, ShutdownKillsEveryGroupAndReportsEachOnce) {
  constexpr int kChildren = 3;
  ChildLog logs[kChildren];
  std::unique_ptr<Watched> grandchildren[kChildren];
  auto runner = NewRunner();
  for (int i = 0; i < kChildren; ++i) {
    SpawnRequest req = Shell("trap '' TERM; sleep 100 & echo $!; wait");
    logs[i].Attach(req);
    grandchildren[i] = SpawnAndWatch(*runner, std::move(req), logs[i]);
    ASSERT_TRUE(grandchildren[i] && grandchildren[i]->valid());
  }
  EXPECT_EQ(runner->live_children(), 3u);
  runner->Shutdown();  // returns only after every on_exit ran
  EXPECT_EQ(runner->live_children(), 0u);
  for (int i = 0; i < kChildren; ++i) {
    EXPECT_EQ(logs[i].exits, 1);
    EXPECT_TRUE(logs[i].info.terminated);
    EXPECT_EQ(logs[i].info.signal, SIGKILL);
    EXPECT_TRUE(grandchildren[i]->WaitGone());
  }
}

TEST_F(ProcessGroup, EscapedProcessHoldingPipesDelaysExitOnlyUntilDrainTimeout) {
  ChildLog log;
  // setsid leaves the group: out of the runner's reach, but it holds stdout.
  // It prints its pid once it has escaped; the leader exits when told.
  SpawnRequest req = Shell("trap 'exit 0' USR1; setsid sh -c 'echo $$; exec sleep 100' & wait");
  log.Attach(req);
  auto runner = NewRunner({.drain_timeout = std::chrono::milliseconds(200)});
  ASSERT_TRUE(runner->Spawn(std::move(req)).ok());
  ASSERT_TRUE(log.WaitStdoutLines(1));
  Watched escaped(log.out[0]);  // killed by its destructor
  ASSERT_TRUE(escaped.valid());
  EXPECT_NE(getpgid(escaped.pid()), log.started_pid);
  ASSERT_EQ(kill(log.started_pid, SIGUSR1), 0);
  ASSERT_TRUE(log.WaitExit());
  EXPECT_EQ(log.info.exit_code, 0);
  EXPECT_TRUE(log.info.output_abandoned);
}

}  // namespace
}  // namespace jobtape::exec
