// Server configuration: defaults, then a TOML file, then JOBTAPE_*
// environment variables, then command-line flags (flags win). One table of
// options (ConfigOptions) drives all three, so a name or its parsing can never
// differ between them; every option is documented in `jobtape serve --help`
// and docs/operations.md.
//
// Thread-safety: a plain value built once at start-up; the functions are pure
// (ProcessEnv reads the environment).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"

namespace jobtape::cli {

struct TokenConfig {
  std::string role;   // admin | producer | worker | reader
  std::string token;  // plaintext as configured; hashed at load, never kept
  std::string name;   // shown in logs; empty = "<role>-<n>"
};

struct ServerConfig {
  std::string listen = "127.0.0.1:8080";
  std::string data_dir = "./jobtape-data";
  std::string durability = "full";  // full | normal
  int io_threads = 2;
  std::vector<TokenConfig> tokens;

  // Request safety (R9).
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_batch_body_bytes = 16 << 20;  // POST /v1/batches
  std::size_t max_header_bytes = 16 * 1024;
  int max_json_depth = 32;
  std::size_t max_object_keys = 10'000;
  std::size_t max_string_bytes = 100'000;
  int max_connections = 16'384;
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds idle_timeout{75'000};
  std::chrono::milliseconds write_timeout{30'000};

  // Leases, long polls, streams and shutdown.
  std::chrono::milliseconds default_lease{30'000};
  std::chrono::milliseconds max_claim_wait{55'000};
  std::chrono::milliseconds stream_keepalive{15'000};
  std::chrono::milliseconds cancel_grace{10'000};
  std::chrono::milliseconds shutdown_timeout{10'000};

  // The reaper's rules (R5, R8; store::ReapRules): each can be switched off,
  // leaving its attempts running and counted as deferrals.
  bool reap_expired_leases = true;
  bool reap_runtime_backstop = true;
  bool reap_cancel_grace = true;

  // The built-in executor: runs the kinds defined in kinds_dir (empty: off).
  std::string kinds_dir;
  int executor_slots = 8;
  // The lease each attempt holds; renewed every third of it while the child
  // runs (R5). exec::kDefaultExecutorLease.
  std::chrono::milliseconds executor_lease{30'000};
  // Caps on one attempt's output (exec::OutputLimits): a token bucket of
  // burst lines refilled at lines_per_second, and kept bytes in total.
  double executor_log_lines_per_second = 100.0;
  std::size_t executor_log_burst_lines = 1000;
  std::size_t executor_log_max_bytes = 10 * 1024 * 1024;
  // This node's identity (empty: <data_dir>/node_id, created at first start).
  std::string node_id;

  std::string log_level = "info";   // trace | debug | info | warn | error | off
  std::string log_format = "auto";  // auto | text | json

  // The SQLite database file inside data_dir.
  std::string DatabasePath() const { return data_dir + "/jobtape.db"; }
};

// One option: its TOML key (the env name is JOBTAPE_ + upper(key), the flag
// --key with '_' as '-') and its help text.
struct ConfigOption {
  std::string_view key;
  std::string_view help;
};
const std::vector<ConfigOption>& ConfigOptions();
std::string EnvName(std::string_view key);   // "listen" -> "JOBTAPE_LISTEN"
std::string FlagName(std::string_view key);  // "data_dir" -> "--data-dir"

// Sets option `key` from its text form. kInvalidArgument (field = key) for an
// unknown key or a value that does not parse.
Status SetConfigOption(std::string_view key, const std::string& value, ServerConfig& config);

// Overlays `file` (TOML) onto `config`. Unknown keys are an error, so a typo
// cannot silently leave a default in place.
Status LoadConfigFile(const std::string& file, ServerConfig& config);

// Overlays JOBTAPE_* variables from `env` (name -> value).
Status LoadConfigEnv(const std::map<std::string, std::string>& env, ServerConfig& config);

// The JOBTAPE_* variables of the current process environment.
std::map<std::string, std::string> ProcessEnv();

// Checks ranges and combinations; a non-loopback listen address needs a token.
Status ValidateConfig(const ServerConfig& config);

// "host:port" split; IPv6 as "[::1]:8080".
Status SplitHostPort(const std::string& listen, std::string& host, uint16_t& port);

}  // namespace jobtape::cli
