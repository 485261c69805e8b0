#include "exec/kind.hpp"

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace jobtape::exec {
namespace {

constexpr const char* kFull = R"(
name = "thumbnail"
argv = ["/usr/bin/convert", "-resize", "100x100"]
working_dir = "/var/tmp"
queue = "media"
timeout_ms = 60000
max_concurrent = 4
cancel_grace_ms = 2500
[env]
LANG = "C.UTF-8"
[retry]
max_attempts = 5
fatal_exit_codes = [64, 2, 2]
[retry.backoff]
initial_ms = 500
max_ms = 60000
multiplier = 3
jitter = 0.5
)";

TEST(KindParse, FullFileParsesEveryField) {
  auto k = ParseKindText(kFull, "full.toml");
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_EQ(k->name, "thumbnail");
  EXPECT_EQ(k->argv, (std::vector<std::string>{"/usr/bin/convert", "-resize", "100x100"}));
  EXPECT_EQ(k->working_dir, "/var/tmp");
  EXPECT_EQ(k->queue, "media");
  EXPECT_EQ(k->timeout, Duration(std::chrono::seconds(60)));
  EXPECT_EQ(k->max_concurrent, 4);
  EXPECT_EQ(k->cancel_grace, Duration(std::chrono::milliseconds(2500)));
  EXPECT_EQ(k->env.at("LANG"), "C.UTF-8");
  EXPECT_EQ(k->retry.max_attempts, 5);
  EXPECT_EQ(k->retry.fatal_exit_codes, (std::vector<int>{2, 64}));  // sorted, unique
  ASSERT_TRUE(k->retry.backoff.has_value());
  EXPECT_EQ(k->retry.backoff->initial, Duration(std::chrono::milliseconds(500)));
  EXPECT_EQ(k->retry.backoff->max, Duration(std::chrono::seconds(60)));
  EXPECT_DOUBLE_EQ(k->retry.backoff->multiplier, 3.0);
  EXPECT_DOUBLE_EQ(k->retry.backoff->jitter, 0.5);
  EXPECT_EQ(k->source_path, "full.toml");
}

TEST(KindParse, MinimalFileGetsDocumentedDefaults) {
  auto k = ParseKindText("name = \"a\"\nargv = [\"true\"]\n", "min.toml");
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_EQ(k->queue, "default");
  EXPECT_FALSE(k->timeout.has_value());
  EXPECT_FALSE(k->max_concurrent.has_value());
  EXPECT_EQ(k->cancel_grace, kDefaultCancelGrace);
  EXPECT_EQ(k->retry.max_attempts, kDefaultKindMaxAttempts);
  EXPECT_FALSE(k->retry.backoff.has_value());
  EXPECT_TRUE(k->working_dir.empty());
  EXPECT_TRUE(k->env.empty());
}

TEST(KindRetry, EveryNonZeroCodeRetryableExceptFatal) {
  RetryPolicy p;
  p.fatal_exit_codes = {2, 64};
  EXPECT_FALSE(p.IsRetryableExitCode(0));
  EXPECT_TRUE(p.IsRetryableExitCode(1));
  EXPECT_FALSE(p.IsRetryableExitCode(2));
  EXPECT_FALSE(p.IsRetryableExitCode(64));
  EXPECT_TRUE(p.IsRetryableExitCode(75));
}

TEST(KindRetry, RetryableListMakesEveryOtherCodeFatal) {
  RetryPolicy p;
  p.retryable_exit_codes = {75};
  EXPECT_TRUE(p.IsRetryableExitCode(75));
  EXPECT_FALSE(p.IsRetryableExitCode(1));
  EXPECT_FALSE(p.IsRetryableExitCode(0));
}

struct BadCase {
  const char* text;
  const char* field;  // expected Status::field()
  const char* why;    // expected in the message
};

class KindParseError : public ::testing::TestWithParam<BadCase> {};

TEST_P(KindParseError, NamesFileKeyAndReason) {
  const BadCase& c = GetParam();
  auto k = ParseKindText(c.text, "/kinds/bad.toml");
  ASSERT_FALSE(k.ok()) << c.text;
  EXPECT_EQ(k.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(k.status().field(), c.field) << k.status().message();
  EXPECT_NE(k.status().message().find("/kinds/bad.toml: "), std::string::npos)
      << k.status().message();
  EXPECT_NE(k.status().message().find(c.why), std::string::npos) << k.status().message();
}

#define A "argv = [\"/bin/true\"]\n"
#define N "name = \"k\"\n"
INSTANTIATE_TEST_SUITE_P(
    Cases, KindParseError,
    ::testing::Values(
        BadCase{A, "name", "is required"}, BadCase{"name = 3\n" A, "name", "must be a string"},
        BadCase{"name = \"a b\"\n" A, "name", "must match"}, BadCase{N, "argv", "is required"},
        BadCase{N "argv = []\n", "argv", "must not be empty"},
        BadCase{N "argv = \"/bin/true\"\n", "argv", "array"},
        BadCase{N "argv = [\"/bin/true\", 3]\n", "argv[1]", "must be a string"},
        BadCase{N "argv = [\"./run.sh\"]\n", "argv[0]", "absolute path or a bare name"},
        BadCase{N "argv = [\"\"]\n", "argv[0]", "must not be empty"},
        BadCase{N A "typo_key = 1\n", "typo_key", "unknown key"},
        BadCase{N A "[retry]\nmax_attempt = 3\n", "retry.max_attempt", "unknown key"},
        BadCase{N A "[retry.backoff]\ninitial = 3\n", "retry.backoff.initial", "unknown key"},
        BadCase{N A "queue = \"no spaces\"\n", "queue", "must match"},
        BadCase{N A "working_dir = \"rel/dir\"\n", "working_dir", "absolute"},
        BadCase{N A "timeout_ms = 0\n", "timeout_ms", "between 1 and"},
        BadCase{N A "timeout_ms = \"5s\"\n", "timeout_ms", "must be an integer"},
        BadCase{N A "timeout_ms = 1.5\n", "timeout_ms", "must be an integer"},
        BadCase{N A "max_concurrent = 0\n", "max_concurrent", "between 1 and"},
        BadCase{N A "cancel_grace_ms = -1\n", "cancel_grace_ms", "between 0 and"},
        BadCase{N A "env = 3\n", "env", "table"},
        BadCase{N A "[env]\nFOO = 1\n", "env.FOO", "must be a string"},
        BadCase{N A "[env]\nJOBTAPE_JOB_ID = \"1\"\n", "env.JOBTAPE_JOB_ID", "set by the executor"},
        BadCase{N A "[retry]\nmax_attempts = 0\n", "retry.max_attempts", "between 1 and 100"},
        BadCase{N A "[retry]\nmax_attempts = 101\n", "retry.max_attempts", "(got 101)"},
        BadCase{N A "[retry]\nfatal_exit_codes = [0]\n", "retry.fatal_exit_codes[0]",
                "between 1 and 255"},
        BadCase{N A "[retry]\nretryable_exit_codes = [256]\n", "retry.retryable_exit_codes[0]",
                "between 1 and 255"},
        BadCase{N A "[retry]\nretryable_exit_codes = [1]\nfatal_exit_codes = [2]\n",
                "retry.fatal_exit_codes", "cannot be combined"},
        BadCase{N A "[retry.backoff]\ninitial_ms = 10\nmax_ms = 5\n", "retry.backoff.max_ms",
                "must not be below"},
        BadCase{N A "[retry.backoff]\njitter = 2\n", "retry.backoff.jitter", "between"},
        BadCase{N A "[retry.backoff]\nmultiplier = 0.5\n", "retry.backoff.multiplier", "between"}));
#undef A
#undef N

TEST(KindParse, SyntaxErrorCarriesLineAndColumn) {
  auto k = ParseKindText("name = \"a\"\nargv = [\n", "/kinds/x.toml");
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(k.status().message().rfind("/kinds/x.toml:", 0), 0u) << k.status().message();
}

TEST(KindParseFile, ReadsFileAndReportsMissingOne) {
  testing::TempDir dir;
  std::string path = dir.Write("a.toml", "name = \"a\"\nargv = [\"sh\"]\n");
  auto k = ParseKindFile(path);
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_EQ(k->source_path, path);

  auto missing = ParseKindFile(dir.path() + "/nope.toml");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.status().message().find("nope.toml"), std::string::npos);
}

TEST(KindParseFile, RefusesOversizedFile) {
  testing::TempDir dir;
  std::string path = dir.Write(
      "big.toml", "name = \"a\"\nargv = [\"sh\"]\n#" + std::string(kMaxKindFileBytes, 'x'));
  auto k = ParseKindFile(path);
  ASSERT_FALSE(k.ok());
  EXPECT_NE(k.status().message().find("larger than"), std::string::npos);
}

}  // namespace
}  // namespace jobtape::exec
