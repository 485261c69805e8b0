// `jobtape worker -- CMD` end to end: the real server and real worker
// processes running real commands. The payload, environment and output
// protocol reach the tape as with the built-in executor; exit codes decide
// retries; a cancel ends the process group and the job, once; a worker killed
// with -9 loses its lease and the job runs again elsewhere; a worker that
// comes back after its lease was reaped writes nothing more and kills its
// command; SIGTERM stops a worker gracefully. Also the SDK extensions the
// command relies on (Worker::RegisterDefault, JobContext::Append).
//
// Tests wait on tapes (SSE until `final`), on the worker's log lines and on
// pidfds; every wait is bounded by a guard. Nothing sleeps.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <future>

#include "api_fixture.hpp"
#include "client/worker.hpp"
#include "stream_clients.hpp"
#include "tape_helpers.hpp"

namespace jobtape::integration {
namespace {

namespace json = boost::json;

// One `jobtape worker --server URL ARGS...` process (server_process.hpp).
class WorkerProcess : public ChildProcess {
 public:
  WorkerProcess(uint16_t port, std::vector<std::string> args,
                std::map<std::string, std::string> env = {})
      : ChildProcess(WorkerArgs(port, std::move(args)), std::move(env), "worker") {}

 private:
  static std::vector<std::string> WorkerArgs(uint16_t port, std::vector<std::string> args) {
    args.insert(args.begin(), {"worker", "--server", "http://127.0.0.1:" + std::to_string(port)});
    return args;
  }
};

std::vector<std::string> LogLines(const std::vector<TapeEvent>& tape) {
  std::vector<std::string> out;
  for (const TapeEvent& e : OfType(tape, "log"))
    out.emplace_back(e.data.at("line").as_string());
  return out;
}

// A /bin/sh command line for `jobtape worker`.
std::vector<std::string> Shell(std::vector<std::string> flags, const std::string& script) {
  flags.insert(flags.end(), {"--", "/bin/sh", "-c", script});
  return flags;
}

class WorkerCliTest : public ServerTest {
 protected:
  // SseClient's guard bounds each read; keep-alive comments would renew it
  // forever, so a stuck tape must not get any.
  void Start(std::vector<std::string> extra = {}) {
    extra.insert(extra.end(), {"--stream-keepalive-ms", "600000"});
    StartServer(std::move(extra));
  }

  int64_t Submit(Api& api, const std::string& kind, const std::string& queue,
                 const std::string& extra = {}) {
    ApiReply r = api.Post("/v1/jobs", "{\"kind\":\"" + kind + "\",\"queue\":\"" + queue + "\"" +
                                          (extra.empty() ? "" : "," + extra) + "}");
    EXPECT_EQ(r.status, 201) << r.body;
    return r.status == 201 ? r.json.at("id").as_int64() : 0;
  }

  std::vector<TapeEvent> Tape(int64_t id) { return StoredTape(port(), id); }

  std::vector<TapeEvent> WaitForFinal(int64_t id) { return integration::WaitForFinal(port(), id); }

  std::string WaitForLogLine(int64_t id, const std::string& prefix) {
    return integration::WaitForLogLine(port(), id, prefix);
  }

