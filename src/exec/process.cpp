#include "exec/process.hpp"

#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "exec/line_splitter.hpp"
#include "exec/spawn.hpp"
#include "exec/unique_fd.hpp"

namespace jobtape::exec {

namespace {

using Steady = std::chrono::steady_clock;

// epoll tags: child id << 3 | role; id 0 is the wake-up eventfd.
enum Role : uint64_t { kWake = 0, kStdin = 1, kStdout = 2, kStderr = 3, kPidfd = 4 };
constexpr uint64_t Tag(ChildId id, Role role) {
  return id << 3 | role;
}

std::string SignalName(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev != nullptr ? std::string("SIG") + abbrev : std::to_string(sig);
}

// Drops a SIGPIPE left pending on this thread (blocked) by a write to a pipe
// whose reader is gone; the write itself reported EPIPE.
void ClearPendingSigpipe() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  timespec zero{};
  while (sigtimedwait(&set, nullptr, &zero) > 0) {
  }
}

}  // namespace

class ProcessRunner::Supervisor {
 public:
  Supervisor(RunnerOptions options, UniqueFd epoll, UniqueFd wake)
      : options_(options), epoll_(std::move(epoll)), wake_(std::move(wake)) {}

  ~Supervisor() { Stop(); }

  void Start() {
    // Every signal is blocked on the supervisor: process-directed signals go
    // to the server's own threads, and SIGPIPE becomes EPIPE. Children reset
    // their mask before exec.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    thread_ = std::thread([this] { Run(); });
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
  }

  Result<ChildId> Post(SpawnRequest request) {
    std::lock_guard lock(mu_);
    if (stopping_) return Status::Unavailable("process runner is shut down");
    ChildId id = next_id_++;
    live_.fetch_add(1);
    queue_.push_back(Command{Command::kSpawn, id, Duration(0), std::move(request)});
    Wake();
    return id;
  }

  void PostSignal(ChildId id, Duration grace) {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    queue_.push_back(Command{Command::kTerminate, id, grace, {}});
    Wake();
  }

  void Stop() {
    {
      std::lock_guard lock(mu_);
      if (!stopping_) {
        stopping_ = true;
        queue_.push_back(Command{Command::kShutdown, 0, Duration(0), {}});
        Wake();
      }
    }
    std::call_once(joined_, [this] {
      if (thread_.joinable()) thread_.join();
    });
  }

  std::size_t live() const { return live_.load(); }

 private:
  struct Command {
    enum Type { kSpawn, kTerminate, kShutdown } type;
    ChildId id;
    Duration grace;  // kTerminate; 0 = SIGKILL now
    SpawnRequest request;
  };

  struct Child {
    explicit Child(ChildId i, SpawnRequest r)
        : id(i),
          request(std::move(r)),
          out_lines(request.max_line_bytes),
          err_lines(request.max_line_bytes) {}
    ChildId id;
    SpawnRequest request;
    SpawnedChild proc;
    std::size_t stdin_offset = 0;
    LineSplitter out_lines, err_lines;
    std::optional<Steady::time_point> timeout_at, kill_at, drain_at;
    bool reaped = false;
    ExitInfo info;
  };

  void Wake() {
    uint64_t one = 1;
    (void)!write(wake_.get(), &one, sizeof one);
  }

  void Run();
  void RunCommands();
  void StartChild(ChildId id, SpawnRequest request);
  void Signal(Child& c, Duration grace);
  void OnEvent(uint64_t tag);
  void OnPidfd(Child& c);
  void OnOutput(Child& c, Stream stream);
  void OnStdin(Child& c);
  void CheckDeadlines();
  int NextWaitMs() const;
  void CloseFd(UniqueFd& fd);
  void CloseOutput(Child& c, Stream stream);
  void MaybeFinish(Child& c);
  void Deliver(SpawnRequest& request, ExitInfo info);
  void EmitLine(Child& c, Stream stream, std::string_view line, bool cut);

