// The built-in executor end to end: the real server runs operator-defined
// kinds as real processes. Output reaches the tape in order, results and the
// retry policy apply, a timeout kills the whole process group, the kind
// directory reloads while serving (a malformed file is skipped and reported),
// a client can never name a command, cancellation ends a running process
// (SIGTERM, then SIGKILL after the grace) with exactly one `final`, and
// neither a SIGTERM nor a kill -9 of the server strands a job or leaves a
// process behind.
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "executor_fixture.hpp"
#include "stream_clients.hpp"
#include "tape_helpers.hpp"

namespace jobtape::integration {
namespace {

TEST_F(ExecutorTest, OutputBecomesTheTapeInOrderAndTheResultIsKept) {
  ShellKind("report", R"(read payload
echo "payload $payload"
echo "job $JOBTAPE_JOB_ID attempt $JOBTAPE_ATTEMPT queue $JOBTAPE_QUEUE kind $JOBTAPE_KIND"
echo '::progress 30 resizing'
echo 'to stderr' >&2
echo '::progress 100'
echo '::result {"pages": 3}')");
  Start();
  Api api(port());
  int64_t id = SubmitKind(api, "report", R"("payload":{"n":7})");
  auto tape = WaitForFinal(id);
  ASSERT_GE(tape.size(), 7u);
  EXPECT_EQ(tape[0].type, "created");
  EXPECT_EQ(tape[1].type, "started");
  EXPECT_EQ(tape[2].type, "log");
  EXPECT_EQ(tape[2].data.at("line"), R"(payload {"n":7})");
  EXPECT_EQ(tape[3].data.at("line").as_string(),
            "job " + std::to_string(id) + " attempt 1 queue builtin kind report");
  EXPECT_EQ(tape[4].type, "progress");
  EXPECT_EQ(tape[4].data.at("percent").as_int64(), 30);
  EXPECT_EQ(tape[4].data.at("message"), "resizing");
  auto progress = OfType(tape, "progress");
  ASSERT_EQ(progress.size(), 2u);
  EXPECT_EQ(progress[1].data.at("percent").as_int64(), 100);
  auto stderr_lines = OfType(tape, "log");
  bool saw_stderr = false;
  for (const auto& e : stderr_lines) {
    if (e.data.at("stream") == "stderr") saw_stderr = e.data.at("line") == "to stderr";
  }
  EXPECT_TRUE(saw_stderr);
  EXPECT_EQ(tape.back().data.at("state"), "succeeded");
  ApiReply job = api.Get("/v1/jobs/" + std::to_string(id));
  EXPECT_EQ(job.json.at("state"), "succeeded");
  EXPECT_EQ(job.json.at("result").at("pages").as_int64(), 3);
  EXPECT_EQ(job.json.at("queue"), "builtin");  // the kind's queue, not "default"
}

TEST_F(ExecutorTest, RetryPolicyRetriesRetryableExitsOnly) {
  ShellKind("flaky", R"(if [ "$JOBTAPE_ATTEMPT" = 1 ]; then echo 'first try fails'; exit 75; fi
echo '::result {"ok": true}')",
            "[retry]\nmax_attempts = 3\nfatal_exit_codes = [2]\n"
            "[retry.backoff]\ninitial_ms = 10\nmax_ms = 10\nmultiplier = 1.0\njitter = 0.0\n");
  ShellKind("broken", "echo 'bad input'; exit 2",
            "[retry]\nmax_attempts = 3\nfatal_exit_codes = [2]\n");
  Start();
  Api api(port());
  int64_t flaky = SubmitKind(api, "flaky");
  int64_t broken = SubmitKind(api, "broken");

  ASSERT_NO_FATAL_FAILURE(ExpectRetriedOnceThenSucceeded(WaitForFinal(flaky)));

