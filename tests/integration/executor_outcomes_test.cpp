// The built-in executor end to end, continued: how attempts end and what they
// may leave on the tape. A cancel's own grace bounds the kind's (no process
// outlives the `final`), output caps hold on the real tape with one notice
// per cap hit, a command killed by a signal fails with that signal, and a
// command that runs longer than its lease keeps it (R5).
#include <signal.h>

#include <chrono>
#include <string>
#include <vector>

#include "executor_fixture.hpp"

namespace jobtape::integration {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// After a `final`, what the attempt started must be gone within this long: the
// executor kills the group as soon as it sees the final (or the grace the
// cancel gave is over), never after a later heartbeat (seconds away).
constexpr milliseconds kGoneAfterFinal{3'000};

// The pids a command printed as "pids <leader> <grandchild>".
std::vector<pid_t> ParsePids(const std::string& text) {
  std::vector<pid_t> pids;
  const std::size_t space = text.find(' ');
  if (text.empty() || space == std::string::npos) return pids;
  pids.push_back(std::stoi(text.substr(0, space)));
  pids.push_back(std::stoi(text.substr(space + 1)));
  return pids;
}

// Both the leader and its grandchild ignore SIGTERM (an ignored signal stays
// ignored across exec), so only a SIGKILL of the group ends them.
constexpr const char* kIgnoresTerm =
    "trap '' TERM; sleep 600 & echo \"pids $$ $!\"; while :; do sleep 1; done";

TEST_F(ExecutorTest, ShortServerGraceStillLeavesNoProcessAfterFinal) {
  // The kind would wait 30 s before SIGKILL; the cancel gives 200 ms.
  ShellKind("stubborn", kIgnoresTerm, "cancel_grace_ms = 30000\n");
  Start();
  Api api(port());
  const int64_t id = SubmitKind(api, "stubborn");
  const std::vector<pid_t> pids = ParsePids(WaitForLogLine(port(), id, "pids "));
  ASSERT_EQ(pids.size(), 2u);
  ApiReply c = api.Post("/v1/jobs/" + std::to_string(id) + "/cancel", R"({"grace_ms":200})");
  ASSERT_EQ(c.status, 200) << c.body;
  const auto tape = WaitForFinal(id);
  ASSERT_FALSE(tape.empty());
  EXPECT_EQ(tape.back().data.at("state"), "cancelled");
  for (pid_t pid : pids)
    EXPECT_TRUE(WaitForProcessGone(pid, kGoneAfterFinal)) << "pid " << pid << " outlived final";
  // Nothing followed the final (WaitForFinal checked it was last and alone).
  EXPECT_EQ(StoredTape(port(), id).size(), tape.size());
}

TEST_F(ExecutorTest, CancelGraceIsTheShorterOfTheKindsAndTheRequests) {
  // With the reaper's cancel rule off only the executor can end the attempt:
  // it must SIGKILL after the request's 1 s, not the kind's 120 s (beyond
  // every wait of this test).
  ShellKind("stubborn", kIgnoresTerm, "cancel_grace_ms = 120000\n");
  Start({"--reap-cancel-grace", "false"});
  Api api(port());
  const int64_t id = SubmitKind(api, "stubborn");
  const std::vector<pid_t> pids = ParsePids(WaitForLogLine(port(), id, "pids "));
  ASSERT_EQ(pids.size(), 2u);
  const auto cancelled_at = steady_clock::now();
  ApiReply c = api.Post("/v1/jobs/" + std::to_string(id) + "/cancel", R"({"grace_ms":1000})");
  ASSERT_EQ(c.status, 200) << c.body;
  const auto tape = WaitForFinal(id);
  ASSERT_FALSE(tape.empty());
  EXPECT_EQ(tape.back().data.at("state"), "cancelled");
  EXPECT_LT(steady_clock::now() - cancelled_at, std::chrono::seconds(30));
  for (pid_t pid : pids)
    EXPECT_TRUE(WaitForProcessGone(pid, kGoneAfterFinal)) << "pid " << pid << " outlived final";
}

TEST_F(ExecutorTest, OutputCapsAreEnforcedAndRecordedOnTheTape) {
  // 20 lines at once, then one line per 1000 s; 1000 bytes per attempt.
  ShellKind("chatty", "seq 1 2000");
  ShellKind("verbose",
            "line=$(printf '%300s' ' ' | tr ' ' x); "
            "for i in 1 2 3 4 5 6 7 8 9 10; do echo \"$line\"; done");
  Start({"--executor-log-burst-lines", "20", "--executor-log-lines-per-second", "0.001",
         "--executor-log-max-bytes", "1000"});
  Api api(port());
  const int64_t chatty = SubmitKind(api, "chatty");
  const int64_t verbose = SubmitKind(api, "verbose");

  struct Split {
    std::vector<TapeEvent> kept, notices;
  };
  auto split = [](const std::vector<TapeEvent>& tape) {
    Split s;
    for (const TapeEvent& e : OfType(tape, "log"))
      (e.data.at("stream") == "jobtape" ? s.notices : s.kept).push_back(e);
    return s;
  };

  // The rate cap: the burst is kept, the rest is one notice, before `final`.
  auto tape = WaitForFinal(chatty);
  ASSERT_FALSE(tape.empty());
  EXPECT_EQ(tape.back().data.at("state"), "succeeded");
  Split s = split(tape);
  ASSERT_EQ(s.kept.size(), 20u);
  for (std::size_t i = 0; i < s.kept.size(); ++i)
    EXPECT_EQ(s.kept[i].data.at("line").as_string(), std::to_string(i + 1));
  ASSERT_EQ(s.notices.size(), 1u);
  const auto& rate = s.notices[0].data;
  EXPECT_EQ(rate.at("cap"), "line_rate");
  EXPECT_EQ(rate.at("lines").as_int64(), 1980);
  int64_t dropped_bytes = 0;
  for (int i = 21; i <= 2000; ++i)
    dropped_bytes += static_cast<int64_t>(std::to_string(i).size());
  EXPECT_EQ(rate.at("bytes").as_int64(), dropped_bytes);
  EXPECT_NE(std::string(rate.at("line").as_string()).find("1980 line(s) dropped"),
            std::string::npos);
  EXPECT_EQ(tape[tape.size() - 2].seq, s.notices[0].seq);  // the notice, then `final`

  // The byte cap: three 300-byte lines fit in 1000, the other seven do not.
  tape = WaitForFinal(verbose);
  ASSERT_FALSE(tape.empty());
  EXPECT_EQ(tape.back().data.at("state"), "succeeded");
  s = split(tape);
  EXPECT_EQ(s.kept.size(), 3u);
  ASSERT_EQ(s.notices.size(), 1u);
  EXPECT_EQ(s.notices[0].data.at("cap"), "total_bytes");
  EXPECT_EQ(s.notices[0].data.at("lines").as_int64(), 7);
  EXPECT_EQ(s.notices[0].data.at("bytes").as_int64(), 7 * 300);
}

TEST_F(ExecutorTest, KilledBySignalFailsWithTheSignal) {
  // No core file: the kill is the point, not the dump.
  ShellKind("crash", "ulimit -c 0; echo about to crash; kill -SEGV $$",
            "[retry]\nmax_attempts = 1\n");
  Start();
  Api api(port());
  const int64_t id = SubmitKind(api, "crash");
  const auto tape = WaitForFinal(id);
  ASSERT_FALSE(tape.empty());
  EXPECT_EQ(tape.back().data.at("state"), "failed");
  EXPECT_EQ(OfType(tape, "started").size(), 1u);
  EXPECT_EQ(OfType(tape, "attempt_failed").size(), 0u);
  ApiReply job = api.Get("/v1/jobs/" + std::to_string(id));
  ASSERT_EQ(job.status, 200) << job.body;
  EXPECT_EQ(job.json.at("state"), "failed");
  EXPECT_EQ(job.json.at("error").at("code"), "signal");
  EXPECT_NE(std::string(job.json.at("error").at("message").as_string()).find("SIGSEGV"),
            std::string::npos)
      << job.body;
}

TEST_F(ExecutorTest, LongJobOutlivesItsLease) {
  // A 1 s lease renewed every ~333 ms, a command that works for 3 s, and the
  // reaper on (it runs every second): the attempt must never be reaped.
  ShellKind("long", "sleep 3; echo done");
  Start({"--executor-lease-ms", "1000"});
  Api api(port());
  const int64_t id = SubmitKind(api, "long");
  const auto tape = WaitForFinal(id);
  ASSERT_FALSE(tape.empty());
  EXPECT_EQ(tape.back().data.at("state"), "succeeded");
  EXPECT_EQ(tape.back().attempt, 1);
  EXPECT_EQ(OfType(tape, "started").size(), 1u);
  for (const TapeEvent& e : OfType(tape, "attempt_failed"))
    ADD_FAILURE() << "attempt " << e.attempt << " failed: " << boost::json::serialize(e.data);
  const auto logs = OfType(tape, "log");
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_EQ(logs[0].data.at("line"), "done");
}

}  // namespace
}  // namespace jobtape::integration
