// jobtape schedule put|get|list|delete|pause|resume: cron schedules
// (PUT/GET/DELETE /v1/schedules/{name}, GET /v1/schedules).
#include <functional>
#include <iostream>
#include <memory>

#include "cli/cli_format.hpp"
#include "cli/client_common.hpp"
#include "cli/payload_input.hpp"

namespace jobtape::cli {
namespace {

// The server's page size limit (SchedulesListParams: 1..1000).
constexpr int kMaxSchedulePage = 1000;

struct PutArgs {
  ClientFlags flags;
  std::string name;
  std::string cron;
  std::string timezone;
  std::string kind;
  std::string payload;
  std::string queue;
  int priority = 0;
  int max_attempts = 0;
  std::string timeout;
  std::vector<std::string> tags;
  std::string misfire;
  bool paused = false;
  CLI::Option* priority_opt = nullptr;
  CLI::Option* attempts_opt = nullptr;
};

struct NameArgs {
  ClientFlags flags;
  std::string name;
};

struct ListArgs {
  ClientFlags flags;
  int limit = kMaxSchedulePage;
  std::string cursor;
};

std::string When(const std::optional<TimePoint>& t, TimePoint now) {
  return t ? FormatTime(*t) + " (" + FormatAgo(*t, now) + ")" : std::string("-");
}

void PrintSchedule(const client::Schedule& s) {
  const TimePoint now = SystemClock::Instance().Now();
  Table t({"", ""});
  t.Add({"name:", s.name});
  t.Add({"cron:", s.cron + " (" + s.timezone + ")"});
  t.Add({"misfire:", s.misfire});
  t.Add({"paused:", s.paused ? "yes" : "no"});
  t.Add({"next fire:", s.paused ? std::string("- (paused)") : When(s.next_fire_at, now)});
  t.Add({"last fire:", When(s.last_fire_at, now) +
                           (s.last_job_id ? ", job " + std::to_string(*s.last_job_id) : "")});
  t.Add({"job:", s.job.kind + " in queue " + s.job.queue});
  t.Add({"payload:", Compact(s.job.payload)});
  std::string text = t.Render();
  std::cout << text.substr(text.find('\n') + 1) << std::flush;  // without the empty header
}

void RunPut(const PutArgs& a) {
  client::ScheduleSpec spec;
  spec.name = a.name;
  spec.cron = a.cron;
  if (!a.timezone.empty()) spec.timezone = a.timezone;
  if (!a.misfire.empty()) spec.misfire = a.misfire;
  spec.paused = a.paused;
  spec.job.kind = a.kind;
  if (!a.queue.empty()) spec.job.queue = a.queue;
  if (!a.payload.empty()) {
    auto text = ReadPayloadArg(a.payload, std::cin);
    if (!text.ok()) Fail(text.status());
    spec.job.payload = std::move(text).value();
  }
  if (a.priority_opt->count() > 0) spec.job.priority = a.priority;
  if (a.attempts_opt->count() > 0) spec.job.max_attempts = a.max_attempts;
  if (!a.timeout.empty()) {
    auto d = ParseDuration(a.timeout, "timeout");
    if (!d.ok()) Fail(d.status());
    spec.job.timeout = *d;
  }
  spec.job.tags = a.tags;
  auto client = MakeClient(a.flags);
  std::string body;
  auto r = client->PutSchedule(spec, &body);
  if (!r.ok()) Fail(r.status());
  if (a.flags.json) {
    std::cout << body << std::endl;
    return;
  }
  std::cout << "schedule " << r->name << (r->created ? " created" : " replaced");
  if (r->paused) {
    std::cout << " (paused)";
  } else if (r->next_fire_at) {
    std::cout << "; next fire " << When(r->next_fire_at, SystemClock::Instance().Now());
  }
  std::cout << std::endl;
}

void RunGet(const NameArgs& a) {
  auto client = MakeClient(a.flags);
  std::string body;
  auto r = client->GetSchedule(a.name, &body);
  if (!r.ok()) Fail(r.status());
  if (a.flags.json) {
    std::cout << body << std::endl;
  } else {
    PrintSchedule(*r);
  }
}

void RunList(const ListArgs& a) {
  if (a.limit < 1 || a.limit > kMaxSchedulePage) {
    Fail(Status::InvalidArgument("must be 1..1000", "limit"));
  }
  auto client = MakeClient(a.flags);
  std::string body;
  auto page = client->ListSchedules(a.limit, a.cursor, &body);
  if (!page.ok()) Fail(page.status());
  if (a.flags.json) {
    std::cout << body << std::endl;
    return;
  }
  if (page->schedules.empty()) {
    std::cout << "no schedules" << std::endl;
    return;
  }
  const TimePoint now = SystemClock::Instance().Now();
  Table table({"NAME", "CRON", "TIMEZONE", "KIND", "QUEUE", "PAUSED", "NEXT", "LAST JOB"});
  for (const client::Schedule& s : page->schedules) {
    table.Add({s.name, s.cron, s.timezone, s.job.kind, s.job.queue, s.paused ? "yes" : "no",
               s.paused || !s.next_fire_at ? std::string("-") : FormatAgo(*s.next_fire_at, now),
               s.last_job_id ? std::to_string(*s.last_job_id) : std::string("-")});
  }
  std::cout << table.Render();
  if (page->next_cursor) std::cout << "more: --cursor " << *page->next_cursor << std::endl;
}

void RunDelete(const NameArgs& a) {
  auto client = MakeClient(a.flags);
  Status s = client->DeleteSchedule(a.name);
  if (!s.ok()) Fail(s);
  if (a.flags.json) {
    std::cout << "{\"deleted\":true}" << std::endl;
  } else {
    std::cout << "schedule " << a.name << " deleted" << std::endl;
  }
}

void RunSetPaused(const NameArgs& a, bool paused) {
  auto client = MakeClient(a.flags);
  std::string body;
  auto r = client->SetSchedulePaused(a.name, paused, &body);
  if (!r.ok()) Fail(r.status());
  if (a.flags.json) {
    std::cout << body << std::endl;
  } else if (paused) {
    std::cout << "schedule " << r->name << " paused" << std::endl;
  } else {
    std::cout << "schedule " << r->name << " resumed; next fire "
              << When(r->next_fire_at, SystemClock::Instance().Now()) << std::endl;
  }
}

void AddNameCommand(CLI::App& group, const std::string& name, const std::string& help,
                    std::function<void(const NameArgs&)> run) {
  auto args = std::make_shared<NameArgs>();
  CLI::App* cmd = group.add_subcommand(name, help);
  cmd->add_option("NAME", args->name, "Schedule name")->required();
  AddClientFlags(*cmd, args->flags);
  cmd->callback([args, run] { run(*args); });
}

}  // namespace

void AddScheduleCommand(CLI::App& app) {
  CLI::App* group = app.add_subcommand("schedule", "Cron schedules: jobs enqueued on a timetable");
  group->require_subcommand(1);

  auto put = std::make_shared<PutArgs>();
  CLI::App* cmd = group->add_subcommand(
      "put", "Create or replace a schedule (a replace takes the whole new definition)");
  cmd->add_option("NAME", put->name, "Schedule name ([A-Za-z0-9_.:-])")->required();
  cmd->add_option("--cron", put->cron, "5-field cron expression or @hourly/@daily/...")->required();
  cmd->add_option("--tz", put->timezone, "IANA time zone of the expression (default UTC)");
  cmd->add_option("--kind,-k", put->kind, "Kind of the job each fire enqueues")->required();
  cmd->add_option("--payload,-p", put->payload,
                  "JSON payload: the text itself, @FILE to read a file, - to read stdin");
  cmd->add_option("--queue,-q", put->queue, "Queue of the jobs (default: the server's)");
  put->priority_opt =
      cmd->add_option("--priority", put->priority, "Priority -100..100, higher runs first");
  put->attempts_opt =
      cmd->add_option("--max-attempts", put->max_attempts, "Attempts before failing (1..100)");
  cmd->add_option("--timeout", put->timeout, "Per-attempt runtime limit (e.g. 10m)");
  cmd->add_option("--tag", put->tags, "A tag (repeatable; each fire adds schedule:NAME)");
  cmd->add_option("--misfire", put->misfire,
                  "Fires missed while down: skip (default) or run_once (one job for them all)")
      ->check(CLI::IsMember({"skip", "run_once"}));
  cmd->add_flag("--paused", put->paused, "Create it paused (it fires once resumed)");
  AddClientFlags(*cmd, put->flags);
  cmd->callback([put] { RunPut(*put); });

  AddNameCommand(*group, "get", "Show a schedule", RunGet);

  auto list = std::make_shared<ListArgs>();
  CLI::App* ls = group->add_subcommand("list", "List schedules by name");
  ls->add_option("--limit,-n", list->limit, "Schedules per page (1..1000, default 1000)");
  ls->add_option("--cursor", list->cursor, "Continue after a previous page (its 'more:' value)");
  AddClientFlags(*ls, list->flags);
  ls->callback([list] { RunList(*list); });

  AddNameCommand(*group, "delete", "Delete a schedule (the jobs it enqueued stay)", RunDelete);
  AddNameCommand(*group, "pause", "Pause a schedule (it fires nothing until resumed)",
                 [](const NameArgs& a) { RunSetPaused(a, true); });
  AddNameCommand(*group, "resume", "Resume a schedule (fires missed while paused are skipped)",
                 [](const NameArgs& a) { RunSetPaused(a, false); });
}

}  // namespace jobtape::cli