  // A fatal exit code ends the job at once, with attempts left.
  ExpectFailedWithoutRetry(WaitForFinal(broken));
  ApiReply job = api.Get("/v1/jobs/" + std::to_string(broken));
  EXPECT_EQ(job.json.at("error").at("code"), "exit_status");
}

TEST_F(ExecutorTest, TimeoutKillsTheWholeProcessGroup) {
  // The grandchild's pid goes to the tape; the leader then waits forever.
  ShellKind("hang", "sleep 600 & echo \"grandchild $!\"; wait",
            "timeout_ms = 500\n[retry]\nmax_attempts = 1\n");
  Start();
  Api api(port());
  int64_t id = SubmitKind(api, "hang");
  auto tape = WaitForFinal(id);
  EXPECT_EQ(tape.back().data.at("state"), "failed");
  ApiReply job = api.Get("/v1/jobs/" + std::to_string(id));
  EXPECT_EQ(job.json.at("error").at("code"), "timeout");
  pid_t grandchild = 0;
  for (const auto& e : OfType(tape, "log")) {
    std::string line(e.data.at("line").as_string());
    if (line.rfind("grandchild ", 0) == 0) grandchild = std::stoi(line.substr(11));
  }
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(WaitForProcessGone(grandchild)) << "pid " << grandchild << " survived the timeout";
}

TEST_F(ExecutorTest, KindDirectoryReloadsAndAMalformedFileIsSkippedVisibly) {
  ShellKind("first", "echo one");
  WriteKind("broken.toml", "name = \"broken\"\nargv = [\"/bin/true\"]\nunknown_key = 1\n");
  Start();
  Api api(port());
  ApiReply ready = api.Get("/health/ready");
  ASSERT_EQ(ready.status, 200) << ready.body;
  EXPECT_EQ(ready.json.at("kinds").at("loaded").as_int64(), 1);
  auto errors = ready.json.at("kinds").at("errors").as_array();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(std::string(errors[0].at("message").as_string()).find("unknown_key"),
            std::string::npos);
  EXPECT_NE(api.Get("/metrics").body.find("jobtape_executor{reading=\"kind_file_errors\"} 1"),
            std::string::npos);
  EXPECT_TRUE(server_->WaitForLine("broken.toml"));  // and the log names it
  EXPECT_EQ(WaitForFinal(SubmitKind(api, "first")).back().data.at("state"), "succeeded");

  // A new kind appears without a restart; until the executor has seen it the
  // queue refuses it (422), so poll the submission, bounded.
  ShellKind("second", "echo '::result {\"from\": \"second\"}'");
  ApiReply r;
  for (int i = 0; i < 100000; ++i) {
    r = api.Post("/v1/jobs", R"({"kind":"second","queue":"builtin"})");
    if (r.status != 422) break;
  }
  ASSERT_EQ(r.status, 201) << r.body;
  int64_t id = r.json.at("id").as_int64();
  EXPECT_EQ(WaitForFinal(id).back().data.at("state"), "succeeded");
  EXPECT_EQ(api.Get("/v1/jobs/" + std::to_string(id)).json.at("result").at("from"), "second");

  // Fixing the broken file loads it too.
  WriteKind("broken.toml", "name = \"broken\"\nqueue = \"builtin\"\nargv = [\"/bin/true\"]\n");
  for (int i = 0; i < 100000; ++i) {
    ready = api.Get("/health/ready");
    if (ready.json.at("kinds").at("errors").as_array().empty()) break;
  }
  EXPECT_EQ(ready.json.at("kinds").at("loaded").as_int64(), 3);
}

TEST_F(ExecutorTest, AClientCannotNameACommand) {
  const std::string marker = dir_.path() + "/pwned";
  ShellKind("echo", "cat");  // echoes its payload to the tape
  Start();
  Api api(port());
  const std::string touch = "/usr/bin/touch " + marker;
  // A command as the kind: not a kind name at all.
  ApiReply r = api.Post("/v1/jobs", R"({"kind":"/usr/bin/touch","payload":[")" + marker + R"("]})");
  EXPECT_EQ(r.status, 422) << r.body;
  r = api.Post("/v1/jobs", R"({"kind":"sh -c 'touch x'"})");
  EXPECT_EQ(r.status, 422) << r.body;
  // Command-like fields beside the kind are unknown fields.
  for (const std::string field : {"argv", "command", "cmd", "env", "working_dir", "shell"}) {
    r = api.Post("/v1/jobs", R"({"kind":"echo",")" + field + R"(":[")" + touch + R"("]})");
    EXPECT_EQ(r.status, 400) << field << ": " << r.body;
  }
  // An undefined kind in the executor's queue is refused.
  r = api.Post("/v1/jobs", R"({"kind":"touch","queue":"builtin","payload":")" + touch + R"("})");
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(r.json.at("error").at("field"), "kind");
  // A command inside the payload of a defined kind is only data on stdin.
  int64_t id = SubmitKind(api, "echo",
                          R"("payload":{"argv":[")" + touch + R"("],"command":")" + touch +
                              R"(","env":{"PATH":"/tmp"}})");
  auto tape = WaitForFinal(id);
  EXPECT_EQ(tape.back().data.at("state"), "succeeded");
  auto logs = OfType(tape, "log");
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_NE(std::string(logs[0].data.at("line").as_string()).find("\"argv\""), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(marker)) << "a client-named command ran";
}