  const RunnerOptions options_;
  UniqueFd epoll_;
  UniqueFd wake_;
  std::thread thread_;
  std::once_flag joined_;
  std::atomic<std::size_t> live_{0};

  std::mutex mu_;
  std::deque<Command> queue_;  // GUARDED_BY(mu_)
  bool stopping_ = false;      // GUARDED_BY(mu_)
  ChildId next_id_ = 1;        // GUARDED_BY(mu_)

  // Supervisor thread only.
  bool shutting_down_ = false;
  std::unordered_map<ChildId, std::unique_ptr<Child>> children_;
  std::array<char, 64 * 1024> buf_;
};

void ProcessRunner::Supervisor::Run() {
  std::array<epoll_event, 64> events;
  while (!shutting_down_ || !children_.empty()) {
    int n = epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), NextWaitMs());
    for (int i = 0; i < n; ++i)
      OnEvent(events[static_cast<std::size_t>(i)].data.u64);
    RunCommands();
    CheckDeadlines();
  }
}

void ProcessRunner::Supervisor::RunCommands() {
  std::deque<Command> batch;
  {
    std::lock_guard lock(mu_);
    batch.swap(queue_);
  }
  for (const Command& cmd : batch) {
    if (cmd.type == Command::kShutdown) shutting_down_ = true;
  }
  for (Command& cmd : batch) {
    if (cmd.type == Command::kSpawn) {
      StartChild(cmd.id, std::move(cmd.request));
    } else if (cmd.type == Command::kTerminate) {
      auto it = children_.find(cmd.id);
      if (it != children_.end()) Signal(*it->second, cmd.grace);
    }
  }
  if (shutting_down_) {
    for (auto& [id, child] : children_)
      Signal(*child, Duration(0));
  }
}

void ProcessRunner::Supervisor::StartChild(ChildId id, SpawnRequest request) {
  ExitInfo info;
  if (shutting_down_) {
    info.kind = ExitInfo::Kind::kSpawnFailed;
    info.spawn_stage = "shutdown";
    info.message = "process runner shut down before the spawn";
    return Deliver(request, std::move(info));
  }
  SpawnPlan plan{.argv = request.argv, .env = request.env, .working_dir = request.working_dir};
  SpawnError error;
  auto child = std::make_unique<Child>(id, std::move(request));
  if (!ResolveProgram(plan.argv[0], plan.env, plan.program, error) ||
      !ForkExec(plan, child->proc, error)) {
    info.kind = ExitInfo::Kind::kSpawnFailed;
    info.spawn_stage = error.stage;
    info.spawn_errno = error.error;
    info.message = error.message;
    return Deliver(child->request, std::move(info));
  }
  Child& c = *child;
  c.info.pid = c.proc.pid;
  if (c.request.timeout) c.timeout_at = Steady::now() + *c.request.timeout;
  auto add = [&](const UniqueFd& fd, Role role, uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = Tag(id, role);
    epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd.get(), &ev);
  };
  add(c.proc.pidfd, kPidfd, EPOLLIN);
  add(c.proc.stdout_r, kStdout, EPOLLIN);
  add(c.proc.stderr_r, kStderr, EPOLLIN);
  if (c.request.stdin_data.empty()) {
    c.proc.stdin_w.Reset();
  } else {
    add(c.proc.stdin_w, kStdin, EPOLLOUT);
  }
  children_.emplace(id, std::move(child));
  if (c.request.on_start) c.request.on_start(c.proc.pid);
}

void ProcessRunner::Supervisor::Signal(Child& c, Duration grace) {
  if (c.reaped) return;  // the group id may belong to someone else by now
  c.info.terminated = true;
  if (grace <= Duration(0)) {
    kill(-c.proc.pid, SIGKILL);
    return;
  }
  kill(-c.proc.pid, SIGTERM);
  auto at = Steady::now() + grace;
  if (!c.kill_at || at < *c.kill_at) c.kill_at = at;
}