  std::string StateOf(int64_t id) {
    Api api(port());
    return std::string(api.Get("/v1/jobs/" + std::to_string(id)).json.at("state").as_string());
  }
};

// Payload on stdin, the JOBTAPE_* variables and only the chosen part of the
// worker's environment, the output protocol in order, and exit codes
// deciding retries. Without --kind the worker takes every kind.
TEST_F(WorkerCliTest, RunsTheCommandPerJobUnderTheExecutorProtocol) {
  Start();
  const std::string script = R"(read payload
case "$payload" in
  *flaky*) if [ "$JOBTAPE_ATTEMPT" = 1 ]; then echo 'first try fails'; exit 75; fi
           echo '::result {"ok": true}'; exit 0 ;;
  *broken*) echo 'bad input'; exit 2 ;;
esac
echo "payload $payload"
echo "job $JOBTAPE_JOB_ID attempt $JOBTAPE_ATTEMPT queue $JOBTAPE_QUEUE kind $JOBTAPE_KIND"
echo "secret ${SECRET:-unset} passed ${PASSED:-unset} set ${SET:-unset} home ${HOME:-unset}"
echo '::progress 30 resizing'
echo 'to stderr' >&2
echo '::progress 100'
echo '::result {"pages": 3}')";
  WorkerProcess worker(port(),
                       Shell({"--queue", "wq", "--worker-id", "w-one", "--pass-env", "PASSED",
                              "--env", "SET=v", "--fatal-exit-codes", "2,64"},
                             script),
                       {{"SECRET", "s3cret"}, {"PASSED", "p1"}, {"HOME", "/home/w"}});
  Api api(port());
  int64_t id = Submit(api, "report", "wq", R"("payload":{"n":7})");
  auto tape = WaitForFinal(id);
  ASSERT_GE(tape.size(), 9u);
  EXPECT_EQ(tape[0].type, "created");
  EXPECT_EQ(tape[1].type, "started");
  EXPECT_EQ(tape[1].data.at("worker"), "w-one");
  EXPECT_EQ(tape[2].type, "log");
  EXPECT_EQ(tape[2].data.at("line"), R"(payload {"n":7})");
  EXPECT_EQ(tape[2].data.at("stream"), "stdout");
  EXPECT_EQ(tape[3].data.at("line").as_string(),
            "job " + std::to_string(id) + " attempt 1 queue wq kind report");
  // The worker's own environment stays out, except what was passed on.
  EXPECT_EQ(tape[4].data.at("line"), "secret unset passed p1 set v home /home/w");
  EXPECT_EQ(tape[5].type, "progress");
  EXPECT_EQ(tape[5].data.at("percent").as_int64(), 30);
  EXPECT_EQ(tape[5].data.at("message"), "resizing");
  auto progress = OfType(tape, "progress");
  ASSERT_EQ(progress.size(), 2u);
  EXPECT_EQ(progress[1].data.at("percent").as_int64(), 100);
  EXPECT_GT(progress[1].seq, tape[5].seq);
  bool saw_stderr = false;
  for (const auto& e : OfType(tape, "log")) {
    if (e.data.at("stream") == "stderr") saw_stderr = e.data.at("line") == "to stderr";
  }
  EXPECT_TRUE(saw_stderr);
  for (const std::string& line : LogLines(tape))
    EXPECT_EQ(line.rfind("::", 0), std::string::npos) << "a directive logged: " << line;
  EXPECT_EQ(tape.back().data.at("state"), "succeeded");
  ApiReply job = api.Get("/v1/jobs/" + std::to_string(id));
  EXPECT_EQ(job.json.at("result").at("pages").as_int64(), 3);

  // Exit 75 is retried; exit 2 is fatal (--fatal-exit-codes) with attempts left.
  const std::string fast_retry =
      R"("max_attempts":3,"backoff":{"initial_ms":10,"max_ms":10,"multiplier":1.0,"jitter":0.0})";
  int64_t flaky = Submit(api, "flaky", "wq", R"("payload":"flaky",)" + fast_retry);
  int64_t broken = Submit(api, "broken", "wq", R"("payload":"broken",)" + fast_retry);
  ASSERT_NO_FATAL_FAILURE(ExpectRetriedOnceThenSucceeded(WaitForFinal(flaky)));
  ExpectFailedWithoutRetry(WaitForFinal(broken));
  EXPECT_EQ(api.Get("/v1/jobs/" + std::to_string(broken)).json.at("error").at("code"),
            "exit_status");
  EXPECT_TRUE(worker.WaitForLine("job " + std::to_string(broken) + " attempt 1 failed"));
}

// --kind restricts the worker; another kind claimed from its queue fails.
TEST_F(WorkerCliTest, KindFilterRunsOnlyTheNamedKinds) {
  Start();
  WorkerProcess worker(port(), Shell({"--queue", "kq", "--kind", "mine"}, "echo ran"));
  Api api(port());
  int64_t mine = Submit(api, "mine", "kq");
  int64_t other = Submit(api, "other", "kq");
  EXPECT_EQ(WaitForFinal(mine).back().data.at("state"), "succeeded");
  auto tape = WaitForFinal(other);
  EXPECT_EQ(tape.back().data.at("state"), "failed");
  EXPECT_TRUE(LogLines(tape).empty()) << "the command ran for another kind";
  EXPECT_EQ(api.Get("/v1/jobs/" + std::to_string(other)).json.at("error").at("code"),
            "unknown_kind");
}