TEST_F(ExecutorTest, CancelStopsTheProcessWithTermThenKillAndEndsOnce) {
  // Ignores SIGTERM: only the SIGKILL after the kind's grace stops it.
  ShellKind("stubborn", "trap '' TERM; echo \"pid $$\"; while :; do sleep 1; done",
            "cancel_grace_ms = 300\n");
  ShellKind("polite", "trap 'echo got-term; exit 0' TERM; echo \"pid $$\"; sleep 600 & wait");
  Start();
  Api api(port());
  for (const std::string kind : {"stubborn", "polite"}) {
    int64_t id = SubmitKind(api, kind);
    const std::string pid_text = WaitForLogLine(port(), id, "pid ");
    ASSERT_FALSE(pid_text.empty()) << kind;
    const pid_t pid = std::stoi(pid_text);
    ApiReply c = api.Post("/v1/jobs/" + std::to_string(id) + "/cancel", "{}");
    ASSERT_EQ(c.status, 200) << c.body;
    auto tape = WaitForFinal(id);
    EXPECT_EQ(tape.back().data.at("state"), "cancelled") << kind;
    EXPECT_EQ(OfType(tape, "cancel_requested").size(), 1u);
    EXPECT_TRUE(WaitForProcessGone(pid)) << kind;
    EXPECT_EQ(api.Get("/v1/jobs/" + std::to_string(id)).json.at("state"), "cancelled");
  }
}

TEST_F(ExecutorTest, CancelOfQueuedScheduledAndFinishedJobs) {
  ShellKind("quick", "echo done");
  Start();
  Api api(port());
  // Queued: the queue is paused so the executor cannot take it.
  ASSERT_EQ(api.Patch("/v1/queues/builtin", R"({"paused":true})").status, 200);
  int64_t queued = SubmitKind(api, "quick");
  int64_t scheduled = SubmitKind(api, "quick", R"("delay_ms":3600000)");
  for (int64_t id : {queued, scheduled}) {
    ApiReply c = api.Post("/v1/jobs/" + std::to_string(id) + "/cancel", "{}");
    ASSERT_EQ(c.status, 200) << c.body;
    EXPECT_EQ(c.json.at("state"), "cancelled");
    auto tape = WaitForFinal(id);
    EXPECT_EQ(OfType(tape, "started").size(), 0u);
  }
  ASSERT_EQ(api.Patch("/v1/queues/builtin", R"({"paused":false})").status, 200);
  int64_t done = SubmitKind(api, "quick");
  auto tape = WaitForFinal(done);
  ASSERT_EQ(tape.back().data.at("state"), "succeeded");
  // Already terminal: no change, and the tape is untouched.
  ApiReply c = api.Post("/v1/jobs/" + std::to_string(done) + "/cancel", "{}");
  EXPECT_EQ(c.status, 200) << c.body;
  EXPECT_EQ(c.json.at("changed"), false);
  EXPECT_EQ(c.json.at("state"), "succeeded");
  EXPECT_EQ(WaitForFinal(done).size(), tape.size());
}

TEST_F(ExecutorTest, KindLimitIsNeverExceeded) {
  // Each run appends "start" then "end" to one file; with max_concurrent = 1
  // the lines must alternate.
  const std::string log = dir_.path() + "/runs.log";
  ShellKind("serial", "echo start >> " + log + "; sleep 0.05; echo end >> " + log,
            "max_concurrent = 1\n");
  Start({"--executor-slots", "4"});
  Api api(port());
  std::vector<int64_t> ids;
  for (int i = 0; i < 6; ++i)
    ids.push_back(SubmitKind(api, "serial"));
  for (int64_t id : ids)
    EXPECT_EQ(WaitForFinal(id).back().data.at("state"), "succeeded");
  std::ifstream in(log);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    EXPECT_EQ(line, n % 2 == 0 ? "start" : "end") << "two runs overlapped at line " << n;
    ++n;
  }
  EXPECT_EQ(n, 12);
}

