#include "exec/attempt.hpp"

#include <cerrno>
#include <map>

#include "exec/spawn.hpp"

namespace jobtape::exec {

std::vector<std::string> AttemptEnvironment(const KindSpec& kind, const AttemptContext& ctx) {
  std::map<std::string, std::string> vars;
  vars["PATH"] = std::string(kDefaultChildPath);
  for (const auto& [name, value] : kind.env)
    vars[name] = value;
  vars["JOBTAPE_JOB_ID"] = std::to_string(ctx.job_id);
  vars["JOBTAPE_ATTEMPT"] = std::to_string(ctx.attempt);
  vars["JOBTAPE_QUEUE"] = ctx.queue;
  vars["JOBTAPE_KIND"] = ctx.kind;
  std::vector<std::string> env;
  env.reserve(vars.size());
  for (const auto& [name, value] : vars)
    env.push_back(name + "=" + value);
  return env;
}

SpawnRequest MakeSpawnRequest(const KindSpec& kind, const AttemptContext& ctx, std::string payload,
                              std::optional<Duration> job_timeout) {
  SpawnRequest req;
  req.argv = kind.argv;
  req.env = AttemptEnvironment(kind, ctx);
  req.working_dir = kind.working_dir;
  req.stdin_data = std::move(payload);
  req.timeout = job_timeout ? job_timeout : kind.timeout;
  return req;
}

Outcome AttemptOutcome(const KindSpec& kind, const ExitInfo& exit, std::string result_json) {
  if (exit.timed_out) return Outcome::Failed("timeout", exit.message, true);
  switch (exit.kind) {
    case ExitInfo::Kind::kExited:
      if (exit.exit_code == 0) return Outcome::Succeeded(std::move(result_json));
      return Outcome::Failed("exit_status", exit.message,
                             kind.retry.IsRetryableExitCode(exit.exit_code));
    case ExitInfo::Kind::kSignaled:
      return Outcome::Failed("signal", exit.message, true);
    case ExitInfo::Kind::kSpawnFailed: {
      int e = exit.spawn_errno;
      bool config = e == ENOENT || e == EACCES || e == ENOEXEC || e == ENOTDIR;
      return Outcome::Failed("spawn_failed", exit.message, !config);
    }
    case ExitInfo::Kind::kUnknown:
      break;
  }
  return Outcome::Failed("exit_unknown", exit.message, true);
}

}  // namespace jobtape::exec