// A cancel reaches the command as SIGTERM to its group, then SIGKILL after
// --cancel-grace-ms; output written during the grace is kept; the job ends
// cancelled with one final. The server's own cancel grace is long, so only
// the worker can have ended the processes in time.
TEST_F(WorkerCliTest, CancelEndsTheProcessGroupAndTheJobOnce) {
  Start({"--cancel-grace-ms", "120000"});
  // Ignores SIGTERM (and so does its grandchild): only the SIGKILL stops them.
  WorkerProcess stubborn(
      port(), Shell({"--queue", "stubborn", "--lease-ms", "1500", "--cancel-grace-ms", "300"},
                    "trap '' TERM; sleep 600 & echo \"pids $$ $!\"; while :; do sleep 1; done"));
  // Exits 0 on SIGTERM: still cancelled, not succeeded.
  WorkerProcess polite(port(), Shell({"--queue", "polite", "--lease-ms", "1500"},
                                     "trap 'echo got-term; exit 0' TERM; sleep 600 & echo \"pids "
                                     "$$ $!\"; wait"));
  Api api(port());
  for (const std::string queue : {"stubborn", "polite"}) {
    int64_t id = Submit(api, "sleepy", queue);
    std::string pids = WaitForLogLine(id, "pids ");
    ASSERT_FALSE(pids.empty()) << queue;
    const pid_t leader = std::stoi(pids);
    const pid_t grandchild = std::stoi(pids.substr(pids.find(' ') + 1));
    ApiReply c = api.Post("/v1/jobs/" + std::to_string(id) + "/cancel", "{}");
    ASSERT_EQ(c.status, 200) << c.body;
    auto tape = WaitForFinal(id);
    EXPECT_EQ(tape.back().data.at("state"), "cancelled") << queue;
    EXPECT_EQ(OfType(tape, "cancel_requested").size(), 1u);
    EXPECT_TRUE(WaitForProcessGone(leader, std::chrono::seconds(30))) << queue;
    EXPECT_TRUE(WaitForProcessGone(grandchild, std::chrono::seconds(30))) << queue;
    if (queue == "polite") {
      auto lines = LogLines(tape);
      EXPECT_NE(std::find(lines.begin(), lines.end(), "got-term"), lines.end());
    }
    EXPECT_EQ(StateOf(id), "cancelled");
    // Nothing after the final, also once the worker has settled the attempt.
    EXPECT_TRUE((queue == "polite" ? polite : stubborn)
                    .WaitForLine("job " + std::to_string(id) + " attempt 1 failed: cancelled"));
    EXPECT_EQ(Tape(id).size(), tape.size());
  }
}

// A worker killed with -9 stops renewing; the lease runs out, the reaper
// fails the attempt for a retry, and a second worker runs it. The command of
// the dead worker dies with it.
TEST_F(WorkerCliTest, KilledWorkerLosesItsLeaseAndTheJobRunsAgainElsewhere) {
  Start({"--default-lease-ms", "1000"});
  const std::string script =
      R"(if [ "$JOBTAPE_ATTEMPT" = 1 ]; then echo "pid $$"; exec sleep 600; fi
echo "second run"
echo "::result {\"attempt\": $JOBTAPE_ATTEMPT}")";
  auto first = std::make_unique<WorkerProcess>(
      port(), Shell({"--queue", "kq", "--lease-ms", "1000", "--worker-id", "first"}, script));
  Api api(port());
  int64_t id = Submit(api, "work", "kq",
                      R"("max_attempts":3,"backoff":{"initial_ms":10,"max_ms":10,"jitter":0.0})");
  std::string pid = WaitForLogLine(id, "pid ");
  ASSERT_FALSE(pid.empty());
  first->Signal(SIGKILL);
  EXPECT_EQ(first->WaitForExit(), 128 + SIGKILL);
  EXPECT_TRUE(WaitForProcessGone(std::stoi(pid))) << "the command outlived its worker";

  WorkerProcess second(
      port(), Shell({"--queue", "kq", "--lease-ms", "1000", "--worker-id", "second"}, script));
  auto tape = WaitForFinal(id);
  std::string shown;
  for (const TapeEvent& e : tape)
    shown += std::to_string(e.seq) + " " + e.type + " #" + std::to_string(e.attempt) + " " +
             json::serialize(e.data) + "\n";
  EXPECT_EQ(tape.back().data.at("state"), "succeeded") << shown << second.Output();
  EXPECT_EQ(tape.back().attempt, 2);
  auto started = OfType(tape, "started");
  ASSERT_EQ(started.size(), 2u);
  EXPECT_EQ(started[0].data.at("worker"), "first");
  EXPECT_EQ(started[1].data.at("worker"), "second");
  auto failed = OfType(tape, "attempt_failed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].attempt, 1);
  EXPECT_EQ(failed[0].data.at("error").at("code"), "lease_expired");
  auto lines = LogLines(tape);
  EXPECT_NE(std::find(lines.begin(), lines.end(), "second run"), lines.end());
  EXPECT_EQ(api.Get("/v1/jobs/" + std::to_string(id)).json.at("result").at("attempt"), 2);
}

