// jobtape watch ID: follow a job live until it ends; the exit code tells how.
#include <iostream>
#include <memory>

#include "cli/cli_format.hpp"
#include "cli/client_common.hpp"
#include "cli/watch_display.hpp"

namespace jobtape::cli {
namespace {

struct WatchArgs {
  ClientFlags flags;
  std::string id;
  int64_t after = 0;
};

// "job 42 succeeded after 3.4s (attempt 1)" and the result or error below it.
void PrintOutcome(client::Client& client, JobId id, const client::WatchResult& r) {
  std::cout << "job " << id << " " << JobStateName(r.state);
  auto job = client.Get(id);
  if (job.ok() && job->finished_at) {
    TimePoint from = job->started_at.value_or(job->created_at);
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(*job->finished_at - from);
    if (took.count() >= 0) std::cout << " after " << FormatDuration(took);
    if (job->attempt > 0) std::cout << " (attempt " << job->attempt << ")";
  }
  std::cout << "\n";
  for (const std::string& line : FinalDetails(r.final_event))
    std::cout << "  " << line << "\n";
  std::cout << std::flush;
}

}  // namespace

int WatchAndReport(client::Client& client, JobId id, Seq after, bool json, bool quiet) {
  DisplayMode mode = json                 ? DisplayMode::kJson
                     : StdoutIsTerminal() ? DisplayMode::kTerminal
                                          : DisplayMode::kPlain;
  WatchDisplay display(std::cout, mode, TerminalWidth());
  client::WatchOptions options;
  options.on_reconnect = [&](int attempt, std::chrono::milliseconds delay, const Status& why) {
    if (quiet || mode == DisplayMode::kJson) {
      std::cerr << "jobtape: connection lost (" << why.message() << "); reconnecting in "
                << FormatDuration(delay) << std::endl;
    } else {
      display.OnReconnect(attempt, delay, why);
    }
  };
  auto result = client.Watch(
      id, after,
      [&](const Event& e) {
        if (!quiet) display.OnEvent(e);
      },
      options);
  display.Finish();
  if (!result.ok()) Fail(result.status());
  if (json) {
    if (quiet) {
      std::string body;
      auto job = client.Get(id, &body);
      if (!job.ok()) Fail(job.status());
      std::cout << body << std::endl;
    }
  } else {
    PrintOutcome(client, id, *result);
  }
  return ExitCodeFor(result->state);
}

void AddWatchCommand(CLI::App& app) {
  auto args = std::make_shared<WatchArgs>();
  CLI::App* cmd = app.add_subcommand(
      "watch",
      "Follow a job live until it ends (exit 0 succeeded, 1 failed, 2 error, 3 cancelled)");
  cmd->footer(
      "A progress bar with the latest message on a terminal, one line per event otherwise,\n"
      "one JSON event per line with --json. A dropped connection is resumed where it left\n"
      "off (Last-Event-ID), with backoff up to 5 s; the watch gives up after about 5 minutes\n"
      "without reaching the server.");
  cmd->add_option("ID", args->id, "Job id")->required();
  cmd->add_option("--after", args->after, "Start after this event seq (default: the whole tape)");
  AddClientFlags(*cmd, args->flags);
  cmd->callback([args] {
    JobId id = ParseJobId(args->id);
    auto client = MakeClient(args->flags);
    ExitWith(WatchAndReport(*client, id, args->after, args->flags.json, /*quiet=*/false));
  });
}

}  // namespace jobtape::cli
