#include "crash_child.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace jobtape::store::testing {
namespace {

constexpr int kAckFd = 3;
constexpr int kPollTimeoutMs = 120'000;  // a failure guard, not a wait for progress

// Reads one 8-byte ack; false at EOF (the child died) or on timeout (*error).
bool ReadAck(int fd, int64_t* ack, std::string* error) {
  char buf[sizeof(int64_t)];
  std::size_t got = 0;
  while (got < sizeof buf) {
    pollfd pfd{fd, POLLIN, 0};
    int ready = ::poll(&pfd, 1, kPollTimeoutMs);
    if (ready == 0) {
      *error = "child sent nothing for 120 s";
      return false;
    }
    if (ready < 0 && errno == EINTR) continue;
    ssize_t n = ::read(fd, buf + got, sizeof buf - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (got != 0) *error = "torn ack in the pipe";
      return false;
    }
    got += static_cast<std::size_t>(n);
  }
  std::memcpy(ack, buf, sizeof buf);
  return true;
}

}  // namespace

bool WriteAck(int64_t ack) {
  return ::write(kAckFd, &ack, sizeof ack) == static_cast<ssize_t>(sizeof ack);
}

void RunCrashChild(const CrashChildOptions& options, std::vector<int64_t>* acks,
                   CrashChildRun* run) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0) << std::strerror(errno);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], kAckFd);  // clears CLOEXEC on fd 3
  // The child's own gtest chatter would interleave with ours; its stderr stays.
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  std::vector<std::string> env = options.env;
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, options.drop_env_prefix.c_str(), options.drop_env_prefix.size()) != 0)
      envp.push_back(*e);
  }
  for (std::string& entry : env)
    envp.push_back(entry.data());
  envp.push_back(nullptr);
  std::string exe = "/proc/self/exe";
  std::string filter = "--gtest_filter=" + options.test;
  std::string disabled = "--gtest_also_run_disabled_tests";
  std::vector<char*> argv = {exe.data(), filter.data(), disabled.data(), nullptr};
  pid_t child = -1;
  int rc = posix_spawn(&child, exe.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  ASSERT_EQ(rc, 0) << std::strerror(rc);

  std::string error;
  int64_t ack = 0;
  std::size_t read = 0;
  run->killed_by_parent = false;
  while (ReadAck(fds[0], &ack, &error)) {
    acks->push_back(ack);
    if (options.kill_after_acks > 0 && !run->killed_by_parent &&
        ++read >= options.kill_after_acks) {
      ::kill(child, SIGKILL);  // mid-stream: the writers are committing right now
      run->killed_by_parent = true;
    }
  }
  // Harmless if it already died; on early EOF or timeout, never leave it running.
  if (!run->killed_by_parent) ::kill(child, SIGKILL);
  ::close(fds[0]);
  ASSERT_EQ(::waitpid(child, &run->wait_status, 0), child);
  ASSERT_TRUE(error.empty()) << error;
}

}  // namespace jobtape::store::testing