TEST_F(ExecutorTest, SigtermInterruptsRunningJobsWhichRunAgainAfterRestart) {
  ShellKind("long", R"(if [ "$JOBTAPE_ATTEMPT" = 1 ]; then echo "pid $$"; sleep 600 & wait; fi
echo second)");
  Start({"--shutdown-timeout-ms", "2000"});
  int64_t id = 0;
  pid_t pid = 0;
  {
    Api api(port());
    id = SubmitKind(api, "long");
    const std::string pid_text = WaitForLogLine(port(), id, "pid ");
    if (!pid_text.empty()) pid = std::stoi(pid_text);
  }
  ASSERT_GT(pid, 0);
  server_->Signal(SIGTERM);
  ASSERT_EQ(server_->WaitForExit(), 0) << server_->Output();
  EXPECT_FALSE(ProcessExists(pid));
  ServerProcess restarted(dir_.path() + "/data", {"--kinds-dir", kinds_});
  ASSERT_TRUE(restarted.WaitForListening()) << restarted.Output();
  server_.reset();
  Api api(restarted.port());
  ApiReply events = WaitForSuccess(api, id);
  ASSERT_EQ(events.json.at("state"), "succeeded") << events.body;
  int failed = 0, started = 0;
  for (const auto& e : events.json.at("events").as_array()) {
    if (e.at("type") == "attempt_failed") {
      ++failed;
      EXPECT_EQ(e.at("data").at("error").at("code"), "interrupted");
    }
    if (e.at("type") == "started") ++started;
  }
  EXPECT_EQ(failed, 1);
  EXPECT_EQ(started, 2);
}

TEST_F(ExecutorTest, KillMinus9LeavesNoProcessAndTheAttemptIsRecovered) {
  ShellKind("survivor",
            R"(if [ "$JOBTAPE_ATTEMPT" = 1 ]; then sleep 600 & echo "grandchild $!"; wait; fi
echo second)");
  Start();
  int64_t id = 0;
  pid_t grandchild = 0;
  {
    Api api(port());
    id = SubmitKind(api, "survivor");
    const std::string pid_text = WaitForLogLine(port(), id, "grandchild ");
    if (!pid_text.empty()) grandchild = std::stoi(pid_text);
  }
  ASSERT_GT(grandchild, 0);
  server_->Signal(SIGKILL);
  ASSERT_EQ(server_->WaitForExit(), 128 + SIGKILL);
  ServerProcess restarted(dir_.path() + "/data", {"--kinds-dir", kinds_});
  ASSERT_TRUE(restarted.WaitForListening()) << restarted.Output();
  server_.reset();
  // The restart killed what the dead server's attempt left running ...
  EXPECT_TRUE(WaitForProcessGone(grandchild)) << "an orphan survived the restart";
  // ... and the attempt is retried: nothing lost, nothing run twice at once.
  Api api(restarted.port());
  ApiReply events = WaitForSuccess(api, id);
  ASSERT_EQ(events.json.at("state"), "succeeded") << events.body;
  std::vector<std::string> types;
  for (const auto& e : events.json.at("events").as_array())
    types.emplace_back(e.at("type").as_string());
  std::vector<std::string> expected = {"created", "started", "log",  "attempt_failed",
                                       "started", "log",     "final"};
  EXPECT_EQ(types, expected);
  EXPECT_EQ(api.Get("/v1/jobs?limit=100").json.at("jobs").as_array().size(), 1u);
}

