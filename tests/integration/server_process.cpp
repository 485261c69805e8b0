#include "server_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include <gtest/gtest.h>

#include "jobtape_spawn.hpp"

namespace jobtape::integration {

bool WaitForProcessGone(pid_t pid, std::chrono::milliseconds guard) {
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return errno == ESRCH;
  pollfd p{fd, POLLIN, 0};
  int r = ::poll(&p, 1, static_cast<int>(guard.count()));
  ::close(fd);
  return r == 1;
}

bool ProcessExists(pid_t pid) {
  return ::kill(pid, 0) == 0 || errno != ESRCH;
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string templ = std::string(base && *base ? base : "/tmp") + "/jobtape-it-XXXXXX";
  if (char* made = ::mkdtemp(templ.data())) path_ = made;
}

TempDir::~TempDir() {
  std::error_code ignored;
  if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
}

ChildProcess::ChildProcess(std::vector<std::string> args, std::map<std::string, std::string> env,
                           std::string what)
    : what_(std::move(what)) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return;
  pid_ = SpawnJobtape(std::move(args), env, {{fds[1], STDOUT_FILENO}, {fds[1], STDERR_FILENO}});
  ::close(fds[1]);
  if (pid_ < 0) {
    ::close(fds[0]);
    return;
  }
  reader_ = std::thread([this, fd = fds[0]] { ReadOutput(fd); });
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !exit_code_) KillAndReap(pid_);
  if (reader_.joinable()) reader_.join();
  // Under ASan/TSan the process reports to its own output: make that a failure.
  const std::string output = Output();
  if (output.find("Sanitizer") != std::string::npos ||
      output.find("runtime error:") != std::string::npos) {
    ADD_FAILURE() << "the " << what_ << " reported a sanitizer error:\n" << output;
  }
}

void ChildProcess::ReadOutput(int fd) {
  ReadToEnd(fd, [&](std::string_view chunk) {
    std::lock_guard<std::mutex> lock(mu_);
    if (chunk.empty()) {
      if (!partial_.empty()) lines_.push_back(std::move(partial_));
      partial_.clear();
      eof_ = true;
    } else {
      partial_.append(chunk);
      std::size_t nl;
      while ((nl = partial_.find('\n')) != std::string::npos) {
        lines_.push_back(partial_.substr(0, nl));
        partial_.erase(0, nl + 1);
      }
    }
    cv_.notify_all();
  });
}

bool ChildProcess::WaitForLine(std::string_view needle, std::chrono::milliseconds guard) {
  std::unique_lock<std::mutex> lock(mu_);
  std::size_t seen = 0;
  return cv_.wait_for(lock, guard, [&] {
    for (; seen < lines_.size(); ++seen) {
      if (lines_[seen].find(needle) != std::string::npos) return true;
    }
    return eof_;
  }) && seen < lines_.size();
}

void ChildProcess::Signal(int sig) {
  if (pid_ > 0 && !exit_code_) ::kill(pid_, sig);
}

std::optional<int> ChildProcess::WaitForExit(std::chrono::milliseconds guard) {
  if (exit_code_ || pid_ <= 0) return exit_code_;
  {
    // The output pipe closes when the process ends (the commands a worker or
    // the executor runs get pipes of their own): wait for that, then reap.
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, guard, [this] { return eof_; })) return std::nullopt;
  }
  exit_code_ = ReapExitCode(pid_);
  return exit_code_;
}

std::string ChildProcess::Output() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (const std::string& line : lines_)
    out += line + "\n";
  return out + partial_;
}

std::vector<std::string> ChildProcess::Lines() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lines_;
}

namespace {

std::vector<std::string> ServeArgs(const std::string& data_dir, std::vector<std::string> extra) {
  std::vector<std::string> args = {"serve", "--data-dir", data_dir, "--log-format", "text"};
  bool listen_given = false;
  for (const std::string& a : extra)
    listen_given = listen_given || a == "--listen";
  if (!listen_given) args.insert(args.end(), {"--listen", "127.0.0.1:0"});
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

}  // namespace

ServerProcess::ServerProcess(const std::string& data_dir, std::vector<std::string> extra,
                             std::map<std::string, std::string> env)
    : ChildProcess(ServeArgs(data_dir, std::move(extra)), std::move(env), "server") {}

bool ServerProcess::WaitForListening(std::chrono::milliseconds guard) {
  constexpr std::string_view kNeedle = "listening on http://127.0.0.1:";
  if (pid() <= 0 || !WaitForLine(kNeedle, guard)) return false;
  for (const std::string& line : Lines()) {
    std::size_t at = line.find(kNeedle);
    if (at != std::string::npos) {
      port_ = static_cast<uint16_t>(std::stoi(line.substr(at + kNeedle.size())));
      return port_ != 0;
    }
  }
  return false;
}

}  // namespace jobtape::integration
