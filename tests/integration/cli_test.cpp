// The jobtape client commands end to end: the real binary against the real
// server (both as child processes), with this test playing the remote worker
// through the C++ client. Covers the README tour (submit with every payload
// source, ls, show, cancel, retry, queues, health), --json, error output and
// exit codes, and `watch` following a job to its end, including across a
// server restart.
#include <gtest/gtest.h>

#include <fstream>

#include <boost/json.hpp>

#include "cli_process.hpp"
#include "client/client.hpp"
#include "server_process.hpp"

namespace jobtape::integration {
namespace {

using Env = std::map<std::string, std::string>;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(); }

  void Start(std::vector<std::string> extra = {}) {
    server_ = std::make_unique<ServerProcess>(dir_.path() + "/data", std::move(extra));
    ASSERT_TRUE(server_->WaitForListening()) << server_->Output();
    url_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }

  Env env() const { return {{"JOBTAPE_URL", url_}}; }
  CliResult Run(std::vector<std::string> args, std::string stdin_text = {}) {
    return RunCli(std::move(args), env(), std::move(stdin_text));
  }

  // Submits through the CLI and returns the new job's id.
  int64_t Submit(std::vector<std::string> args) {
    args.insert(args.begin(), "submit");
    args.push_back("--json");
    CliResult r = Run(args);
    EXPECT_EQ(r.code, 0) << r.err;
    if (r.code != 0) return 0;
    return boost::json::parse(r.out).at("id").as_int64();
  }

  client::Client Worker() const {
    auto options = client::ResolveClientOptions(url_, {});
    EXPECT_TRUE(options.ok());
    return client::Client(std::move(options).value());
  }