// A worker frozen (SIGSTOP) past its lease is reaped; resumed (SIGCONT), it
// finds its lease gone: the command is killed and nothing of it reaches the
// tape after the reap (its late output and its finish are refused).
TEST_F(WorkerCliTest, WorkerResumedAfterItsLeaseWasReapedWritesNothingAndKillsItsCommand) {
  Start({"--default-lease-ms", "1000"});
  WorkerProcess worker(port(), Shell({"--queue", "sq", "--lease-ms", "1000"},
                                     "echo \"pid $$\"; while :; do echo tick; sleep 0.05; done"));
  Api api(port());
  int64_t id = Submit(api, "ticker", "sq", R"("max_attempts":1)");
  std::string pid_text = WaitForLogLine(id, "pid ");
  ASSERT_FALSE(pid_text.empty());
  const pid_t pid = std::stoi(pid_text);
  worker.Signal(SIGSTOP);
  // The reaper ends the attempt (the only one): the job fails for good.
  auto tape = WaitForFinal(id);
  EXPECT_EQ(tape.back().data.at("state"), "failed");
  EXPECT_EQ(StateOf(id), "failed");
  ApiReply job = api.Get("/v1/jobs/" + std::to_string(id));
  EXPECT_EQ(job.json.at("error").at("code"), "lease_expired");

  worker.Signal(SIGCONT);
  EXPECT_TRUE(WaitForProcessGone(pid)) << "the command of a lost lease still runs";
  EXPECT_TRUE(worker.WaitForLine("job " + std::to_string(id) + " attempt 1 failed: lease_lost"));
  // The worker goes on serving: a new job runs, so the old attempt is settled.
  int64_t next = Submit(api, "ticker-2", "sq", R"("max_attempts":1)");
  EXPECT_FALSE(WaitForLogLine(next, "pid ").empty());
  // Nothing from the stale attempt after the reap.
  auto after = Tape(id);
  ASSERT_EQ(after.size(), tape.size());
  for (std::size_t i = 0; i < after.size(); ++i)
    EXPECT_EQ(after[i].type, tape[i].type) << "seq " << after[i].seq;
  EXPECT_EQ(OfType(after, "final").size(), 1u);
}

// SIGTERM: the running command gets --shutdown-grace-ms, then SIGTERM (its
// output during the grace is kept); the job is handed back as a retryable
// `worker_shutdown` failure; the worker exits 0 with no child left. Another
// worker then finishes the job.
TEST_F(WorkerCliTest, SigtermStopsGracefullyAndHandsTheJobBack) {
  Start();
  const std::string script =
      R"(if [ "$JOBTAPE_ATTEMPT" -gt 1 ]; then echo "::result {\"attempt\": $JOBTAPE_ATTEMPT}"; exit 0; fi
trap 'echo got-term; exit 3' TERM
sleep 600 & echo "pids $$ $!"
wait)";
  WorkerProcess worker(
      port(),
      Shell({"--queue", "gq", "--shutdown-grace-ms", "200", "--cancel-grace-ms", "5000"}, script));
  Api api(port());
  int64_t id = Submit(api, "long", "gq",
                      R"("max_attempts":3,"backoff":{"initial_ms":10,"max_ms":10,"jitter":0.0})");
  std::string pids = WaitForLogLine(id, "pids ");
  ASSERT_FALSE(pids.empty());
  const pid_t leader = std::stoi(pids);
  const pid_t grandchild = std::stoi(pids.substr(pids.find(' ') + 1));
  worker.Signal(SIGTERM);
  EXPECT_EQ(worker.WaitForExit(), 0) << worker.Output();
  EXPECT_TRUE(WaitForProcessGone(leader, std::chrono::milliseconds(0)));
  EXPECT_TRUE(WaitForProcessGone(grandchild, std::chrono::seconds(10)));
  // The worker exited after its finish was acknowledged: the tape is complete.
  auto tape = Tape(id);
  auto failed = OfType(tape, "attempt_failed");
  ASSERT_EQ(failed.size(), 1u) << worker.Output();
  EXPECT_EQ(failed[0].data.at("error").at("code"), "worker_shutdown");
  auto lines = LogLines(tape);
  EXPECT_NE(std::find(lines.begin(), lines.end(), "got-term"), lines.end());
  EXPECT_TRUE(OfType(tape, "final").empty());

  WorkerProcess next(port(), Shell({"--queue", "gq"}, script));
  auto done = WaitForFinal(id);
  EXPECT_EQ(done.back().data.at("state"), "succeeded");
  EXPECT_EQ(done.back().attempt, 2);
}

