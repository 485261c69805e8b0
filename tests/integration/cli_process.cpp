#include "cli_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include "jobtape_spawn.hpp"

namespace jobtape::integration {

CliProcess::CliProcess(std::vector<std::string> args, std::map<std::string, std::string> env,
                       std::string stdin_text) {
  // A command that exits before reading its stdin must not kill the test
  // with SIGPIPE; the writer then just stops.
  ::signal(SIGPIPE, SIG_IGN);
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return;
  if (::pipe2(out, O_CLOEXEC) != 0) return;
  if (::pipe2(err, O_CLOEXEC) != 0) return;
  pid_ = SpawnJobtape(std::move(args), env,
                      {{in[0], STDIN_FILENO}, {out[1], STDOUT_FILENO}, {err[1], STDERR_FILENO}});
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  if (pid_ < 0) {
    ::close(in[1]);
    ::close(out[0]);
    ::close(err[0]);
    return;
  }
  out_reader_ = std::thread([this, fd = out[0]] { Read(fd, out_); });
  err_reader_ = std::thread([this, fd = err[0]] { Read(fd, err_); });
  in_writer_ = std::thread([fd = in[1], text = std::move(stdin_text)] {
    std::size_t done = 0;
    while (done < text.size()) {
      ssize_t n = ::write(fd, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    ::close(fd);
  });
}

CliProcess::~CliProcess() {
  if (pid_ > 0 && !exit_code_) KillAndReap(pid_);
  for (std::thread* t : {&out_reader_, &err_reader_, &in_writer_}) {
    if (t->joinable()) t->join();
  }
}

void CliProcess::Read(int fd, Stream& into) {
  ReadToEnd(fd, [&](std::string_view chunk) {
    std::lock_guard<std::mutex> lock(mu_);
    if (chunk.empty()) {
      into.eof = true;
    } else {
      into.text.append(chunk);
    }
    cv_.notify_all();
  });
}

bool CliProcess::WaitForLine(std::string_view needle, std::chrono::milliseconds guard) {
  std::unique_lock<std::mutex> lock(mu_);
  bool found = false;
  cv_.wait_for(lock, guard, [&] {
    found = out_.text.find(needle) != std::string::npos;
    return found || out_.eof;
  });
  return found;
}

std::optional<int> CliProcess::Wait(std::chrono::milliseconds guard) {
  if (exit_code_ || pid_ <= 0) return exit_code_;
  {
    // Both pipes close when the process ends: wait for that, then reap.
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, guard, [this] { return out_.eof && err_.eof; })) return std::nullopt;
  }
  exit_code_ = ReapExitCode(pid_);
  return exit_code_;
}

std::string CliProcess::Stdout() const {
  std::lock_guard<std::mutex> lock(mu_);
  return out_.text;
}

std::string CliProcess::Stderr() const {
  std::lock_guard<std::mutex> lock(mu_);
  return err_.text;
}

CliResult RunCli(std::vector<std::string> args, std::map<std::string, std::string> env,
                 std::string stdin_text) {
  CliProcess p(std::move(args), std::move(env), std::move(stdin_text));
  CliResult r;
  r.code = p.Wait().value_or(-1);
  r.out = p.Stdout();
  r.err = p.Stderr();
  return r;
}

}  // namespace jobtape::integration