  // Claims the one job waiting in `queue`.
  client::ClaimedJob ClaimOne(client::Client& worker, const std::string& queue) {
    client::ClaimRequest claim;
    claim.queues = {queue};
    claim.wait = std::chrono::seconds(10);
    claim.lease = std::chrono::seconds(60);
    auto claimed = worker.Claim(claim);
    EXPECT_TRUE(claimed.ok()) << claimed.status().ToString();
    if (!claimed.ok() || claimed->size() != 1) {
      ADD_FAILURE() << "expected one claimed job";
      return {};
    }
    return claimed->front();
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  std::string url_;
};

TEST_F(CliTest, TourOfTheCommands) {
  // submit: inline JSON (kept byte for byte), @file, and stdin.
  CliResult first = Run({"submit", "resize", "--queue", "images", "--payload", R"({"w": 0.10})",
                         "--priority", "5", "--max-attempts", "2", "--key", "user:1"});
  ASSERT_EQ(first.code, 0) << first.err;
  EXPECT_NE(first.out.find("submitted to queue images (queued)"), std::string::npos) << first.out;
  std::string file = dir_.path() + "/payload.json";
  std::ofstream(file) << R"({"from":"file"})";
  int64_t from_file = Submit({"resize", "--queue", "images", "--payload", "@" + file});
  CliResult from_stdin =
      Run({"submit", "resize", "--queue", "images", "--payload", "-", "--json"}, "[1,2,3]");
  ASSERT_EQ(from_stdin.code, 0) << from_stdin.err;
  int64_t stdin_id = boost::json::parse(from_stdin.out).at("id").as_int64();

  // show: the job, its payload as sent, its tape.
  CliResult show = Run({"show", std::to_string(from_file)});
  ASSERT_EQ(show.code, 0) << show.err;
  EXPECT_NE(show.out.find(R"(payload   {"from":"file"})"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("created in queue images (kind resize)"), std::string::npos) << show.out;
  CliResult show_json = Run({"show", std::to_string(stdin_id), "--json"});
  ASSERT_EQ(show_json.code, 0);
  auto doc = boost::json::parse(show_json.out);
  EXPECT_EQ(boost::json::serialize(doc.at("job").at("payload")), "[1,2,3]");
  EXPECT_EQ(doc.at("events").as_array().size(), 1u);

  // ls: a table, filters, paging, --json.
  CliResult ls = Run({"ls", "--queue", "images"});
  ASSERT_EQ(ls.code, 0) << ls.err;
  EXPECT_EQ(ls.out.rfind("ID  STATE   QUEUE   KIND    ATTEMPT  PRIO", 0), 0u) << ls.out;
  EXPECT_NE(ls.out.find("images  resize  0/2      5"), std::string::npos) << ls.out;
  CliResult page = Run({"ls", "--limit", "1"});
  EXPECT_NE(page.out.find("more: --cursor " + std::to_string(stdin_id)), std::string::npos)
      << page.out;
  CliResult all = Run({"ls", "--limit", "1", "--all"});
  EXPECT_EQ(all.out.find("more:"), std::string::npos);
  EXPECT_NE(all.out.find("\n" + std::to_string(from_file) + " "), std::string::npos) << all.out;
  CliResult ls_json = Run({"ls", "--state", "queued", "--json"});
  ASSERT_EQ(ls_json.code, 0);
  EXPECT_EQ(boost::json::parse(ls_json.out).at("jobs").as_array().size(), 3u);

  // cancel: a queued job ends at once; a second cancel is a no-op; watching
  // it exits 3; retry makes a new job.
  CliResult cancel = Run({"cancel", std::to_string(from_file), "--reason", "tour"});
  ASSERT_EQ(cancel.code, 0) << cancel.err;
  EXPECT_EQ(cancel.out, "job " + std::to_string(from_file) + " cancelled\n");
  CliResult again = Run({"cancel", std::to_string(from_file)});
  EXPECT_NE(again.out.find("already cancelled"), std::string::npos) << again.out;
  CliResult watch = Run({"watch", std::to_string(from_file)});
  EXPECT_EQ(watch.code, 3) << watch.out << watch.err;
  EXPECT_NE(watch.out.find("reason: tour"), std::string::npos) << watch.out;
  CliResult retry = Run({"retry", std::to_string(from_file)});
  ASSERT_EQ(retry.code, 0) << retry.err;
  EXPECT_NE(retry.out.find("retried as job"), std::string::npos) << retry.out;

  // queues and health.
  CliResult queues = Run({"queues"});
  ASSERT_EQ(queues.code, 0) << queues.err;
  EXPECT_NE(queues.out.find("images  no      -    0          3       0        0          0"
                            "       1"),
            std::string::npos)
      << queues.out;
  CliResult health = Run({"health"});
  EXPECT_EQ(health.code, 0) << health.err;
  EXPECT_NE(health.out.find("status: ok"), std::string::npos) << health.out;
  EXPECT_NE(health.out.find("store: ok (sqlite"), std::string::npos) << health.out;
}

TEST_F(CliTest, ErrorsPrintTheServersCodeAndExit2) {
  CliResult missing = Run({"show", "424242"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_EQ(missing.out, "");
  EXPECT_NE(missing.err.find("jobtape: not_found:"), std::string::npos) << missing.err;

  CliResult range = Run({"submit", "k", "--priority", "500"});
  EXPECT_EQ(range.code, 2);
  EXPECT_NE(range.err.find("invalid_argument"), std::string::npos) << range.err;
  EXPECT_NE(range.err.find("(field priority)"), std::string::npos) << range.err;

  CliResult bad_json = Run({"submit", "k", "--payload", "{nope"});
  EXPECT_EQ(bad_json.code, 2);
  EXPECT_NE(bad_json.err.find("(field payload)"), std::string::npos) << bad_json.err;

  CliResult usage = Run({"submit"});
  EXPECT_EQ(usage.code, 2) << usage.err;

  CliResult unreachable = RunCli({"ls"}, {{"JOBTAPE_URL", "http://127.0.0.1:1"}});
  EXPECT_EQ(unreachable.code, 2);
  EXPECT_NE(unreachable.err.find("unavailable: cannot connect"), std::string::npos)
      << unreachable.err;
  CliResult bad_url = RunCli({"health", "--server", "https://x"}, {});
  EXPECT_EQ(bad_url.code, 2);
  EXPECT_NE(bad_url.err.find("(field server)"), std::string::npos) << bad_url.err;
}

TEST_F(CliTest, WatchFollowsAWorkerAndExitsByOutcome) {
  int64_t ok_id = Submit({"work", "--queue", "w1"});
  CliProcess watch({"watch", std::to_string(ok_id)}, env());
  ASSERT_TRUE(watch.WaitForLine("created in queue w1")) << watch.Stdout() << watch.Stderr();
  client::Client worker = Worker();
  client::ClaimedJob job = ClaimOne(worker, "w1");
  ASSERT_EQ(job.job.id, ok_id);
  ASSERT_TRUE(worker.Progress(job.lease, 50, "half way").ok());
  ASSERT_TRUE(watch.WaitForLine("progress 50% half way")) << watch.Stdout();
  ASSERT_TRUE(worker
                  .AppendEvents(job.lease,
                                {NewEvent{EventType::kLog, R"({"stream":"stdout","line":"hi"})"}})
                  .ok());
  ASSERT_TRUE(worker.Complete(job.lease, R"({"size": 1.50})").ok());
  EXPECT_EQ(watch.Wait(), 0) << watch.Stdout() << watch.Stderr();
  std::string out = watch.Stdout();
  EXPECT_NE(out.find("log [stdout] hi"), std::string::npos) << out;
  EXPECT_NE(out.find("job " + std::to_string(ok_id) + " succeeded after"), std::string::npos)
      << out;
  EXPECT_NE(out.find(R"(result: {"size":1.50})"), std::string::npos) << out;

  // submit --watch on a job that fails for good: exit 1 with the error.
  CliProcess failing({"submit", "work", "--queue", "w2", "--max-attempts", "1", "--watch"}, env());
  ASSERT_TRUE(failing.WaitForLine("created in queue w2")) << failing.Stdout() << failing.Stderr();
  client::ClaimedJob doomed = ClaimOne(worker, "w2");
  ASSERT_TRUE(worker.Fail(doomed.lease, "boom", "it broke", /*retryable=*/false).ok());
  EXPECT_EQ(failing.Wait(), 1) << failing.Stdout() << failing.Stderr();
  EXPECT_NE(failing.Stdout().find("error: boom: it broke"), std::string::npos) << failing.Stdout();

  // submit --wait --json: quiet until the end, then the finished job.
  CliProcess waiting({"submit", "work", "--queue", "w3", "--wait", "--json"}, env());
  client::ClaimedJob third = ClaimOne(worker, "w3");
  ASSERT_TRUE(worker.Complete(third.lease).ok());
  EXPECT_EQ(waiting.Wait(), 0) << waiting.Stderr();
  auto finished = boost::json::parse(waiting.Stdout());
  EXPECT_EQ(finished.at("state").as_string(), "succeeded");
  EXPECT_EQ(finished.at("id").as_int64(), third.job.id);
}

// The C++ client's worker calls (the base of the worker SDK) against the real server.
TEST_F(CliTest, ClientLeaseCallsAreFenced) {
  client::Client c = Worker();
  client::SubmitSpec spec;
  spec.kind = "work";
  spec.queue = "lease";
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(c.Submit(spec).ok());
  client::ClaimRequest claim;
  claim.queues = {"lease"};
  claim.max = 3;
  claim.worker_id = "sdk-1";
  auto claimed = c.Claim(claim);
  ASSERT_TRUE(claimed.ok()) << claimed.status().ToString();
  ASSERT_EQ(claimed->size(), 3u);
  const Lease& first = (*claimed)[0].lease;
  EXPECT_EQ((*claimed)[0].job.worker_id, "sdk-1");

  auto beat = c.Heartbeat(first, std::chrono::seconds(20));
  ASSERT_TRUE(beat.ok()) << beat.status().ToString();
  EXPECT_FALSE(beat->cancel_requested);
  ASSERT_TRUE(c.Cancel(first.job_id, "stop please").ok());
  beat = c.Heartbeat(first);
  ASSERT_TRUE(beat.ok());
  EXPECT_TRUE(beat->cancel_requested);

  Lease forged = first;
  forged.token = std::string(32, '0');
  auto stale = c.Heartbeat(forged);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.status().code(), ErrorCode::kStaleLease);

  auto many = c.CompleteMany(
      {{(*claimed)[1].lease, R"({"n":1})"}, {(*claimed)[2].lease, ""}, {forged, ""}});
  ASSERT_TRUE(many.ok()) << many.status().ToString();
  ASSERT_EQ(many->size(), 3u);
  EXPECT_TRUE((*many)[0].ok() && (*many)[0]->state == JobState::kSucceeded);
  EXPECT_TRUE((*many)[1].ok());
  ASSERT_FALSE((*many)[2].ok());
  EXPECT_EQ((*many)[2].status().code(), ErrorCode::kStaleLease);

  auto failed = c.Fail(first, "stopped", "asked to", /*retryable=*/true);
  ASSERT_TRUE(failed.ok()) << failed.status().ToString();
  EXPECT_EQ(failed->state, JobState::kCancelled);  // a cancel was requested
  auto done = c.Complete(first);
  ASSERT_FALSE(done.ok());
  EXPECT_EQ(done.status().code(), ErrorCode::kStaleLease);
}

TEST_F(CliTest, WatchResumesAcrossAServerRestart) {
  int64_t id = Submit({"work", "--queue", "r"});
  client::Client worker = Worker();
  client::ClaimedJob job = ClaimOne(worker, "r");
  ASSERT_TRUE(worker.Progress(job.lease, 10, "before").ok());
  CliProcess watch({"watch", std::to_string(id)}, env());
  ASSERT_TRUE(watch.WaitForLine("progress 10% before")) << watch.Stdout() << watch.Stderr();

  // A graceful stop sends the stream a `shutdown` notice; the watch keeps
  // trying until the server is back on the same address.
  const uint16_t port = server_->port();
  server_->Signal(SIGTERM);
  ASSERT_EQ(server_->WaitForExit(), 0) << server_->Output();
  ASSERT_TRUE(watch.WaitForLine("reconnecting")) << watch.Stdout();
  server_.reset();
  Start({"--listen", "127.0.0.1:" + std::to_string(port)});

  client::Client worker2 = Worker();  // the lease survived the restart
  ASSERT_TRUE(worker2.Progress(job.lease, 90, "after").ok());
  ASSERT_TRUE(worker2.Complete(job.lease).ok());
  EXPECT_EQ(watch.Wait(), 0) << watch.Stdout() << watch.Stderr();
  std::string out = watch.Stdout();
  // Every event exactly once, in order, across the two connections.
  for (const char* line : {"#1  created", "#2  started", "#3  progress 10% before",
                           "#4  progress 90% after", "#5  final succeeded"}) {
    std::size_t at = out.find(line);
    EXPECT_NE(at, std::string::npos) << line << "\n" << out;
    EXPECT_EQ(out.find(line, at + 1), std::string::npos) << "twice: " << line << "\n" << out;
  }
  EXPECT_LT(out.find("#3  progress"), out.find("#4  progress"));
}

TEST_F(CliTest, BatchCommands) {
  // JSON lines on stdin, with an on_complete job and a key.
  const std::string lines =
      "{\"kind\":\"part\",\"queue\":\"b\",\"payload\":1}\n\n"
      "{\"kind\":\"part\",\"queue\":\"b\",\"payload\":2}\n";
  CliResult made = Run({"batch", "submit", "-", "--on-complete",
                        R"({"kind":"merge","queue":"after"})", "--key", "import-1", "--json"},
                       lines);
  ASSERT_EQ(made.code, 0) << made.err;
  boost::json::value doc = boost::json::parse(made.out);
  const std::string id(doc.at("batch").at("id").as_string());
  EXPECT_EQ(doc.at("job_ids").as_array().size(), 2u);
  CliResult again = Run({"batch", "submit", "-", "--key", "import-1"}, lines);
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.out.find("batch " + id + " (existing, same key): 2 jobs"), std::string::npos)
      << again.out;

  CliResult shown = Run({"batch", "get", id});
  ASSERT_EQ(shown.code, 0) << shown.err;
  EXPECT_NE(shown.out.find("0 of 2 (0%)"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("queued 2"), std::string::npos) << shown.out;

  client::Client worker = Worker();
  for (int i = 0; i < 2; ++i) {
    client::ClaimedJob c = ClaimOne(worker, "b");
    ASSERT_TRUE(worker.Complete(c.lease).ok());
  }
  CliResult watched = Run({"batch", "watch", id});
  EXPECT_EQ(watched.code, 0) << watched.err;
  EXPECT_NE(watched.out.find("2/2 done (100%): succeeded 2"), std::string::npos) << watched.out;
  EXPECT_NE(watched.out.find("on_complete: job "), std::string::npos) << watched.out;

  // A whole request body from a file; cancel; a watch of a batch not all
  // succeeded exits 1.
  const std::string file = dir_.path() + "/batch.json";
  std::ofstream(file) << R"({"jobs":[{"kind":"part","queue":"c"},{"kind":"part","queue":"c"}]})";
  CliResult second = Run({"batch", "submit", file});
  ASSERT_EQ(second.code, 0) << second.err;
  const std::string second_id = second.out.substr(6, second.out.find(':') - 6);
  CliResult cancelled = Run({"batch", "cancel", second_id, "--reason", "test"});
  ASSERT_EQ(cancelled.code, 0) << cancelled.err;
  EXPECT_NE(cancelled.out.find("2 cancelled"), std::string::npos) << cancelled.out;
  EXPECT_EQ(Run({"batch", "watch", second_id}).code, 1);

  // One job on one line is JSON lines, not a request body.
  const std::string one = dir_.path() + "/one.jsonl";
  std::ofstream(one) << R"({"kind":"part","queue":"d"})"
                     << "\n";
  CliResult single = Run({"batch", "submit", one});
  ASSERT_EQ(single.code, 0) << single.err;
  EXPECT_NE(single.out.find(": 1 jobs"), std::string::npos) << single.out;

  CliResult missing = Run({"batch", "get", "999999"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("not_found"), std::string::npos) << missing.err;
  CliResult both = Run({"batch", "submit", file, "--key", "k"});
  EXPECT_EQ(both.code, 2);
  EXPECT_NE(both.err.find("invalid_argument"), std::string::npos) << both.err;
}

TEST_F(CliTest, ScheduleCommands) {
  CliResult put =
      Run({"schedule", "put", "nightly", "--cron", "30 2 * * *", "--tz", "Europe/Berlin", "--kind",
           "backup", "--queue", "ops", "--payload", R"({"full": true})", "--misfire", "run_once"});
  ASSERT_EQ(put.code, 0) << put.err;
  EXPECT_NE(put.out.find("schedule nightly created; next fire 20"), std::string::npos) << put.out;

  CliResult json = Run({"schedule", "get", "nightly", "--json"});
  ASSERT_EQ(json.code, 0) << json.err;
  boost::json::value doc = boost::json::parse(json.out);
  EXPECT_EQ(doc.at("timezone"), "Europe/Berlin");
  EXPECT_EQ(doc.at("misfire"), "run_once");
  EXPECT_EQ(doc.at("job").at("queue"), "ops");
  EXPECT_NE(json.out.find(R"("payload":{"full": true})"), std::string::npos) << json.out;

  CliResult again = Run({"schedule", "put", "nightly", "--cron", "@daily", "--kind", "backup"});
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.out.find("schedule nightly replaced"), std::string::npos) << again.out;

  CliResult pause = Run({"schedule", "pause", "nightly"});
  ASSERT_EQ(pause.code, 0) << pause.err;
  EXPECT_NE(pause.out.find("schedule nightly paused"), std::string::npos) << pause.out;
  CliResult shown = Run({"schedule", "get", "nightly"});
  ASSERT_EQ(shown.code, 0) << shown.err;
  EXPECT_NE(shown.out.find("@daily (UTC)"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("paused:     yes"), std::string::npos) << shown.out;
  CliResult resume = Run({"schedule", "resume", "nightly"});
  ASSERT_EQ(resume.code, 0) << resume.err;
  EXPECT_NE(resume.out.find("schedule nightly resumed; next fire"), std::string::npos)
      << resume.out;

  ASSERT_EQ(Run({"schedule", "put", "hourly", "--cron", "@hourly", "--kind", "k", "--paused"}).code,
            0);
  CliResult list = Run({"schedule", "list"});
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_NE(list.out.find("NAME"), std::string::npos) << list.out;
  EXPECT_LT(list.out.find("hourly"), list.out.find("nightly")) << list.out;
  CliResult page = Run({"schedule", "list", "--limit", "1", "--json"});
  ASSERT_EQ(page.code, 0) << page.err;
  EXPECT_EQ(boost::json::parse(page.out).at("next_cursor"), "hourly") << page.out;

  CliResult bad = Run({"schedule", "put", "x", "--cron", "61 * * * *", "--kind", "k"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("invalid_argument"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("cron"), std::string::npos) << bad.err;

  ASSERT_EQ(Run({"schedule", "delete", "nightly"}).code, 0);
  CliResult missing = Run({"schedule", "get", "nightly"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("not_found"), std::string::npos) << missing.err;
  EXPECT_EQ(Run({"schedule", "delete", "nightly"}).code, 2);
}

}  // namespace
}  // namespace jobtape::integration