// A worker the server refuses for good (no token) stops with exit code 2;
// with a token it serves.
TEST_F(WorkerCliTest, RefusedWorkerExitsWithAnError) {
  const std::string admin = "adm1n-t0ken-for-tests";
  const std::string token = "w0rker-t0ken-for-tests";
  Start({"--token", "admin:" + admin, "--token", "worker:" + token});
  WorkerProcess refused(port(), Shell({"--queue", "q"}, "true"));
  EXPECT_EQ(refused.WaitForExit(), 2);
  EXPECT_NE(refused.Output().find("unauthenticated"), std::string::npos) << refused.Output();

  WorkerProcess good(port(), Shell({"--queue", "q"}, "true"), {{"JOBTAPE_TOKEN", token}});
  Api api(port(), admin);
  int64_t id = Submit(api, "k", "q");
  EXPECT_TRUE(good.WaitForLine("job " + std::to_string(id) + " attempt 1 succeeded"))
      << good.Output();
  good.Signal(SIGINT);
  EXPECT_EQ(good.WaitForExit(), 0) << good.Output();
}

// The SDK's catch-all handler and raw events (what `jobtape worker` is built
// on): a kind with its own handler keeps it, every other kind goes to the
// default; Append() keeps the event's shape and its order with Log().
TEST_F(WorkerCliTest, SdkDefaultHandlerServesEveryOtherKindAndAppendKeepsShapes) {
  Start();
  client::ClientOptions co;
  co.server.host = "127.0.0.1";
  co.server.port = port();
  client::WorkerOptions wo;
  wo.queues = {"sdk"};
  wo.concurrency = 2;
  client::Worker worker(co, wo);
  worker.Register("special", [](client::JobContext&) {
    return client::JobResult::Success(R"({"by":"special"})");
  });
  worker.RegisterDefault([](client::JobContext& ctx) {
    ctx.Log("plain");
    ctx.Append({EventType::kLog, R"({"stream":"stderr","line":"raw"})"});
    ctx.Append({EventType::kProgress, R"({"percent":50,"message":"half"})"});
    return client::JobResult::Success("{\"by\":\"default\",\"kind\":\"" + ctx.kind() + "\"}");
  });
  auto run = std::async(std::launch::async, [&worker] { return worker.Run(); });
  Api api(port());
  int64_t special = Submit(api, "special", "sdk");
  int64_t other = Submit(api, "anything", "sdk");
  EXPECT_EQ(WaitForFinal(special).back().data.at("state"), "succeeded");
  auto tape = WaitForFinal(other);
  worker.Stop();
  EXPECT_TRUE(run.get().ok());
  EXPECT_EQ(api.Get("/v1/jobs/" + std::to_string(special)).json.at("result").at("by"), "special");
  json::value result = api.Get("/v1/jobs/" + std::to_string(other)).json.at("result");
  EXPECT_EQ(result.at("by"), "default");
  EXPECT_EQ(result.at("kind"), "anything");
  ASSERT_EQ(tape.size(), 6u);
  EXPECT_EQ(tape[2].data.at("line"), "plain");
  EXPECT_EQ(tape[3].data.at("stream"), "stderr");
  EXPECT_EQ(tape[3].data.at("line"), "raw");
  EXPECT_EQ(tape[4].type, "progress");
  EXPECT_EQ(tape[4].data.at("message"), "half");
}

}  // namespace
}  // namespace jobtape::integration
