// jobtape ls and jobtape show ID: reading jobs and their tapes.
#include <iostream>
#include <memory>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "cli/cli_format.hpp"
#include "cli/client_common.hpp"

namespace jobtape::cli {
namespace {
namespace json = boost::json;

// The server's page size limit (ListParams: 1..1000).
constexpr int kMaxPage = 1000;
// Enough rows to fill a screen or two.
constexpr int kDefaultListLimit = 50;

struct ListArgs {
  ClientFlags flags;
  std::string queue;
  std::string state;
  std::string kind;
  int64_t batch = 0;
  int limit = kDefaultListLimit;
  int64_t cursor = 0;
  bool all = false;
};

struct ShowArgs {
  ClientFlags flags;
  std::string id;
  int tail = 0;
};

void RunList(const ListArgs& a) {
  client::ListFilter filter;
  if (!a.queue.empty()) filter.queue = a.queue;
  if (!a.kind.empty()) filter.kind = a.kind;
  if (a.batch != 0) filter.batch = a.batch;
  if (!a.state.empty()) {
    filter.state = ParseJobState(a.state);
    if (!filter.state) {
      Fail(Status::InvalidArgument("unknown state '" + a.state +
                                       "' (scheduled, queued, running, succeeded, failed, "
                                       "cancelled)",
                                   "state"));
    }
  }
  if (a.limit < 1 || a.limit > kMaxPage) {
    Fail(Status::InvalidArgument("must be 1..1000", "limit"));
  }
  filter.limit = a.limit;
  if (a.cursor > 0) filter.cursor = a.cursor;
  auto client = MakeClient(a.flags);
  TimePoint now = SystemClock::Instance().Now();
  Table table({"ID", "STATE", "QUEUE", "KIND", "ATTEMPT", "PRIO", "CREATED", "UPDATED"});
  std::optional<JobId> next;
  do {
    std::string body;
    auto page = client->List(filter, &body);
    if (!page.ok()) Fail(page.status());
    if (a.flags.json) std::cout << body << std::endl;  // one page per line with --all
    for (const Job& job : page->jobs) {
      table.Add({std::to_string(job.id), std::string(JobStateName(job.state)), job.spec.queue,
                 job.spec.kind,
                 std::to_string(job.attempt) + "/" + std::to_string(job.spec.max_attempts),
                 std::to_string(job.spec.priority), FormatAgo(job.created_at, now),
                 FormatAgo(job.updated_at, now)});
    }
    next = page->next_cursor;
    filter.cursor = next;
  } while (a.all && next);
  if (a.flags.json) return;
  if (table.size() == 0) {
    std::cout << "no jobs" << std::endl;
    return;
  }
  std::cout << table.Render();
  if (next) std::cout << "more: --cursor " << *next << std::endl;
}

// The job as "key  value" lines.
void PrintJob(const Job& job, TimePoint now) {
  const JobSpec& s = job.spec;
  std::cout << "job " << job.id << "  " << JobStateName(job.state)
            << (job.cancel_requested && job.state == JobState::kRunning ? " (cancel requested)"
                                                                        : "")
            << "\n";
  Table t({"", ""});
  auto row = [&t](std::string key, std::string value) {
    if (!value.empty()) t.Add({"  " + std::move(key), std::move(value)});
  };
  auto when = [now](const std::optional<TimePoint>& tp) {
    return tp ? FormatTime(*tp) + " (" + FormatAgo(*tp, now) + ")" : std::string();
  };
  row("kind", s.kind);
  row("queue", s.queue);
  row("priority", std::to_string(s.priority));
  row("attempts", std::to_string(job.attempt) + " of " + std::to_string(s.max_attempts));
  row("created", when(job.created_at));
  if (job.state == JobState::kScheduled || job.state == JobState::kQueued) {
    row("run at", when(job.run_at));
  }
  row("started", when(job.started_at));
  row("finished", when(job.finished_at));
  if (job.state == JobState::kRunning) row("lease expires", when(job.lease_expires_at));
  row("worker", job.worker_id);
  row("node", job.node_id);
  if (s.timeout) {
    row("timeout",
        FormatDuration(std::chrono::duration_cast<std::chrono::milliseconds>(*s.timeout)));
  }
  row("concurrency key", s.concurrency_key);
  row("idempotency key", s.idempotency_key);
  row("batch", s.batch_id);
  std::string tags;
  for (const std::string& tag : s.tags)
    tags += (tags.empty() ? "" : ", ") + tag;
  row("tags", tags);
  if (s.retry_of) row("retry of", "job " + std::to_string(*s.retry_of));
  row("payload", Compact(s.payload, Table::kMaxCell));
  if (!job.error.empty()) row("error", Compact(job.error, Table::kMaxCell));
  if (!job.result.empty()) row("result", Compact(job.result, Table::kMaxCell));
  std::string text = t.Render();
  std::cout << text.substr(text.find('\n') + 1);  // without the empty header row
}

void RunShow(const ShowArgs& a) {
  JobId id = ParseJobId(a.id);
  auto client = MakeClient(a.flags);
  std::string job_body;
  auto job = client->Get(id, &job_body);
  if (!job.ok()) Fail(job.status());
  Seq after = a.tail > 0 && job->last_seq > a.tail ? job->last_seq - a.tail : 0;
  std::vector<Event> events;
  json::array raw_events;
  while (true) {
    std::string body;
    auto page = client->Events(id, after, kMaxPage, &body);
    if (!page.ok()) Fail(page.status());
    if (a.flags.json) {
      boost::system::error_code ec;
      json::value doc = json::parse(body, ec);
      if (!ec && doc.is_object()) {
        if (auto* list = doc.get_object().if_contains("events"); list && list->is_array()) {
          for (auto& e : list->get_array())
            raw_events.push_back(std::move(e));
        }
      }
    }
    if (page->events.empty()) break;
    after = page->events.back().seq;
    for (Event& e : page->events)
      events.push_back(std::move(e));
    if (after >= page->last_seq) break;
  }
  if (a.flags.json) {
    std::cout << "{\"job\":" << job_body << ",\"events\":" << json::serialize(raw_events) << "}"
              << std::endl;
    return;
  }
  TimePoint now = SystemClock::Instance().Now();
  PrintJob(*job, now);
  std::cout << "\ntape: " << job->last_seq << " event" << (job->last_seq == 1 ? "" : "s");
  if (events.size() < static_cast<std::size_t>(job->last_seq)) {
    std::cout << " (last " << events.size() << " shown)";
  }
  std::cout << "\n";
  Table tape({"SEQ", "TIME", "ATTEMPT", "EVENT"});
  for (const Event& e : events) {
    tape.Add(
        {std::to_string(e.seq), FormatTime(e.at), std::to_string(e.attempt), DescribeEvent(e)});
  }
  std::cout << tape.Render() << std::flush;
}

}  // namespace

void AddListCommand(CLI::App& app) {
  auto args = std::make_shared<ListArgs>();
  CLI::App* cmd = app.add_subcommand("ls", "List jobs, newest first");
  cmd->add_option("--queue,-q", args->queue, "Only this queue");
  cmd->add_option("--state,-s", args->state,
                  "Only this state (scheduled, queued, running, succeeded, failed, cancelled)");
  cmd->add_option("--kind,-k", args->kind, "Only this kind");
  cmd->add_option("--batch,-b", args->batch, "Only the members of this batch");
  cmd->add_option("--limit,-n", args->limit, "Jobs per page (1..1000, default 50)");
  cmd->add_option("--cursor", args->cursor, "Continue after a previous page (its 'more:' value)");
  cmd->add_flag("--all", args->all,
                "Follow the cursor through every page (with --json: one page per line)");
  AddClientFlags(*cmd, args->flags);
  cmd->callback([args] { RunList(*args); });
}

void AddShowCommand(CLI::App& app) {
  auto args = std::make_shared<ShowArgs>();
  CLI::App* cmd = app.add_subcommand("show", "Show a job and its event tape");
  cmd->add_option("ID", args->id, "Job id")->required();
  cmd->add_option("--tail", args->tail, "Only the last N events of the tape");
  AddClientFlags(*cmd, args->flags);
  cmd->callback([args] { RunShow(*args); });
}

}  // namespace jobtape::cli