void ProcessRunner::Supervisor::OnEvent(uint64_t tag) {
  if (tag == Tag(0, kWake)) {
    uint64_t count;
    (void)!read(wake_.get(), &count, sizeof count);
    return;
  }
  auto it = children_.find(tag >> 3);
  if (it == children_.end()) return;  // finished earlier in this batch
  Child& c = *it->second;
  switch (static_cast<Role>(tag & 7)) {
    case kPidfd:
      return OnPidfd(c);
    case kStdout:
      return OnOutput(c, Stream::kStdout);
    case kStderr:
      return OnOutput(c, Stream::kStderr);
    case kStdin:
      return OnStdin(c);
    case kWake:
      return;
  }
}

void ProcessRunner::Supervisor::OnPidfd(Child& c) {
  // No orphans: the leader is a zombie, so its pid (= the group id) is still
  // ours; kill what is left of the group before reaping it.
  kill(-c.proc.pid, SIGKILL);
  int status = 0;
  pid_t r;
  do {
    r = waitpid(c.proc.pid, &status, 0);
  } while (r < 0 && errno == EINTR);
  c.reaped = true;
  if (r == c.proc.pid && WIFEXITED(status)) {
    c.info.kind = ExitInfo::Kind::kExited;
    c.info.exit_code = WEXITSTATUS(status);
    c.info.message = "exited with code " + std::to_string(c.info.exit_code);
  } else if (r == c.proc.pid && WIFSIGNALED(status)) {
    c.info.kind = ExitInfo::Kind::kSignaled;
    c.info.signal = WTERMSIG(status);
    c.info.message = "killed by " + SignalName(c.info.signal);
  } else {
    c.info.kind = ExitInfo::Kind::kUnknown;
    c.info.message = "exit status lost (reaped by another waiter)";
  }
  if (c.info.timed_out) c.info.message += " (timed out)";
  CloseFd(c.proc.pidfd);
  CloseFd(c.proc.stdin_w);
  c.drain_at = Steady::now() + options_.drain_timeout;
  MaybeFinish(c);
}

void ProcessRunner::Supervisor::EmitLine(Child& c, Stream stream, std::string_view line, bool cut) {
  if (c.request.on_line) c.request.on_line(stream, line, cut);
}

void ProcessRunner::Supervisor::OnOutput(Child& c, Stream stream) {
  UniqueFd& fd = stream == Stream::kStdout ? c.proc.stdout_r : c.proc.stderr_r;
  LineSplitter& lines = stream == Stream::kStdout ? c.out_lines : c.err_lines;
  // One read per event keeps children fair; level-triggered epoll calls again.
  ssize_t n = read(fd.get(), buf_.data(), buf_.size());
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n > 0) {
    lines.Feed(std::string_view(buf_.data(), static_cast<std::size_t>(n)),
               [&](std::string_view line, bool cut) { EmitLine(c, stream, line, cut); });
    return;
  }
  CloseOutput(c, stream);  // EOF or a read error
  MaybeFinish(c);
}

void ProcessRunner::Supervisor::OnStdin(Child& c) {
  const std::string& data = c.request.stdin_data;
  ssize_t n =
      write(c.proc.stdin_w.get(), data.data() + c.stdin_offset, data.size() - c.stdin_offset);
  if (n > 0) {
    c.stdin_offset += static_cast<std::size_t>(n);
    if (c.stdin_offset == data.size()) CloseFd(c.proc.stdin_w);
    return;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n < 0 && errno == EPIPE) ClearPendingSigpipe();
  CloseFd(c.proc.stdin_w);  // the child closed its stdin: drop the rest
}

void ProcessRunner::Supervisor::CloseFd(UniqueFd& fd) {
  if (!fd) return;
  epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd.get(), nullptr);
  fd.Reset();
}

void ProcessRunner::Supervisor::CloseOutput(Child& c, Stream stream) {
  UniqueFd& fd = stream == Stream::kStdout ? c.proc.stdout_r : c.proc.stderr_r;
  if (!fd) return;
  CloseFd(fd);
  LineSplitter& lines = stream == Stream::kStdout ? c.out_lines : c.err_lines;
  lines.Finish([&](std::string_view line, bool cut) { EmitLine(c, stream, line, cut); });
}

