// ProcessRunner with real children: exits, signals, output, stdin, env, cwd,
// descriptors and spawn failures. Group and cancellation behaviour is in
// process_group_test.cpp.
#include "exec/process.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cerrno>
#include <memory>

#include "exec/attempt.hpp"
#include "test_util.hpp"

namespace jobtape::exec {
namespace {

using testing::ChildLog;
using testing::NewRunner;
using testing::Shell;

// Runs `req` to completion on a fresh runner.
void RunToEnd(SpawnRequest req, ChildLog& log) {
  log.Attach(req);
  auto runner = NewRunner();
  ASSERT_TRUE(runner->Spawn(std::move(req)).ok());
  ASSERT_TRUE(log.WaitExit()) << "child did not finish";
}

TEST(ProcessRunner, ReportsExitCodes) {
  ChildLog ok, fail;
  RunToEnd(Shell("exit 0"), ok);
  EXPECT_EQ(ok.info.kind, ExitInfo::Kind::kExited);
  EXPECT_EQ(ok.info.exit_code, 0);
  EXPECT_EQ(ok.info.pid, ok.started_pid);
  EXPECT_GT(ok.info.pid, 0);
  RunToEnd(Shell("exit 3"), fail);
  EXPECT_EQ(fail.info.kind, ExitInfo::Kind::kExited);
  EXPECT_EQ(fail.info.exit_code, 3);
  EXPECT_EQ(fail.info.message, "exited with code 3");
  EXPECT_FALSE(fail.info.terminated);
  EXPECT_FALSE(fail.info.timed_out);
}

TEST(ProcessRunner, ReportsDeathBySignal) {
  ChildLog log;
  RunToEnd(Shell("kill -TERM $$"), log);
  EXPECT_EQ(log.info.kind, ExitInfo::Kind::kSignaled);
  EXPECT_EQ(log.info.signal, SIGTERM);
  EXPECT_EQ(log.info.message, "killed by SIGTERM");
  EXPECT_FALSE(log.info.terminated);
}

TEST(ProcessRunner, SplitsStdoutAndStderrIntoOrderedLines) {
  ChildLog log;
  RunToEnd(Shell("echo a; echo b >&2; echo c; echo d >&2; printf 'e\\nlast'"), log);
  EXPECT_EQ(log.out, (std::vector<std::string>{"a", "c", "e", "last"}));
  EXPECT_EQ(log.err, (std::vector<std::string>{"b", "d"}));
  EXPECT_EQ(log.exits, 1);
}

TEST(ProcessRunner, ManyLinesArriveCompleteAndInOrder) {
  ChildLog log;
  RunToEnd(Shell("seq 1 50000"), log);
  ASSERT_EQ(log.out.size(), 50000u);
  for (std::size_t i = 0; i < log.out.size(); ++i) {
    ASSERT_EQ(log.out[i], std::to_string(i + 1));
  }
}

TEST(ProcessRunner, CutsOverlongLines) {
  ChildLog log;
  SpawnRequest req = Shell("head -c 200000 /dev/zero | tr '\\0' a; echo; echo after");
  req.max_line_bytes = 1000;
  RunToEnd(std::move(req), log);
  ASSERT_EQ(log.out.size(), 2u);
  EXPECT_EQ(log.out[0], std::string(1000, 'a'));
  EXPECT_TRUE(log.cut[0]);
  EXPECT_EQ(log.out[1], "after");
  EXPECT_FALSE(log.cut[1]);
}

std::string MiB() {
  std::string s;
  while (s.size() < 1024 * 1024)
    s += "0123456789abcdef";
  return s;
}

TEST(ProcessRunner, WritesLargePayloadToReader) {
  ChildLog log;
  SpawnRequest req = Shell("wc -c");
  req.stdin_data = MiB();
  RunToEnd(std::move(req), log);
  ASSERT_EQ(log.out.size(), 1u);
  EXPECT_EQ(log.out[0], "1048576");
}

TEST(ProcessRunner, LargePayloadToNonReaderThatFloodsStdoutDoesNotDeadlock) {
  // With a blocking stdin write the runner would stall once the 64 KiB pipe
  // fills, and the child would stall on its full stdout pipe.
  ChildLog log;
  SpawnRequest req = Shell("seq 1 30000");
  req.stdin_data = MiB();
  RunToEnd(std::move(req), log);
  EXPECT_EQ(log.out.size(), 30000u);
  EXPECT_EQ(log.info.exit_code, 0);
}

TEST(ProcessRunner, LargePayloadToChildThatClosedStdinIsDropped) {
  // Writing to a pipe whose reader is gone raises SIGPIPE: the runner must
  // turn it into EPIPE, or this test process dies. The child closes stdin,
  // says so, and exits only when told, so the runner's write meets the closed
  // pipe before it sees the exit.
  ChildLog log;
  SpawnRequest req = Shell("exec 0<&-; trap 'exit 0' USR1; echo closed; sleep 100 & wait");
  req.stdin_data = MiB();
  log.Attach(req);
  auto runner = NewRunner();
  ASSERT_TRUE(runner->Spawn(std::move(req)).ok());
  ASSERT_TRUE(log.WaitStdoutLines(1));
  ASSERT_EQ(kill(log.started_pid, SIGUSR1), 0);
  ASSERT_TRUE(log.WaitExit());
  EXPECT_EQ(log.info.kind, ExitInfo::Kind::kExited);
  EXPECT_EQ(log.info.exit_code, 0);
}

TEST(ProcessRunner, ChildSeesExactlyTheGivenEnvironment) {
  ASSERT_EQ(setenv("JOBTAPE_TEST_LEAK", "leaked", 1), 0);
  KindSpec kind;
  kind.argv = {"/bin/sh", "-c",
               "echo \"$FOO|$JOBTAPE_JOB_ID|$JOBTAPE_ATTEMPT|$JOBTAPE_QUEUE|$JOBTAPE_KIND|"
               "${JOBTAPE_TEST_LEAK:-unset}|$PATH\""};
  kind.env = {{"FOO", "bar baz"}};
  AttemptContext ctx{.job_id = 77, .attempt = 2, .queue = "q1", .kind = "envkind"};
  ChildLog log;
  RunToEnd(MakeSpawnRequest(kind, ctx, ""), log);
  unsetenv("JOBTAPE_TEST_LEAK");
  ASSERT_EQ(log.out.size(), 1u);
  EXPECT_EQ(log.out[0], "bar baz|77|2|q1|envkind|unset|/usr/local/bin:/usr/bin:/bin");
}

TEST(ProcessRunner, RunsInTheWorkingDirectory) {
  testing::TempDir dir;
  char* real = realpath(dir.path().c_str(), nullptr);
  ASSERT_NE(real, nullptr);
  std::string expected = real;
  free(real);
  ChildLog log;
  SpawnRequest req = Shell("pwd -P");
  req.working_dir = dir.path();
  RunToEnd(std::move(req), log);
  ASSERT_EQ(log.out.size(), 1u);
  EXPECT_EQ(log.out[0], expected);
}

TEST(ProcessRunner, ClosesDescriptorsTheServerLeaked) {
  int leaked = open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC
  ASSERT_GE(leaked, 0);
  ChildLog log;
  std::string fd = std::to_string(leaked);
  RunToEnd(Shell("if [ -e /proc/$$/fd/" + fd + " ]; then echo open; else echo closed; fi"), log);
  close(leaked);
  ASSERT_EQ(log.out.size(), 1u);
  EXPECT_EQ(log.out[0], "closed");
}

TEST(ProcessRunner, ResolvesBareNamesInTheChildsPath) {
  ChildLog found, missing;
  SpawnRequest req;
  req.argv = {"sh", "-c", "echo hi"};
  req.env = {"PATH=/nonexistent:/bin"};
  RunToEnd(req, found);
  EXPECT_EQ(found.info.exit_code, 0);
  EXPECT_EQ(found.out, (std::vector<std::string>{"hi"}));

  req.env = {"PATH=/nonexistent"};  // the server's PATH would find sh
  RunToEnd(req, missing);
  EXPECT_EQ(missing.info.kind, ExitInfo::Kind::kSpawnFailed);
  EXPECT_EQ(missing.info.spawn_stage, "resolve");
  EXPECT_EQ(missing.info.spawn_errno, ENOENT);
  EXPECT_EQ(missing.exits, 1);
}

TEST(ProcessRunner, ExecFailureIsReportedAsAValue) {
  testing::TempDir dir;
  std::string bogus = dir.Write("bogus", "this is not an executable format\n");
  ASSERT_EQ(chmod(bogus.c_str(), 0755), 0);
  ChildLog log;
  SpawnRequest req;
  req.argv = {bogus};
  RunToEnd(std::move(req), log);
  EXPECT_EQ(log.info.kind, ExitInfo::Kind::kSpawnFailed);
  EXPECT_EQ(log.info.spawn_stage, "exec");
  EXPECT_EQ(log.info.spawn_errno, ENOEXEC);
  EXPECT_NE(log.info.message.find(bogus), std::string::npos) << log.info.message;
  EXPECT_EQ(log.exits, 1);
  EXPECT_EQ(log.started_pid, -1);  // on_start never ran
}

TEST(ProcessRunner, MissingWorkingDirectoryIsReportedAsAValue) {
  ChildLog log;
  SpawnRequest req = Shell("echo never");
  req.working_dir = "/nonexistent/dir";
  RunToEnd(std::move(req), log);
  EXPECT_EQ(log.info.kind, ExitInfo::Kind::kSpawnFailed);
  EXPECT_EQ(log.info.spawn_stage, "chdir");
  EXPECT_EQ(log.info.spawn_errno, ENOENT);
  EXPECT_TRUE(log.out.empty());
}

TEST(ProcessRunner, MissingAbsoluteProgramIsReportedAsAValue) {
  ChildLog log;
  SpawnRequest req;
  req.argv = {"/nonexistent/prog"};
  RunToEnd(std::move(req), log);
  EXPECT_EQ(log.info.kind, ExitInfo::Kind::kSpawnFailed);
  EXPECT_EQ(log.info.spawn_errno, ENOENT);
}

TEST(ProcessRunner, SuperviseManyChildrenAtOnce) {
  constexpr int kChildren = 20;
  std::vector<std::unique_ptr<ChildLog>> logs;
  auto runner = NewRunner();
  for (int i = 0; i < kChildren; ++i) {
    logs.push_back(std::make_unique<ChildLog>());
    SpawnRequest req = Shell("echo child" + std::to_string(i) + "; exit " + std::to_string(i));
    logs.back()->Attach(req);
    ASSERT_TRUE(runner->Spawn(std::move(req)).ok());
  }
  for (int i = 0; i < kChildren; ++i) {
    ASSERT_TRUE(logs[i]->WaitExit());
    EXPECT_EQ(logs[i]->info.exit_code, i);
    EXPECT_EQ(logs[i]->out, (std::vector<std::string>{"child" + std::to_string(i)}));
  }
  EXPECT_EQ(runner->live_children(), 0u);
  runner.reset();
  for (auto& log : logs)
    EXPECT_EQ(log->exits, 1);
}

TEST(ProcessRunner, RejectsBadRequestsAndSpawnsAfterShutdown) {
  auto runner = NewRunner();
  SpawnRequest empty;
  empty.on_exit = [](const ExitInfo&) {};
  EXPECT_EQ(runner->Spawn(empty).status().code(), ErrorCode::kInvalidArgument);
  SpawnRequest no_exit = Shell("true");
  EXPECT_EQ(runner->Spawn(no_exit).status().code(), ErrorCode::kInvalidArgument);
  runner->Shutdown();
  runner->Shutdown();  // idempotent
  SpawnRequest late = Shell("true");
  late.on_exit = [](const ExitInfo&) {};
  EXPECT_EQ(runner->Spawn(late).status().code(), ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace jobtape::exec