// Issue 5's acceptance, with several jobs: six long jobs hold all six slots
// and three more wait queued when the server is killed. After the restart
// every process those attempts started is gone, each interrupted job runs
// again (attempt 1 `interrupted`, attempt 2 succeeds), the queued ones run
// once, and every job submitted ends succeeded with exactly one `final`.
TEST_F(ExecutorTest, KillMinus9WithEverySlotBusyRetriesEachJobOnceAndLeavesNoProcess) {
  constexpr int kSlots = 6;
  constexpr int kQueued = 3;
  ShellKind("long", R"(if [ "$JOBTAPE_ATTEMPT" = 1 ]; then sleep 600 & echo "pids $$ $!"; wait; fi
echo second)");
  ShellKind("quick", "echo quick");
  const std::vector<std::string> flags = {"--executor-slots", std::to_string(kSlots)};
  Start(flags);
  const std::string ledger = dir_.path() + "/data/executor";
  std::vector<int64_t> interrupted, queued;
  std::vector<pid_t> leaders, grandchildren;
  {
    Api api(port());
    for (int i = 0; i < kSlots; ++i)
      interrupted.push_back(SubmitKind(api, "long"));
    for (int64_t id : interrupted) {
      const std::string pids = WaitForLogLine(port(), id, "pids ");
      ASSERT_FALSE(pids.empty()) << "job " << id << " never started its processes";
      const std::size_t space = pids.find(' ');
      leaders.push_back(std::stoi(pids.substr(0, space)));
      grandchildren.push_back(std::stoi(pids.substr(space + 1)));
      // The ledger names the group before the command's first line is read.
      EXPECT_TRUE(
          std::filesystem::exists(ledger + "/" + std::to_string(leaders.back()) + ".group"));
    }
    // Every slot is busy, so these stay queued.
    for (int i = 0; i < kQueued; ++i)
      queued.push_back(SubmitKind(api, "quick"));
    for (int64_t id : queued)
      EXPECT_EQ(api.Get("/v1/jobs/" + std::to_string(id)).json.at("state"), "queued");
  }
  server_->Signal(SIGKILL);
  ASSERT_EQ(server_->WaitForExit(), 128 + SIGKILL);
  // The leaders die with the server (PR_SET_PDEATHSIG); what they started
  // outlives it until the restart.
  for (pid_t pid : leaders)
    EXPECT_TRUE(WaitForProcessGone(pid)) << "leader " << pid << " outlived the server";
  for (pid_t pid : grandchildren)
    EXPECT_TRUE(ProcessExists(pid)) << "grandchild " << pid << " died before the restart";

  ServerProcess restarted(dir_.path() + "/data", ServerArgs(flags));
  ASSERT_TRUE(restarted.WaitForListening()) << restarted.Output();
  server_.reset();
  for (pid_t pid : grandchildren)
    EXPECT_TRUE(WaitForProcessGone(pid)) << "orphan " << pid << " survived the restart";
  for (pid_t pid : leaders)
    EXPECT_FALSE(std::filesystem::exists(ledger + "/" + std::to_string(pid) + ".group"));

  using Step = std::pair<std::string, int>;  // (type, attempt)
  auto steps = [](const std::vector<TapeEvent>& tape) {
    std::vector<Step> out;
    for (const TapeEvent& e : tape)
      out.emplace_back(e.type, e.attempt);
    return out;
  };
  // WaitForFinal also checks R1: seq 1, 2, ... without gaps, one `final`, last.
  for (int64_t id : interrupted) {
    auto tape = integration::WaitForFinal(restarted.port(), id);
    const std::vector<Step> expected = {{"created", 0},        {"started", 1}, {"log", 1},
                                        {"attempt_failed", 1}, {"started", 2}, {"log", 2},
                                        {"final", 2}};
    EXPECT_EQ(steps(tape), expected) << "job " << id;
    auto failed = OfType(tape, "attempt_failed");
    ASSERT_EQ(failed.size(), 1u);
    EXPECT_EQ(failed[0].data.at("error").at("code"), "interrupted");
    EXPECT_EQ(tape.back().data.at("state"), "succeeded");
  }
  for (int64_t id : queued) {
    auto tape = integration::WaitForFinal(restarted.port(), id);
    const std::vector<Step> expected = {{"created", 0}, {"started", 1}, {"log", 1}, {"final", 1}};
    EXPECT_EQ(steps(tape), expected) << "job " << id;
    EXPECT_EQ(tape.back().data.at("state"), "succeeded");
  }
  // Nothing lost, nothing added: exactly the jobs submitted, all succeeded.
  Api api(restarted.port());
  std::set<int64_t> listed;
  ApiReply list = api.Get("/v1/jobs?limit=100");
  ASSERT_EQ(list.status, 200) << list.body;
  for (const auto& j : list.json.at("jobs").as_array()) {
    listed.insert(j.at("id").as_int64());
    EXPECT_EQ(j.at("state"), "succeeded") << j.at("id").as_int64();
  }
  std::set<int64_t> submitted(interrupted.begin(), interrupted.end());
  submitted.insert(queued.begin(), queued.end());
  EXPECT_EQ(listed, submitted);
}

}  // namespace
}  // namespace jobtape::integration
