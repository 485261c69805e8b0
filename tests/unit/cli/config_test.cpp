// Server configuration: one option table behind the TOML file, the
// environment and the flags; later sources win; bad values and unknown keys
// are errors naming the key; ValidateConfig refuses unsafe combinations.
#include "cli/config.hpp"
#include "cli/node_id.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

#include <unistd.h>

namespace jobtape::cli {
namespace {

// Scratch files and directories of this test process (ctest runs the tests
// as parallel processes, so the names carry the pid and the test), removed
// when the process ends.
std::string ScratchPath(const std::string& what) {
  struct Cleanup {
    std::vector<std::string> paths;
    ~Cleanup() {
      std::error_code ec;
      for (const std::string& p : paths)
        std::filesystem::remove_all(p, ec);
    }
  };
  static Cleanup cleanup;
  const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string path = ::testing::TempDir() + "/jobtape-" + what + "-" + std::to_string(::getpid()) +
                     "-" + (test ? test->name() : "none");
  cleanup.paths.push_back(path);
  return path;
}

std::string WriteFile(const std::string& text) {
  std::string path = ScratchPath("config-toml");
  std::ofstream(path) << text;
  return path;
}

TEST(ConfigTest, FileThenEnvironmentThenFlagsEachOverride) {
  ServerConfig c;
  ASSERT_TRUE(
      LoadConfigFile(WriteFile("listen = \"127.0.0.1:9000\"\n"
                               "data_dir = \"/from/file\"\n"
                               "shutdown_timeout_ms = 1234\n"
                               "[[tokens]]\nrole = \"admin\"\ntoken = \"0123456789abcdef\"\n"),
                     c)
          .ok());
  EXPECT_EQ(c.listen, "127.0.0.1:9000");
  EXPECT_EQ(c.shutdown_timeout.count(), 1234);
  ASSERT_EQ(c.tokens.size(), 1u);
  EXPECT_EQ(c.tokens[0].role, "admin");

  ASSERT_TRUE(
      LoadConfigEnv({{"JOBTAPE_DATA_DIR", "/from/env"},
                     {"JOBTAPE_TOKENS", "worker:abcdefghijklmnop, reader:ABCDEFGHIJKLMNOP"}},
                    c)
          .ok());
  EXPECT_EQ(c.data_dir, "/from/env");
  EXPECT_EQ(c.listen, "127.0.0.1:9000");  // untouched by the environment
  ASSERT_EQ(c.tokens.size(), 2u);         // the environment's list replaces the file's
  EXPECT_EQ(c.tokens[1].role, "reader");

  ASSERT_TRUE(SetConfigOption("listen", "127.0.0.1:0", c).ok());  // what a flag does
  EXPECT_EQ(c.listen, "127.0.0.1:0");
  EXPECT_TRUE(ValidateConfig(c).ok());
}

TEST(ConfigTest, ReaperRulesAreBooleansFromEverySource) {
  ServerConfig c;
  EXPECT_TRUE(c.reap_expired_leases && c.reap_runtime_backstop && c.reap_cancel_grace);
  ASSERT_TRUE(LoadConfigFile(WriteFile("reap_expired_leases = false\n"
                                       "reap_cancel_grace = \"false\"\n"),
                             c)
                  .ok());
  EXPECT_FALSE(c.reap_expired_leases);
  EXPECT_FALSE(c.reap_cancel_grace);
  EXPECT_TRUE(c.reap_runtime_backstop);
  ASSERT_TRUE(LoadConfigEnv({{"JOBTAPE_REAP_RUNTIME_BACKSTOP", "off"}}, c).ok());
  EXPECT_FALSE(c.reap_runtime_backstop);
  ASSERT_TRUE(SetConfigOption("reap_expired_leases", "true", c).ok());
  EXPECT_TRUE(c.reap_expired_leases);
  Status bad = SetConfigOption("reap_cancel_grace", "maybe", c);
  EXPECT_EQ(bad.field(), "reap_cancel_grace");
  EXPECT_FALSE(c.reap_cancel_grace);  // unchanged
}

TEST(ConfigTest, ExecutorLeaseAndOutputCapsFromEverySource) {
  ServerConfig c;
  ASSERT_TRUE(LoadConfigFile(WriteFile("executor_lease_ms = 1500\n"
                                       "executor_log_lines_per_second = 0.5\n"
                                       "executor_log_burst_lines = 20\n"),
                             c)
                  .ok());
  EXPECT_EQ(c.executor_lease.count(), 1500);
  EXPECT_DOUBLE_EQ(c.executor_log_lines_per_second, 0.5);
  EXPECT_EQ(c.executor_log_burst_lines, 20u);
  ASSERT_TRUE(LoadConfigEnv({{"JOBTAPE_EXECUTOR_LOG_MAX_BYTES", "4096"}}, c).ok());
  EXPECT_EQ(c.executor_log_max_bytes, 4096u);
  ASSERT_TRUE(SetConfigOption("executor_log_lines_per_second", "2", c).ok());
  EXPECT_DOUBLE_EQ(c.executor_log_lines_per_second, 2.0);
  EXPECT_EQ(SetConfigOption("executor_lease_ms", "soon", c).field(), "executor_lease_ms");
  EXPECT_TRUE(ValidateConfig(c).ok());
}

TEST(ConfigTest, ErrorsNameTheOption) {
  ServerConfig c;
  Status unknown = LoadConfigFile(WriteFile("lisen = \"x\"\n"), c);
  EXPECT_EQ(unknown.field(), "lisen");
  Status number = LoadConfigEnv({{"JOBTAPE_IO_THREADS", "two"}}, c);
  EXPECT_EQ(number.field(), "io_threads");
  Status syntax = LoadConfigFile(WriteFile("listen = \n"), c);
  EXPECT_FALSE(syntax.ok());
  EXPECT_EQ(SetConfigOption("nope", "1", c).code(), ErrorCode::kInvalidArgument);
}

TEST(ConfigTest, NonLoopbackNeedsAToken) {
  ServerConfig c;
  c.listen = "0.0.0.0:8080";
  Status s = ValidateConfig(c);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("refusing"), std::string::npos);
  c.listen = "127.example.com:8080";  // looks like loopback, is a host name
  EXPECT_FALSE(ValidateConfig(c).ok());
  c.listen = "[::1]:8080";
  EXPECT_TRUE(ValidateConfig(c).ok());
  c.listen = "0.0.0.0:8080";
  c.tokens.push_back({"admin", "0123456789abcdef", ""});
  EXPECT_TRUE(ValidateConfig(c).ok());
}

TEST(ConfigTest, RangesAreChecked) {
  ServerConfig c;
  c.durability = "sometimes";
  EXPECT_EQ(ValidateConfig(c).field(), "durability");
  c = ServerConfig();
  c.default_lease = std::chrono::milliseconds(10);
  EXPECT_EQ(ValidateConfig(c).field(), "default_lease_ms");
  c = ServerConfig();
  c.tokens.push_back({"admin", "short", ""});
  EXPECT_EQ(ValidateConfig(c).field(), "tokens");
  c = ServerConfig();
  c.log_format = "xml";
  EXPECT_EQ(ValidateConfig(c).field(), "log_format");
  c = ServerConfig();
  c.executor_slots = 0;
  EXPECT_EQ(ValidateConfig(c).field(), "executor_slots");
  c = ServerConfig();
  c.executor_lease = std::chrono::milliseconds(999);
  EXPECT_EQ(ValidateConfig(c).field(), "executor_lease_ms");
  c = ServerConfig();
  c.executor_log_lines_per_second = 0;
  EXPECT_EQ(ValidateConfig(c).field(), "executor_log_lines_per_second");
  c = ServerConfig();
  c.executor_log_burst_lines = 0;
  EXPECT_EQ(ValidateConfig(c).field(), "executor_log_burst_lines");
  c = ServerConfig();
  c.executor_log_max_bytes = 0;
  EXPECT_EQ(ValidateConfig(c).field(), "executor_log_max_bytes");
  c = ServerConfig();
  c.node_id = "has space";
  EXPECT_EQ(ValidateConfig(c).field(), "node_id");
  c.node_id = "node-1.eu_west";
  EXPECT_TRUE(ValidateConfig(c).ok());
}

// The node id is created once and then read back, so attempts stamped with
// it before a crash are recognised as this node's after the restart.
TEST(NodeIdTest, CreatedOnceThenStable) {
  std::string dir = ScratchPath("node-id");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto first = LoadOrCreateNodeId(dir);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(ValidateNodeId(*first).ok());
  auto second = LoadOrCreateNodeId(dir);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*first, *second);
  // Another data directory is another node.
  std::string other = dir + "/other";
  std::filesystem::create_directories(other);
  auto third = LoadOrCreateNodeId(other);
  ASSERT_TRUE(third.ok());
  EXPECT_NE(*first, *third);
}

TEST(NodeIdTest, AGarbledFileIsRefusedNotReplaced) {
  std::string dir = ScratchPath("node-id-garbled");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/node_id") << "not a valid id!\n";
  auto id = LoadOrCreateNodeId(dir);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), ErrorCode::kFailedPrecondition);
}

TEST(ConfigTest, EveryOptionHasAnEnvNameAFlagAndHelp) {
  for (const ConfigOption& o : ConfigOptions()) {
    EXPECT_FALSE(o.help.empty()) << o.key;
    EXPECT_EQ(EnvName(o.key).rfind("JOBTAPE_", 0), 0u);
    EXPECT_EQ(FlagName(o.key).rfind("--", 0), 0u);
  }
  EXPECT_EQ(EnvName("data_dir"), "JOBTAPE_DATA_DIR");
  EXPECT_EQ(FlagName("data_dir"), "--data-dir");
}

}  // namespace
}  // namespace jobtape::cli
