// jobtape worker [options] -- CMD ARGS...: flags, the command's KindSpec, and
// the worker's life cycle (signals, logging). One job is commands_worker_job.
#include "cli/commands_worker.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "cli/client_common.hpp"
#include "cli/commands_worker_job.hpp"
#include "cli/signal_watcher.hpp"
#include "cli/watch_display.hpp"
#include "client/options.hpp"
#include "client/worker.hpp"

namespace jobtape::cli {
namespace {

// One job at a time unless asked: a command is usually heavier than an SDK
// handler, and an operator who starts a worker by hand expects one process.
constexpr int kDefaultCommandConcurrency = 1;
// What a command needs to behave as it does in the operator's shell, without
// the rest of the worker's environment (tokens, DSNs).
constexpr const char* kPassedByDefault[] = {"PATH", "HOME", "LANG"};

struct WorkerFlags {
  std::string server;
  std::vector<std::string> queues;
  int concurrency = kDefaultCommandConcurrency;
  int64_t lease_ms = client::kDefaultWorkerLease.count();
  int64_t shutdown_grace_ms = client::kDefaultShutdownGrace.count();
  std::string worker_id;
  std::vector<std::string> kinds;
  std::vector<std::string> env;       // NAME=VALUE
  std::vector<std::string> pass_env;  // NAME
  std::string workdir;
  int64_t timeout_ms = 0;
  int64_t cancel_grace_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(exec::kDefaultCancelGrace).count();
  std::vector<int> fatal_exit_codes;
  std::vector<int> retryable_exit_codes;
  std::string log_level = "info";
  std::vector<std::string> command;
};

[[noreturn]] void Usage(const std::string& field, const std::string& message) {
  Fail(Status::InvalidArgument(message, field));
}

bool IsEnvName(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

void CheckEnvName(const std::string& flag, std::string_view name) {
  if (!IsEnvName(name)) Usage(flag, "'" + std::string(name) + "' is not a variable name");
  if (name.rfind("JOBTAPE_", 0) == 0) {
    Usage(flag, std::string(name) + ": JOBTAPE_* variables are reserved (the worker sets them)");
  }
}

std::vector<int> ExitCodes(const std::string& flag, std::vector<int> codes) {
  for (int c : codes) {
    if (c < 1 || c > 255) Usage(flag, "exit codes are 1..255 (got " + std::to_string(c) + ")");
  }
  std::sort(codes.begin(), codes.end());
  codes.erase(std::unique(codes.begin(), codes.end()), codes.end());
  return codes;
}

// The command as a kind (kind.hpp); exits with a usage error when a flag is wrong.
CommandJobSpec BuildSpec(const WorkerFlags& f) {
  CommandJobSpec spec;
  exec::KindSpec& k = spec.kind;
  k.name = "worker";
  k.argv = f.command;
  if (k.argv.empty() || k.argv[0].empty()) Usage("CMD", "a command is required after --");
  if (k.argv[0][0] == '-') Usage("CMD", "'" + k.argv[0] + "' is not a command");
  std::error_code ec;
  // A relative program ("./run.sh") is the worker's, not the working dir's.
  if (k.argv[0].find('/') != std::string::npos && k.argv[0][0] != '/') {
    k.argv[0] = std::filesystem::absolute(k.argv[0], ec).lexically_normal().string();
  }
  for (const char* name : kPassedByDefault) {
    if (const char* value = std::getenv(name); value != nullptr && *value != '\0')
      k.env[name] = value;
  }
  for (const std::string& name : f.pass_env) {
    CheckEnvName("--pass-env", name);
    if (const char* value = std::getenv(name.c_str())) {
      k.env[name] = value;
    } else {
      k.env.erase(name);  // unset here: unset for the command too
    }
  }
  for (const std::string& pair : f.env) {
    const std::size_t eq = pair.find('=');
    if (eq == std::string::npos) Usage("--env", "'" + pair + "' is not NAME=VALUE");
    CheckEnvName("--env", std::string_view(pair).substr(0, eq));
    k.env[pair.substr(0, eq)] = pair.substr(eq + 1);
  }
  if (!f.workdir.empty()) {
    auto dir = std::filesystem::absolute(f.workdir, ec).lexically_normal();
    if (ec || !std::filesystem::is_directory(dir, ec)) {
      Usage("--workdir", f.workdir + ": not a directory");
    }
    k.working_dir = dir.string();
  }
  if (f.timeout_ms < 0) Usage("--timeout-ms", "must not be negative");
  if (f.timeout_ms > 0) k.timeout = std::chrono::milliseconds(f.timeout_ms);
  if (f.cancel_grace_ms < 0) Usage("--cancel-grace-ms", "must not be negative");
  k.cancel_grace = std::chrono::milliseconds(f.cancel_grace_ms);
  k.retry.fatal_exit_codes = ExitCodes("--fatal-exit-codes", f.fatal_exit_codes);
  k.retry.retryable_exit_codes = ExitCodes("--retryable-exit-codes", f.retryable_exit_codes);
  return spec;
}

std::string Joined(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (const std::string& s : items)
    out += (out.empty() ? "" : sep) + s;
  return out;
}

// The worker logs to stderr (its stdout stays free), in serve's text format.
void SetupStderrLogging(const std::string& level) {
  const spdlog::level::level_enum lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") {
    Usage("--log-level", "must be trace, debug, info, warn, error or off");
  }
  spdlog::drop("jobtape");
  auto logger = spdlog::stderr_color_mt("jobtape");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%-5l%$ %v");
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
}

void RunWorker(const WorkerFlags& f) {
  CommandJobSpec spec = BuildSpec(f);
  std::optional<std::string> server;
  if (!f.server.empty()) server = f.server;
  auto client_options = client::ResolveClientOptions(server, client::ClientEnv());
  if (!client_options.ok()) Fail(client_options.status());
  client_options->user_agent = "jobtape-worker/0.1";

  client::WorkerOptions options;
  if (!f.queues.empty()) options.queues = f.queues;
  options.concurrency = f.concurrency;
  options.lease_ttl = std::chrono::milliseconds(f.lease_ms);
  options.shutdown_grace = std::chrono::milliseconds(f.shutdown_grace_ms);
  options.worker_id = f.worker_id.empty() ? client::DefaultWorkerId() : f.worker_id;
  options.on_error = [](const Status& s) { spdlog::warn("{}", s.ToString()); };
  const std::string worker_id = options.worker_id;
  const std::string queues = Joined(options.queues, ", ");

  SetupStderrLogging(f.log_level);
  // Before any other thread starts: they all inherit the blocked signals
  // (the runner unblocks them in its children).
  SignalWatcher signals;
  auto runner = exec::ProcessRunner::Create();
  if (!runner.ok()) Fail(runner.status());
  client::Worker worker(std::move(client_options).value(), std::move(options));
  client::Handler handler = [&spec, &r = **runner](client::JobContext& ctx) {
    return RunCommandJob(spec, r, ctx);
  };
  if (f.kinds.empty()) {
    worker.RegisterDefault(handler);
  } else {
    for (const std::string& kind : f.kinds)
      worker.Register(kind, handler);
  }

  std::thread stopper([&] {
    const int sig = signals.Wait();
    spdlog::info("received {}: stopping (a second signal exits at once)", strsignal(sig));
    worker.Stop();
  });
  spdlog::info("worker {} serving queue(s) {} ({}) with {} slot(s): {}", worker_id, queues,
               f.kinds.empty() ? "every kind" : "kinds " + Joined(f.kinds, ", "), f.concurrency,
               Joined(spec.kind.argv, " "));
  const Status status = worker.Run();
  (*runner)->Shutdown();  // every handler waited for its command: nothing left to kill
  if (status.ok()) {
    // Run() returns OK only after Stop(), which only `stopper` calls.
    stopper.join();
    spdlog::info("stopped");
    return;
  }
  // Refused for good (bad token, bad queue): the jobs in hand were handed
  // back. The signal watcher's thread cannot be woken, so leave at once.
  spdlog::error("worker stopped: {}", status.ToString());
  PrintError(status);
  spdlog::default_logger()->flush();
  std::cerr.flush();
  std::_Exit(kExitError);
}

}  // namespace

void AddWorkerCommand(CLI::App& app) {
  auto f = std::make_shared<WorkerFlags>();
  CLI::App* cmd = app.add_subcommand(
      "worker", "Lease jobs from a server and run a command for each (a remote worker)");
  cmd->add_option("--server", f->server,
                  "Server URL (default: $JOBTAPE_URL, else http://127.0.0.1:8080); the bearer "
                  "token comes from $JOBTAPE_TOKEN");
  cmd->add_option("--queue", f->queues, "Queue to serve, repeatable, in order (default: default)")
      ->allow_extra_args(false)
      ->type_name("NAME");
  cmd->add_option("--kind", f->kinds,
                  "Run only jobs of this kind, repeatable; other kinds claimed from the queues "
                  "fail (unknown_kind). Default: every kind")
      ->allow_extra_args(false)
      ->type_name("KIND");
  cmd->add_option("--concurrency", f->concurrency, "Jobs run at once (1..1000)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--lease-ms", f->lease_ms,
                  "Lease asked for at each claim and renewal (1000..3600000); a worker that dies "
                  "is noticed within this long")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1000}, int64_t{3'600'000}));
  cmd->add_option("--worker-id", f->worker_id,
                  "Name in the tape's started events (default: <hostname>-<pid>)");
  cmd->add_option("--env", f->env, "Set NAME=VALUE in the command's environment, repeatable")
      ->allow_extra_args(false)
      ->type_name("NAME=VALUE");
  cmd->add_option("--pass-env", f->pass_env,
                  "Copy NAME from the worker's environment to the command's, repeatable")
      ->allow_extra_args(false)
      ->type_name("NAME");
  cmd->add_option("--workdir", f->workdir,
                  "Working directory of the command (default: the worker's)")
      ->type_name("DIR");
  cmd->add_option("--timeout-ms", f->timeout_ms,
                  "Kill the command's process group after this long, per attempt (a job's own "
                  "timeout_ms wins); 0 = none")
      ->capture_default_str();
  cmd->add_option("--cancel-grace-ms", f->cancel_grace_ms,
                  "On cancel or shutdown: SIGTERM to the process group, SIGKILL this much later")
      ->capture_default_str();
  cmd->add_option("--shutdown-grace-ms", f->shutdown_grace_ms,
                  "On SIGTERM/SIGINT: time running commands get to finish before they are "
                  "stopped as on cancel")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  auto* fatal = cmd->add_option("--fatal-exit-codes", f->fatal_exit_codes,
                                "Exit codes that fail the job without a retry (default: every "
                                "non-zero code is retryable)")
                    ->delimiter(',')
                    ->allow_extra_args(false)
                    ->type_name("N,...");
  cmd->add_option("--retryable-exit-codes", f->retryable_exit_codes,
                  "Only these exit codes are retried; every other non-zero code is fatal")
      ->delimiter(',')
      ->allow_extra_args(false)
      ->type_name("N,...")
      ->excludes(fatal);
  cmd->add_option("--log-level", f->log_level, "trace, debug, info, warn, error or off")
      ->capture_default_str();
  cmd->footer(
      "Usage: jobtape worker [OPTIONS] -- CMD [ARGS...]\n"
      "Each job runs CMD in a process group of its own: the payload on stdin;\n"
      "JOBTAPE_JOB_ID, JOBTAPE_ATTEMPT, JOBTAPE_QUEUE, JOBTAPE_KIND in its environment,\n"
      "with PATH, HOME and LANG from the worker's and --pass-env/--env (nothing else).\n"
      "Stdout lines '::progress N message' and '::result JSON' set progress and result;\n"
      "other stdout/stderr lines become log events. Exit 0 succeeds; another code fails\n"
      "(retried unless fatal); a signal or timeout fails retryably. A cancel sends SIGTERM\n"
      "to the group, SIGKILL after --cancel-grace-ms. SIGTERM/SIGINT stop the worker\n"
      "gracefully (a second one at once). Logs go to stderr.\n"
      "Example: jobtape worker --queue media --concurrency 4 --pass-env TMPDIR -- "
      "/usr/local/bin/thumbnail --size 128");
  // Everything after `--` is the command, verbatim (its own options too).
  // Each repeatable option above takes one value per occurrence
  // (allow_extra_args(false)): otherwise CLI11 2.1 lets the last one before
  // `--` swallow the separator.
  cmd->add_option("CMD", f->command, "The command and its arguments, after --")
      ->required()
      ->allow_extra_args();
  cmd->callback([f] { RunWorker(*f); });
}

}  // namespace jobtape::cli
