#include "exec/attempt.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>

namespace jobtape::exec {
namespace {

KindSpec TestKind() {
  KindSpec k;
  k.name = "resize";
  k.argv = {"convert", "-"};
  k.env = {{"LANG", "C.UTF-8"}};
  k.working_dir = "/tmp";
  k.timeout = std::chrono::seconds(9);
  k.retry.fatal_exit_codes = {2};
  return k;
}

bool Has(const std::vector<std::string>& env, const std::string& entry) {
  return std::find(env.begin(), env.end(), entry) != env.end();
}

TEST(Attempt, EnvironmentIsExplicitWithJobtapeVariables) {
  AttemptContext ctx{.job_id = 42, .attempt = 3, .queue = "media", .kind = "resize"};
  auto env = AttemptEnvironment(TestKind(), ctx);
  EXPECT_TRUE(Has(env, "JOBTAPE_JOB_ID=42"));
  EXPECT_TRUE(Has(env, "JOBTAPE_ATTEMPT=3"));
  EXPECT_TRUE(Has(env, "JOBTAPE_QUEUE=media"));
  EXPECT_TRUE(Has(env, "JOBTAPE_KIND=resize"));
  EXPECT_TRUE(Has(env, "LANG=C.UTF-8"));
  EXPECT_TRUE(Has(env, "PATH=/usr/local/bin:/usr/bin:/bin"));
  EXPECT_EQ(env.size(), 6u);  // nothing inherited from this process (HOME, ...)
}

TEST(Attempt, KindPathOverridesDefaultPath) {
  KindSpec k = TestKind();
  k.env["PATH"] = "/opt/bin";
  auto env = AttemptEnvironment(k, {});
  EXPECT_TRUE(Has(env, "PATH=/opt/bin"));
  EXPECT_FALSE(Has(env, "PATH=/usr/local/bin:/usr/bin:/bin"));
}

TEST(Attempt, SpawnRequestUsesJobTimeoutOverKinds) {
  KindSpec k = TestKind();
  auto req = MakeSpawnRequest(k, {.job_id = 1, .attempt = 1}, "{\"a\":1}");
  EXPECT_EQ(req.argv, k.argv);
  EXPECT_EQ(req.working_dir, "/tmp");
  EXPECT_EQ(req.stdin_data, "{\"a\":1}");
  EXPECT_EQ(req.timeout, k.timeout);
  auto own = MakeSpawnRequest(k, {}, "null", Duration(std::chrono::seconds(1)));
  EXPECT_EQ(own.timeout, Duration(std::chrono::seconds(1)));
}

TEST(Attempt, OutcomeFollowsExitAndRetryPolicy) {
  KindSpec k = TestKind();
  ExitInfo ok{.kind = ExitInfo::Kind::kExited, .exit_code = 0};
  auto s = AttemptOutcome(k, ok, "{\"n\":1}");
  EXPECT_EQ(s.kind, Outcome::Kind::kSucceeded);
  EXPECT_EQ(s.result, "{\"n\":1}");

  ExitInfo one{.kind = ExitInfo::Kind::kExited, .exit_code = 1};
  auto f1 = AttemptOutcome(k, one, "");
  EXPECT_EQ(f1.kind, Outcome::Kind::kFailed);
  EXPECT_EQ(f1.error_code, "exit_status");
  EXPECT_TRUE(f1.retryable);

  ExitInfo two{.kind = ExitInfo::Kind::kExited, .exit_code = 2};
  EXPECT_FALSE(AttemptOutcome(k, two, "").retryable);  // listed fatal

  ExitInfo sig{.kind = ExitInfo::Kind::kSignaled, .signal = 9};
  EXPECT_EQ(AttemptOutcome(k, sig, "").error_code, "signal");

  ExitInfo timeout{.kind = ExitInfo::Kind::kSignaled, .signal = 9, .timed_out = true};
  auto t = AttemptOutcome(k, timeout, "");
  EXPECT_EQ(t.error_code, "timeout");
  EXPECT_TRUE(t.retryable);

  ExitInfo enoent{.kind = ExitInfo::Kind::kSpawnFailed, .spawn_errno = ENOENT};
  auto e = AttemptOutcome(k, enoent, "");
  EXPECT_EQ(e.error_code, "spawn_failed");
  EXPECT_FALSE(e.retryable);
  ExitInfo eagain{.kind = ExitInfo::Kind::kSpawnFailed, .spawn_errno = EAGAIN};
  EXPECT_TRUE(AttemptOutcome(k, eagain, "").retryable);
}

}  // namespace
}  // namespace jobtape::exec
