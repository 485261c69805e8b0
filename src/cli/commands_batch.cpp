// jobtape batch submit|get|watch|cancel: batches (POST /v1/batches,
// GET /v1/batches/{id}, its SSE stream, POST .../cancel).
//
// `batch submit FILE` takes either a whole request body (a JSON object with
// "jobs") or JSON lines, one job object per line ('-' reads stdin); for JSON
// lines, --on-complete and --key complete the body.
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>

#include <boost/json.hpp>

#include "cli/cli_format.hpp"
#include "cli/client_common.hpp"
#include "cli/payload_input.hpp"

namespace jobtape::cli {
namespace {

namespace json = boost::json;

struct SubmitArgs {
  ClientFlags flags;
  std::string file;
  std::string on_complete;
  std::string key;
  bool watch = false;
};

struct IdArgs {
  ClientFlags flags;
  std::string id;
  std::string reason;
};

Result<std::string> ReadInput(const std::string& file) {
  std::string text;
  if (file == "-") {
    std::ostringstream s;
    s << std::cin.rdbuf();
    text = s.str();
  } else {
    std::ifstream in(file, std::ios::binary);
    if (!in) return Status::InvalidArgument("cannot read " + file, "FILE");
    std::ostringstream s;
    s << in.rdbuf();
    text = s.str();
  }
  if (text.size() > kMaxPayloadInput) {
    return Status::InvalidArgument("larger than 16 MiB", "FILE");
  }
  return text;
}

// The request body: the input as given when it is a whole body, else the
// JSON lines as "jobs" plus the flags.
Result<std::string> BuildBody(const SubmitArgs& a, const std::string& input) {
  boost::system::error_code ec;
  json::value whole = json::parse(input, ec);
  if (!ec && whole.is_object() && whole.as_object().contains("jobs")) {
    if (!a.on_complete.empty() || !a.key.empty()) {
      return Status::InvalidArgument(
          "a whole request body carries on_complete and idempotency_key itself", "FILE");
    }
    return input;
  }
  std::string jobs;
  std::istringstream lines(input);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json::value v = json::parse(line, ec);
    if (ec || !v.is_object()) {
      return Status::InvalidArgument("line " + std::to_string(n + 1) + " is not a JSON object",
                                     "FILE");
    }
    jobs += (n++ ? "," : "") + line;
  }
  if (n == 0) return Status::InvalidArgument("no jobs", "FILE");
  std::string body = "{\"jobs\":[" + jobs + "]";
  if (!a.on_complete.empty()) {
    auto text = ReadPayloadArg(a.on_complete, std::cin);
    if (!text.ok()) return Status::InvalidArgument(text.status().message(), "on-complete");
    body += ",\"on_complete\":" + *text;
  }
  if (!a.key.empty()) body += ",\"idempotency_key\":" + json::serialize(json::string(a.key));
  return body + "}";
}

std::string CountsLine(const client::BatchInfo& b) {
  std::string out;
  for (int s = 0; s < kJobStateCount; ++s) {
    if (b.counts[s] == 0) continue;
    if (!out.empty()) out += ", ";
    out += std::string(JobStateName(static_cast<JobState>(s))) + " " + std::to_string(b.counts[s]);
  }
  return out.empty() ? "-" : out;
}

void PrintBatch(const client::BatchInfo& b) {
  Table t({"", ""});
  t.Add({"batch:", b.id});
  t.Add({"state:", b.state});
  t.Add({"done:", std::to_string(b.done) + " of " + std::to_string(b.total) + " (" +
                      std::to_string(b.progress) + "%)"});
  t.Add({"members:", CountsLine(b)});
  t.Add({"on_complete job:",
         b.on_complete_job_id ? std::to_string(*b.on_complete_job_id) : std::string("-")});
  std::string text = t.Render();
  std::cout << text.substr(text.find('\n') + 1) << std::flush;  // without the empty header
}

// Follows the batch until it is done; one line per update (JSON lines with
// --json). Exit code 0 when every member succeeded, 1 otherwise.
int Watch(client::Client& client, const std::string& id, bool json_out) {
  auto last = client.WatchBatch(id, [&](const client::BatchInfo& b) {
    if (json_out) {
      std::cout << "{\"id\":\"" << b.id << "\",\"state\":\"" << b.state << "\",\"done\":" << b.done
                << ",\"total\":" << b.total << "}" << std::endl;
    } else {
      std::cout << b.done << "/" << b.total << " done (" << b.progress << "%): " << CountsLine(b)
                << std::endl;
    }
  });
  if (!last.ok()) Fail(last.status());
  const bool all_ok = last->counts[static_cast<int>(JobState::kSucceeded)] == last->total;
  if (!json_out && last->on_complete_job_id) {
    std::cout << "on_complete: job " << *last->on_complete_job_id << std::endl;
  }
  return all_ok ? 0 : 1;
}

void RunSubmit(const SubmitArgs& a) {
  auto input = ReadInput(a.file);
  if (!input.ok()) Fail(input.status());
  auto body = BuildBody(a, *input);
  if (!body.ok()) Fail(body.status());
  auto client = MakeClient(a.flags);
  const bool keyed = body->find("\"idempotency_key\"") != std::string::npos;
  std::string reply;
  auto r = client->CreateBatchRaw(std::move(body).value(), keyed, &reply);
  if (!r.ok()) Fail(r.status());
  if (a.flags.json && !a.watch) {
    std::cout << reply << std::endl;
    return;
  }
  if (!a.flags.json) {
    std::cout << "batch " << r->batch.id << (r->duplicate ? " (existing, same key): " : ": ")
              << r->batch.total << " jobs" << std::endl;
  }
  if (a.watch) ExitWith(Watch(*client, r->batch.id, a.flags.json));
}

void RunGet(const IdArgs& a) {
  auto client = MakeClient(a.flags);
  std::string body;
  auto r = client->GetBatch(a.id, &body);
  if (!r.ok()) Fail(r.status());
  if (a.flags.json) {
    std::cout << body << std::endl;
  } else {
    PrintBatch(*r);
  }
}

void RunCancel(const IdArgs& a) {
  auto client = MakeClient(a.flags);
  std::string body;
  auto r = client->CancelBatch(a.id, a.reason, &body);
  if (!r.ok()) Fail(r.status());
  if (a.flags.json) {
    std::cout << body << std::endl;
  } else {
    std::cout << "batch " << a.id << ": " << r->cancelled << " cancelled, " << r->cancel_requested
              << " running asked to stop" << std::endl;
  }
}

void AddIdCommand(CLI::App& group, const std::string& name, const std::string& help,
                  std::function<void(const IdArgs&)> run) {
  auto args = std::make_shared<IdArgs>();
  CLI::App* cmd = group.add_subcommand(name, help);
  cmd->add_option("ID", args->id, "Batch id")->required();
  AddClientFlags(*cmd, args->flags);
  if (name == "cancel") cmd->add_option("--reason", args->reason, "Recorded in each tape");
  cmd->callback([args, run] { run(*args); });
}

}  // namespace

