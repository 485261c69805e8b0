// jobtape submit KIND [...]: one job, optionally waiting for or watching it.
#include <iostream>
#include <memory>

#include "cli/cli_format.hpp"
#include "cli/client_common.hpp"
#include "cli/payload_input.hpp"
#include "cli/watch_display.hpp"

namespace jobtape::cli {
namespace {

struct SubmitArgs {
  ClientFlags flags;
  std::string kind;
  std::string queue;
  std::string payload;
  int priority = 0;
  std::string delay;
  int max_attempts = 0;
  std::string timeout;
  std::string key;
  std::string idempotency_key;
  std::vector<std::string> tags;
  bool wait = false;
  bool watch = false;
  CLI::Option* priority_opt = nullptr;
  CLI::Option* attempts_opt = nullptr;
};

client::SubmitSpec BuildSpec(const SubmitArgs& a) {
  client::SubmitSpec spec;
  spec.kind = a.kind;
  if (!a.queue.empty()) spec.queue = a.queue;
  if (!a.payload.empty()) {
    auto text = ReadPayloadArg(a.payload, std::cin);
    if (!text.ok()) Fail(text.status());
    spec.payload = std::move(text).value();
  }
  if (a.priority_opt->count() > 0) spec.priority = a.priority;
  if (a.attempts_opt->count() > 0) spec.max_attempts = a.max_attempts;
  if (!a.delay.empty()) {
    auto d = ParseDuration(a.delay, "delay");
    if (!d.ok()) Fail(d.status());
    spec.delay = *d;
  }
  if (!a.timeout.empty()) {
    auto d = ParseDuration(a.timeout, "timeout");
    if (!d.ok()) Fail(d.status());
    spec.timeout = *d;
  }
  if (!a.key.empty()) spec.concurrency_key = a.key;
  if (!a.idempotency_key.empty()) spec.idempotency_key = a.idempotency_key;
  spec.tags = a.tags;
  return spec;
}

void RunSubmit(const SubmitArgs& a) {
  client::SubmitSpec spec = BuildSpec(a);
  auto client = MakeClient(a.flags);
  std::string body;
  auto submitted = client->Submit(spec, &body);
  if (!submitted.ok()) Fail(submitted.status());
  const client::Submitted& s = *submitted;
  bool follow = a.wait || a.watch;
  if (a.flags.json) {
    // Scripts get one document: the submit reply, or (following) the events
    // as NDJSON (--watch) or the finished job (--wait).
    if (!follow) std::cout << body << std::endl;
  } else if (s.duplicate) {
    std::cout << "job " << s.id << " already exists with this idempotency key ("
              << JobStateName(s.state) << ")" << std::endl;
  } else {
    // Without --queue the server picks it (the kind's queue for a built-in
    // kind, else "default"), so only a queue the user named is shown.
    std::cout << "job " << s.id << " submitted"
              << (spec.queue ? " to queue " + *spec.queue : std::string()) << " ("
              << JobStateName(s.state) << ")" << std::endl;
  }
  if (!follow) return;
  ExitWith(WatchAndReport(*client, s.id, 0, a.flags.json, /*quiet=*/a.wait && !a.watch));
}

}  // namespace

void AddSubmitCommand(CLI::App& app) {
  auto args = std::make_shared<SubmitArgs>();
  CLI::App* cmd = app.add_subcommand("submit", "Submit a job");
  cmd->add_option("KIND", args->kind, "The job kind (defined by the operator)")->required();
  cmd->add_option("--queue,-q", args->queue, "Queue (default: default)");
  cmd->add_option("--payload,-p", args->payload,
                  "JSON payload: the text itself, @FILE to read a file, - to read stdin");
  args->priority_opt =
      cmd->add_option("--priority", args->priority, "Priority -100..100, higher runs first");
  cmd->add_option("--delay", args->delay, "Run no earlier than this from now (500ms, 30s, 5m, 2h)");
  args->attempts_opt =
      cmd->add_option("--max-attempts", args->max_attempts, "Attempts before failing (1..100)");
  cmd->add_option("--timeout", args->timeout, "Per-attempt runtime limit (e.g. 10m)");
  cmd->add_option("--key", args->key,
                  "Concurrency key: jobs sharing it never run at the same time");
  cmd->add_option("--idempotency-key", args->idempotency_key,
                  "Submitting again with the same key returns the original job");
  cmd->add_option("--tag", args->tags, "A tag (repeatable)");
  auto* wait = cmd->add_flag("--wait", args->wait,
                             "Wait until the job ends; exit 0 succeeded, 1 failed, 3 cancelled");
  cmd->add_flag("--watch", args->watch, "Show the job's progress live until it ends (as watch)")
      ->excludes(wait);
  AddClientFlags(*cmd, args->flags);
  cmd->callback([args] { RunSubmit(*args); });
}

}  // namespace jobtape::cli
