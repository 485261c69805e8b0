// Starting and reaping the real `jobtape` binary for the process helpers of
// the integration tests (ChildProcess, CliProcess), which differ only in how
// they collect its output.
//
// Thread-safety: plain functions; each pid belongs to one test thread.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace jobtape::integration {

// Spawns `jobtape <args...>`. Its environment is the test's without JOBTAPE_*
// variables and without the names in `env`, plus `env`. Each {from, to} of
// `redirects` dup2s the test's fd `from` to the child's fd `to` (the pipes'
// ends should be O_CLOEXEC). The pid, or -1 when spawning failed.
pid_t SpawnJobtape(std::vector<std::string> args, const std::map<std::string, std::string>& env,
                   const std::vector<std::pair<int, int>>& redirects);

// Reaps `pid`: its exit code, 128 + signal if a signal ended it, or nullopt
// if waitpid failed.
std::optional<int> ReapExitCode(pid_t pid);

// Reads `fd` to its end (EOF or an error), calling on_read with each chunk
// and once with an empty one at the end; then closes `fd`.
void ReadToEnd(int fd, const std::function<void(std::string_view chunk)>& on_read);

// SIGKILLs and reaps `pid`; for destructors, never leaving a child running.
void KillAndReap(pid_t pid);

}  // namespace jobtape::integration
