#include "exec/spawn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "exec/pidfd.hpp"

#include <cerrno>
#include <cstring>

namespace jobtape::exec {

namespace {

// What a failing child writes to the error pipe before _exit.
struct ChildFailure {
  int stage;
  int error;
};
enum ChildStage : int { kSetpgid = 1, kPrctl, kDup, kChdir, kExec };

const char* StageName(int stage) {
  switch (stage) {
    case kSetpgid:
      return "setpgid";
    case kPrctl:
      return "prctl";
    case kDup:
      return "dup2";
    case kChdir:
      return "chdir";
    case kExec:
      return "exec";
  }
  return "child";
}

SpawnError MakeError(std::string stage, int err, const std::string& what) {
  std::string msg = stage + " " + what + ": " + std::strerror(err);
  return SpawnError{std::move(stage), err, std::move(msg)};
}

// 0 if `path` is an executable regular file, else an errno value.
int CheckExecutable(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return errno;
  if (!S_ISREG(st.st_mode)) return EACCES;
  return access(path.c_str(), X_OK) == 0 ? 0 : errno;
}

// pipe2 with O_CLOEXEC, both ends moved above fd 2 so the dup2 onto 0/1/2 in
// the child can never clobber another pipe end (possible if the server runs
// with stdin closed).
bool CloexecPipe(UniqueFd& r, UniqueFd& w) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return false;
  r.Reset(fds[0]);
  w.Reset(fds[1]);
  for (UniqueFd* fd : {&r, &w}) {
    if (fd->get() > 2) continue;
    int moved = fcntl(fd->get(), F_DUPFD_CLOEXEC, 3);
    if (moved < 0) return false;
    fd->Reset(moved);
  }
  return true;
}

bool SetNonBlocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

// Runs in the child between fork and exec: async-signal-safe calls only.
[[noreturn]] void ChildMain(pid_t parent, const char* program, char* const* argv, char* const* envp,
                            const char* working_dir, int in_r, int out_w, int err_w, int report_w) {
  auto fail = [report_w](int stage) {
    ChildFailure f{stage, errno};
    (void)!write(report_w, &f, sizeof f);
    _exit(127);
  };
  if (setpgid(0, 0) != 0) fail(kSetpgid);
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail(kPrctl);
  // The parent may have died before prctl took effect: then nobody would kill us.
  if (getppid() != parent) _exit(127);
  if (dup2(in_r, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0) fail(kDup);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig)
    sigaction(sig, &dfl, nullptr);  // fails for KILL/STOP
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  if (working_dir != nullptr && chdir(working_dir) != 0) fail(kChdir);
  // Everything above fd 2 closes at exec, even descriptors other code leaked
  // without O_CLOEXEC. The report pipe stays open until exec succeeds.
  if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    struct rlimit rl {};
    int max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                  ? static_cast<int>(rl.rlim_cur)
                  : 65536;
    for (int fd = 3; fd < max; ++fd)
      fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  execve(program, argv, envp);
  fail(kExec);
  _exit(127);  // unreachable: fail() exits
}

// Pointers into `strings` for execve, NULL-terminated. Built before fork.
std::vector<char*> CStrings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const auto& s : strings)
    out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace

bool ResolveProgram(const std::string& argv0, const std::vector<std::string>& env,
                    std::string& program, SpawnError& error) {
  if (argv0.find('/') != std::string::npos) {
    // Checked here for a clear message; exec reports anything that changes after.
    if (int err = CheckExecutable(argv0); err != 0) {
      error = MakeError("resolve", err, argv0);
      return false;
    }
    program = argv0;
    return true;
  }
  std::string_view path = kDefaultChildPath;
  for (const auto& e : env) {
    if (e.rfind("PATH=", 0) == 0) path = std::string_view(e).substr(5);
  }
  while (true) {
    std::size_t colon = path.find(':');
    std::string_view dir = path.substr(0, colon);
    // An empty PATH entry means the cwd: refuse it, as for relative argv[0].
    if (!dir.empty() && dir[0] == '/') {
      std::string candidate = std::string(dir) + "/" + argv0;
      if (CheckExecutable(candidate) == 0) {
        program = std::move(candidate);
        return true;
      }
    }
    if (colon == std::string_view::npos) break;
    path.remove_prefix(colon + 1);
  }
  error = SpawnError{"resolve", ENOENT, "resolve " + argv0 + ": not found in the child's PATH"};
  return false;
}

bool ForkExec(const SpawnPlan& plan, SpawnedChild& child, SpawnError& error) {
  UniqueFd in_r, in_w, out_r, out_w, err_r, err_w, rep_r, rep_w;
  if (!CloexecPipe(in_r, in_w) || !CloexecPipe(out_r, out_w) || !CloexecPipe(err_r, err_w) ||
      !CloexecPipe(rep_r, rep_w)) {
    error = MakeError("pipe", errno, "for " + plan.program);
    return false;
  }
  std::vector<char*> argv = CStrings(plan.argv);
  std::vector<char*> envp = CStrings(plan.env);
  const char* wd = plan.working_dir.empty() ? nullptr : plan.working_dir.c_str();
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    error = MakeError("fork", errno, plan.program);
    return false;
  }
  if (pid == 0) {
    ChildMain(parent, plan.program.c_str(), argv.data(), envp.data(), wd, in_r.get(), out_w.get(),
              err_w.get(), rep_w.get());
  }
  rep_w.Reset();
  in_r.Reset();
  out_w.Reset();
  err_w.Reset();

  // Blocks until the child execs (EOF) or reports a failure: microseconds to
  // a few milliseconds, and it keeps every failure a value.
  ChildFailure failure{};
  ssize_t n;
  do {
    n = read(rep_r.get(), &failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  if (n != 0) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (n == static_cast<ssize_t>(sizeof failure)) {
      const char* stage = StageName(failure.stage);
      const std::string& what = failure.stage == kChdir ? plan.working_dir : plan.program;
      error = MakeError(stage, failure.error, what);
    } else {
      error = MakeError("child", n < 0 ? errno : EIO, "report pipe for " + plan.program);
    }
    return false;
  }
  UniqueFd pidfd(pidfd_open(pid, 0));
  if (!pidfd || !SetNonBlocking(in_w.get()) || !SetNonBlocking(out_r.get()) ||
      !SetNonBlocking(err_r.get())) {
    int err = errno;
    kill(-pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    error = MakeError("pidfd_open", err, plan.program);
    return false;
  }
  child.pid = pid;
  child.pidfd = std::move(pidfd);
  child.stdin_w = std::move(in_w);
  child.stdout_r = std::move(out_r);
  child.stderr_r = std::move(err_r);
  return true;
}

}  // namespace jobtape::exec