void AddBatchCommand(CLI::App& app) {
  CLI::App* group =
      app.add_subcommand("batch", "Batches: up to 10,000 jobs counted together, with on_complete");
  group->require_subcommand(1);

  auto submit = std::make_shared<SubmitArgs>();
  CLI::App* cmd = group->add_subcommand(
      "submit", "Create a batch from FILE: a request body, or JSON lines (one job per line)");
  cmd->add_option("FILE", submit->file, "The file ('-': standard input)")->required();
  cmd->add_option("--on-complete", submit->on_complete,
                  "Job to enqueue once every member ended (JSON, @FILE, or -)");
  cmd->add_option("--key", submit->key, "Idempotency key: a repeat returns the first batch");
  cmd->add_flag("--watch,-w", submit->watch, "Follow it until done (exit 1 unless all succeeded)");
  AddClientFlags(*cmd, submit->flags);
  cmd->callback([submit] { RunSubmit(*submit); });

  AddIdCommand(*group, "get", "Show a batch: members per state and progress", RunGet);
  AddIdCommand(*group, "watch", "Follow a batch until done (exit 1 unless all succeeded)",
               [](const IdArgs& a) {
                 auto client = MakeClient(a.flags);
                 ExitWith(Watch(*client, a.id, a.flags.json));
               });
  AddIdCommand(*group, "cancel", "Cancel every member not yet done", RunCancel);
}

}  // namespace jobtape::cli
