// The built-in executor end to end, continued: how attempts end. A cancel's
// own grace bounds the kind's, so no process outlives the `final`.
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

}  // namespace
}  // namespace jobtape::integration
