#include "bench_server.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string_view>

#include "bench_error.hpp"

extern char** environ;

namespace jobtape::bench {
namespace {

using Clk = std::chrono::steady_clock;

}  // namespace

BenchServer::BenchServer(const BenchServerOptions& o) {
  std::string templ = o.dir + "/jobtape-bench-" + o.name + "-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) Die("mkdtemp in " + o.dir + " failed");
  dir_ = templ;
  struct statfs st {};
  if (::statfs(dir_.c_str(), &st) == 0 && (st.f_type == 0x01021994 || st.f_type == 0x858458f6)) {
    std::fprintf(stderr, "warning: %s is tmpfs/ramfs, where fsync costs nothing\n", o.dir.c_str());
  }
  std::vector<std::string> args = {o.binary,       "serve",       "--data-dir",   dir_ + "/data",
                                   "--listen",     "127.0.0.1:0", "--durability", "full",
                                   "--log-format", "text"};
  if (o.io_threads > 0) args.insert(args.end(), {"--io-threads", std::to_string(o.io_threads)});
  args.insert(args.end(), o.extra.begin(), o.extra.end());
  std::vector<std::string> envs;
  for (char** e = environ; e && *e; ++e) {
    if (std::string_view(*e).substr(0, 8) != "JOBTAPE_") envs.emplace_back(*e);
  }
  std::vector<char*> argv, envp;
  for (auto& s : args)
    argv.push_back(s.data());
  argv.push_back(nullptr);
  for (auto& s : envs)
    envp.push_back(s.data());
  envp.push_back(nullptr);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) Die("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
  int rc = ::posix_spawn(&pid_, args[0].c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) Die("cannot start " + o.binary);
  auto fail = [&](const std::string& why, const std::string& output) {
    ::close(fds[0]);
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
    Die(why + ":\n" + output);
  };
  // Read its output until "listening on http://127.0.0.1:PORT" (bounded).
  std::string seen;
  constexpr std::string_view kNeedle = "listening on http://127.0.0.1:";
  const auto give_up = Clk::now() + std::chrono::seconds(30);
  char buf[4096];
  while (port_ == 0) {
    pollfd p{fds[0], POLLIN, 0};
    int ready = ::poll(&p, 1, 100);
    if (ready < 0 && errno != EINTR) fail("poll failed", seen);
    if (ready <= 0) {
      if (Clk::now() > give_up) fail("the server did not listen within 30 s", seen);
      continue;
    }
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("the server exited before listening", seen);
    seen.append(buf, static_cast<std::size_t>(n));
    std::size_t at = seen.find(kNeedle);
    if (at != std::string::npos && seen.find('\n', at) != std::string::npos) {
      port_ = static_cast<uint16_t>(std::atoi(seen.c_str() + at + kNeedle.size()));
    }
  }
  output_ = std::move(seen);
  reader_ = std::thread([this, fd = fds[0]] {
    char b[4096];
    while (true) {
      ssize_t n = ::read(fd, b, sizeof b);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      std::lock_guard<std::mutex> lock(mu_);
      if (output_.size() < (1u << 20)) output_.append(b, static_cast<std::size_t>(n));
    }
    ::close(fd);
  });
}

BenchServer::~BenchServer() {
  ::kill(pid_, SIGTERM);
  int status = 0;
  auto until = Clk::now() + std::chrono::seconds(20);
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (Clk::now() > until) {
      std::fprintf(stderr, "warning: the server ignored SIGTERM; killing it\n");
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  reader_.join();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::lock_guard<std::mutex> lock(mu_);
    std::fprintf(stderr, "warning: the server ended with status %d; its output:\n%s\n", status,
                 output_.c_str());
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

}  // namespace jobtape::bench
