// jobtape cancel ID, retry ID, queues, health.
#include <iostream>
#include <memory>

#include "cli/cli_format.hpp"
#include "cli/client_common.hpp"
#include "cli/watch_display.hpp"

namespace jobtape::cli {
namespace {

struct IdArgs {
  ClientFlags flags;
  std::string id;
  std::string reason;  // cancel only
};

void RunCancel(const IdArgs& a) {
  JobId id = ParseJobId(a.id);
  auto client = MakeClient(a.flags);
  std::string body;
  auto r = client->Cancel(id, a.reason, &body);
  if (!r.ok()) Fail(r.status());
  if (a.flags.json) {
    std::cout << body << std::endl;
  } else if (r->cancel_requested && !IsTerminal(r->state)) {
    std::cout << "job " << id << ": cancel requested; the running attempt is asked to stop"
              << std::endl;
  } else if (!r->changed) {
    std::cout << "job " << id << " is already " << JobStateName(r->state) << "; nothing to cancel"
              << std::endl;
  } else {
    std::cout << "job " << id << " " << JobStateName(r->state) << std::endl;
  }
}

void RunRetry(const IdArgs& a) {
  JobId id = ParseJobId(a.id);
  auto client = MakeClient(a.flags);
  std::string body;
  auto r = client->Retry(id, &body);
  if (!r.ok()) Fail(r.status());
  if (a.flags.json) {
    std::cout << body << std::endl;
  } else {
    std::cout << "job " << id << " retried as job " << r->id << " (" << JobStateName(r->state)
              << ")" << std::endl;
  }
}

void RunQueues(const ClientFlags& flags) {
  auto client = MakeClient(flags);
  std::string body;
  auto queues = client->Queues(&body);
  if (!queues.ok()) Fail(queues.status());
  if (flags.json) {
    std::cout << body << std::endl;
    return;
  }
  if (queues->empty()) {
    std::cout << "no queues" << std::endl;
    return;
  }
  std::vector<std::string> header = {"QUEUE", "PAUSED", "MAX"};
  for (int i = 0; i < kJobStateCount; ++i) {
    std::string name(JobStateName(static_cast<JobState>(i)));
    for (char& c : name)
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    header.push_back(name);
  }
  Table table(header);
  for (const client::QueueInfo& q : *queues) {
    std::vector<std::string> row = {
        q.name, q.paused ? "yes" : "no",
        q.max_concurrent ? std::to_string(*q.max_concurrent) : std::string("-")};
    for (int i = 0; i < kJobStateCount; ++i)
      row.push_back(std::to_string(q.counts[i]));
    table.Add(std::move(row));
  }
  std::cout << table.Render() << std::flush;
}

void RunHealth(const ClientFlags& flags) {
  auto client = MakeClient(flags);
  std::string body;
  auto health = client->Health(&body);
  if (!health.ok()) Fail(health.status());
  bool healthy = health->http_status == 200;
  if (flags.json) {
    std::cout << body << std::endl;
  } else {
    std::cout << "server: " << client->options().server.ToString() << "\n"
              << RenderHealth(body) << std::flush;
  }
  ExitWith(healthy ? 0 : kExitFailed);
}

}  // namespace

void AddCancelCommand(CLI::App& app) {
  auto args = std::make_shared<IdArgs>();
  CLI::App* cmd = app.add_subcommand(
      "cancel", "Cancel a job (a running attempt is asked to stop; a no-op on a finished job)");
  cmd->add_option("ID", args->id, "Job id")->required();
  cmd->add_option("--reason", args->reason, "Why (recorded in the job's tape)");
  AddClientFlags(*cmd, args->flags);
  cmd->callback([args] { RunCancel(*args); });
}

void AddRetryCommand(CLI::App& app) {
  auto args = std::make_shared<IdArgs>();
  CLI::App* cmd = app.add_subcommand("retry", "Run a failed or cancelled job again (as a new job)");
  cmd->add_option("ID", args->id, "Job id")->required();
  AddClientFlags(*cmd, args->flags);
  cmd->callback([args] { RunRetry(*args); });
}

void AddQueuesCommand(CLI::App& app) {
  auto flags = std::make_shared<ClientFlags>();
  CLI::App* cmd = app.add_subcommand("queues", "List queues with their job counts per state");
  AddClientFlags(*cmd, *flags);
  cmd->callback([flags] { RunQueues(*flags); });
}

void AddHealthCommand(CLI::App& app) {
  auto flags = std::make_shared<ClientFlags>();
  CLI::App* cmd = app.add_subcommand(
      "health", "Show the server's health (exit 0 healthy, 1 unhealthy, 2 unreachable)");
  AddClientFlags(*cmd, *flags);
  cmd->callback([flags] { RunHealth(*flags); });
}

}  // namespace jobtape::cli
