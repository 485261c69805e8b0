#include "jobtape_spawn.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

extern char** environ;

namespace jobtape::integration {

pid_t SpawnJobtape(std::vector<std::string> args, const std::map<std::string, std::string>& env,
                   const std::vector<std::pair<int, int>>& redirects) {
  args.insert(args.begin(), JOBTAPE_BINARY);
  std::vector<std::string> envs;
  for (char** e = environ; e && *e; ++e) {
    const std::string_view entry(*e);
    const std::string name(entry.substr(0, entry.find('=')));
    if (name.rfind("JOBTAPE_", 0) != 0 && env.count(name) == 0) envs.emplace_back(entry);
  }
  for (const auto& [k, v] : env)
    envs.push_back(k + "=" + v);

  std::vector<char*> argv, envp;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : envs)
    envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  for (const auto& [from, to] : redirects)
    posix_spawn_file_actions_adddup2(&actions, from, to);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

std::optional<int> ReapExitCode(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return std::nullopt;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void ReadToEnd(int fd, const std::function<void(std::string_view chunk)>& on_read) {
  char buf[4096];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    on_read(std::string_view(buf, static_cast<std::size_t>(n)));
  }
  on_read({});
  ::close(fd);
}

void KillAndReap(pid_t pid) {
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

}  // namespace jobtape::integration