void ProcessRunner::Supervisor::MaybeFinish(Child& c) {
  if (!c.reaped || c.proc.stdout_r || c.proc.stderr_r) return;
  auto node = children_.extract(c.id);
  Deliver(node.mapped()->request, std::move(node.mapped()->info));
}

void ProcessRunner::Supervisor::Deliver(SpawnRequest& request, ExitInfo info) {
  live_.fetch_sub(1);
  request.on_exit(info);
}

void ProcessRunner::Supervisor::CheckDeadlines() {
  auto now = Steady::now();
  std::vector<ChildId> abandoned;
  for (auto& [id, child] : children_) {
    Child& c = *child;
    if (c.timeout_at && now >= *c.timeout_at) {
      c.timeout_at.reset();
      if (!c.reaped) {
        c.info.timed_out = true;
        kill(-c.proc.pid, SIGKILL);
      }
    }
    if (c.kill_at && now >= *c.kill_at) {
      c.kill_at.reset();
      if (!c.reaped) kill(-c.proc.pid, SIGKILL);
    }
    if (c.drain_at && now >= *c.drain_at) abandoned.push_back(id);
  }
  for (ChildId id : abandoned) {
    Child& c = *children_.at(id);
    c.info.output_abandoned = true;
    CloseOutput(c, Stream::kStdout);
    CloseOutput(c, Stream::kStderr);
    MaybeFinish(c);
  }
}

int ProcessRunner::Supervisor::NextWaitMs() const {
  std::optional<Steady::time_point> next;
  for (const auto& [id, child] : children_) {
    for (const auto& at : {child->timeout_at, child->kill_at, child->drain_at}) {
      if (at && (!next || *at < *next)) next = at;
    }
  }
  if (!next) return -1;
  auto wait = std::chrono::ceil<std::chrono::milliseconds>(*next - Steady::now()).count();
  return static_cast<int>(std::clamp<int64_t>(wait, 0, 60'000));
}

// --- ProcessRunner ---

ProcessRunner::ProcessRunner(std::unique_ptr<Supervisor> supervisor)
    : supervisor_(std::move(supervisor)) {}

ProcessRunner::~ProcessRunner() {
  Shutdown();
}

Result<std::unique_ptr<ProcessRunner>> ProcessRunner::Create(RunnerOptions options) {
  UniqueFd epoll(epoll_create1(EPOLL_CLOEXEC));
  if (!epoll) return Status::Internal(std::string("epoll_create1: ") + strerror(errno));
  UniqueFd wake(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake) return Status::Internal(std::string("eventfd: ") + strerror(errno));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = Tag(0, kWake);
  if (epoll_ctl(epoll.get(), EPOLL_CTL_ADD, wake.get(), &ev) != 0) {
    return Status::Internal(std::string("epoll_ctl: ") + strerror(errno));
  }
  auto supervisor = std::make_unique<Supervisor>(options, std::move(epoll), std::move(wake));
  supervisor->Start();
  return std::unique_ptr<ProcessRunner>(new ProcessRunner(std::move(supervisor)));
}

Result<ChildId> ProcessRunner::Spawn(SpawnRequest request) {
  if (request.argv.empty() || request.argv[0].empty()) {
    return Status::InvalidArgument("argv must not be empty", "argv");
  }
  if (!request.on_exit) return Status::InvalidArgument("on_exit is required", "on_exit");
  return supervisor_->Post(std::move(request));
}

void ProcessRunner::Terminate(ChildId id, Duration grace) {
  supervisor_->PostSignal(id, grace);
}

void ProcessRunner::Kill(ChildId id) {
  supervisor_->PostSignal(id, Duration(0));
}

void ProcessRunner::Shutdown() {
  supervisor_->Stop();
}

std::size_t ProcessRunner::live_children() const {
  return supervisor_->live();
}

}  // namespace jobtape::exec
