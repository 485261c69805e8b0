#include "cli/config.hpp"

#include <toml++/toml.h>
#include <unistd.h>

#include <charconv>
#include <functional>
#include <span>

#include "cli/node_id.hpp"
#include "http/auth.hpp"

extern char** environ;

namespace jobtape::cli {
namespace {

Status Invalid(std::string_view key, const std::string& why) {
  return Status::InvalidArgument(std::string(key) + ": " + why, std::string(key));
}

template <typename T>
Status ParseNumber(std::string_view key, const std::string& text, T& out) {
  T value{};
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
    return Invalid(key, "not a number: '" + text + "'");
  }
  out = value;
  return Status::Ok();
}

// true/false (also 1/0, yes/no, on/off: what env files and flags tend to say).
Status ParseBool(std::string_view key, const std::string& text, bool& out) {
  static constexpr std::string_view kTrue[] = {"true", "1", "yes", "on"};
  static constexpr std::string_view kFalse[] = {"false", "0", "no", "off"};
  for (bool value : {true, false}) {
    for (std::string_view word : value ? std::span(kTrue) : std::span(kFalse)) {
      if (text == word) {
        out = value;
        return Status::Ok();
      }
    }
  }
  return Invalid(key, "not a boolean (true or false): '" + text + "'");
}

Status ParseMillis(std::string_view key, const std::string& text, std::chrono::milliseconds& out) {
  int64_t ms = 0;
  JT_RETURN_IF_ERROR(ParseNumber(key, text, ms));
  if (ms < 0) return Invalid(key, "must not be negative");
  out = std::chrono::milliseconds(ms);
  return Status::Ok();
}

// "role:token[,role:token...]" (the JOBTAPE_TOKENS form; whitespace trimmed).
Status ParseTokens(std::string_view key, const std::string& text, std::vector<TokenConfig>& out) {
  auto parsed = http::ParseTokenList(text);
  if (!parsed.ok()) return Invalid(key, parsed.status().message());
  for (const http::TokenConfig& t : *parsed) {
    out.push_back({std::string(http::RoleName(t.role)), t.token, t.name});
  }
  return Status::Ok();
}

using Setter = std::function<Status(std::string_view key, const std::string& v, ServerConfig& c)>;

struct Option {
  ConfigOption info;
  Setter set;
};

template <typename T>
Setter Number(T ServerConfig::*member) {
  return [member](std::string_view k, const std::string& v, ServerConfig& c) {
    return ParseNumber(k, v, c.*member);
  };
}
Setter Millis(std::chrono::milliseconds ServerConfig::*member) {
  return [member](std::string_view k, const std::string& v, ServerConfig& c) {
    return ParseMillis(k, v, c.*member);
  };
}
Setter Bool(bool ServerConfig::*member) {
  return [member](std::string_view k, const std::string& v, ServerConfig& c) {
    return ParseBool(k, v, c.*member);
  };
}
Setter Text(std::string ServerConfig::*member) {
  return [member](std::string_view, const std::string& v, ServerConfig& c) {
    c.*member = v;
    return Status::Ok();
  };
}

const std::vector<Option>& Options() {
  static const std::vector<Option> kOptions = {
      {{"listen",
        "Address and port to serve on, host:port ([::1]:port for IPv6; port 0 "
        "picks a free one). Default 127.0.0.1:8080"},
       Text(&ServerConfig::listen)},
      {{"data_dir",
        "Directory of the SQLite database (created if missing). Default "
        "./jobtape-data"},
       Text(&ServerConfig::data_dir)},
      {{"durability",
        "full: fsync every commit (survives power loss); normal: survives a "
        "crash of the process only. Default full"},
       Text(&ServerConfig::durability)},
      {{"io_threads", "HTTP I/O threads. Default 2"}, Number(&ServerConfig::io_threads)},
      {{"tokens",
        "API tokens as role:token[,role:token...], roles admin, producer, worker, "
        "reader (at least 16 characters each). Without any, the server is open and "
        "refuses non-loopback addresses"},
       [](std::string_view k, const std::string& v, ServerConfig& c) {
         c.tokens.clear();
         return ParseTokens(k, v, c.tokens);
       }},
      {{"max_body_bytes", "Largest request body (413 beyond). Default 1048576"},
       Number(&ServerConfig::max_body_bytes)},
      {{"max_batch_body_bytes",
        "Largest body of POST /v1/batches (up to 10,000 jobs; 413 beyond). Default 16777216"},
       Number(&ServerConfig::max_batch_body_bytes)},
      {{"max_header_bytes", "Largest request line plus headers (431 beyond). Default 16384"},
       Number(&ServerConfig::max_header_bytes)},
      {{"max_json_depth", "Deepest JSON nesting accepted. Default 32"},
       Number(&ServerConfig::max_json_depth)},
      {{"max_object_keys", "Most members of one JSON object. Default 10000"},
       Number(&ServerConfig::max_object_keys)},
      {{"max_string_bytes", "Longest JSON string. Default 100000"},
       Number(&ServerConfig::max_string_bytes)},
      {{"max_connections", "Open connections at most; more are answered 503. Default 16384"},
       Number(&ServerConfig::max_connections)},
      {{"header_timeout_ms", "Time a client has to send a request's headers. Default 10000"},
       Millis(&ServerConfig::header_timeout)},
      {{"idle_timeout_ms", "Idle keep-alive connections are closed after this. Default 75000"},
       Millis(&ServerConfig::idle_timeout)},
      {{"write_timeout_ms",
        "A response or stream write to a client not reading is given up "
        "after this. Default 30000"},
       Millis(&ServerConfig::write_timeout)},
      {{"default_lease_ms", "Lease of a claim that names none. Default 30000"},
       Millis(&ServerConfig::default_lease)},
      {{"max_claim_wait_ms",
        "Longest long poll of POST /v1/claims (longer wait_ms is "
        "clamped). Default 55000"},
       Millis(&ServerConfig::max_claim_wait)},
      {{"stream_keepalive_ms", "Keep-alive comment interval of idle SSE streams. Default 15000"},
       Millis(&ServerConfig::stream_keepalive)},
      {{"cancel_grace_ms", "Time a running job has to stop after a cancel. Default 10000"},
       Millis(&ServerConfig::cancel_grace)},
      {{"shutdown_timeout_ms",
        "On SIGTERM/SIGINT, time requests in flight get to finish. "
        "Default 10000"},
       Millis(&ServerConfig::shutdown_timeout)},
      {{"reap_expired_leases",
        "Reaper rule: end attempts whose worker stopped renewing the lease (retried or "
        "failed). false leaves them running, counted as deferrals. Default true"},
       Bool(&ServerConfig::reap_expired_leases)},
      {{"reap_runtime_backstop",
        "Reaper rule: end attempts past their job's timeout whatever their heartbeats "
        "say. false leaves them running, counted as deferrals. Default true"},
       Bool(&ServerConfig::reap_runtime_backstop)},
      {{"reap_cancel_grace",
        "Reaper rule: end cancelled attempts whose grace ran out as cancelled. false "
        "leaves them running, counted as deferrals. Default true"},
       Bool(&ServerConfig::reap_cancel_grace)},
      {{"kinds_dir",
        "Directory of job kind files (*.toml) the built-in executor runs; rescanned "
        "when it changes. Empty: no built-in executor. Default empty"},
       Text(&ServerConfig::kinds_dir)},
      {{"executor_slots", "Jobs the built-in executor runs at once, over all kinds. Default 8"},
       Number(&ServerConfig::executor_slots)},
      {{"executor_lease_ms",
        "Lease of each attempt the built-in executor runs, renewed every third of it while "
        "the command runs (1000..3600000). Default 30000"},
       Millis(&ServerConfig::executor_lease)},
      {{"executor_log_lines_per_second",
        "Output lines per second one attempt may put on the tape after its burst (> 0, "
        "fractions allowed); the rest are dropped and counted in one notice. Default 100"},
       Number(&ServerConfig::executor_log_lines_per_second)},
      {{"executor_log_burst_lines",
        "Output lines one attempt may put on the tape at once before the rate applies (>= 1). "
        "Default 1000"},
       Number(&ServerConfig::executor_log_burst_lines)},
      {{"executor_log_max_bytes",
        "Output bytes one attempt may put on the tape in total (>= 1); later lines are "
        "dropped and counted in one notice. Default 10485760"},
       Number(&ServerConfig::executor_log_max_bytes)},
      {{"node_id",
        "This node's id, stamped on the attempts its executor runs so a restart can "
        "recover them. Default: read from (or created in) <data_dir>/node_id"},
       Text(&ServerConfig::node_id)},
      {{"log_level", "trace, debug, info, warn, error or off. Default info"},
       Text(&ServerConfig::log_level)},
      {{"log_format", "text, json, or auto (json unless stdout is a terminal). Default auto"},
       Text(&ServerConfig::log_format)},
  };
  return kOptions;
}

const Option* FindOption(std::string_view key) {
  for (const Option& o : Options()) {
    if (key == o.info.key) return &o;
  }
  return nullptr;
}

}  // namespace

const std::vector<ConfigOption>& ConfigOptions() {
  static const std::vector<ConfigOption> kInfos = [] {
    std::vector<ConfigOption> out;
    for (const Option& o : Options())
      out.push_back(o.info);
    return out;
  }();
  return kInfos;
}

std::string EnvName(std::string_view key) {
  std::string name = "JOBTAPE_";
  for (char ch : key)
    name += static_cast<char>(ch >= 'a' && ch <= 'z' ? ch - 32 : ch);
  return name;
}

std::string FlagName(std::string_view key) {
  std::string name = "--";
  for (char ch : key)
    name += ch == '_' ? '-' : ch;
  return name;
}

Status SetConfigOption(std::string_view key, const std::string& value, ServerConfig& config) {
  const Option* opt = FindOption(key);
  if (opt == nullptr) return Invalid(key, "unknown option");
  return opt->set(key, value, config);
}

Status LoadConfigFile(const std::string& file, ServerConfig& config) {
  toml::table table;
  try {
    // Debian's toml++ reports parse errors by exception; this is the boundary.
    table = toml::parse_file(file);
  } catch (const toml::parse_error& err) {
    return Status::InvalidArgument(file + ":" + std::to_string(err.source().begin.line) + ": " +
                                   std::string(err.description()));
  }
  for (const auto& [key_node, value] : table) {
    std::string key(key_node.str());
    if (key == "tokens" && value.is_array()) {
      // [[tokens]] role = "...", token = "...", name = "..." (optional)
      config.tokens.clear();
      for (const auto& item : *value.as_array()) {
        const toml::table* t = item.as_table();
        auto role = t ? (*t)["role"].value<std::string>() : std::nullopt;
        auto token = t ? (*t)["token"].value<std::string>() : std::nullopt;
        auto name = t ? (*t)["name"].value<std::string>() : std::nullopt;
        if (!role || !token) return Invalid("tokens", "each [[tokens]] entry needs role and token");
        config.tokens.push_back({*role, *token, name.value_or("")});
      }
      continue;
    }
    if (FindOption(key) == nullptr) return Invalid(key, "unknown option in " + file);
    std::string text;
    if (auto s = value.value<std::string>()) {
      text = *s;
    } else if (auto b = value.value<bool>(); b && value.is_boolean()) {
      text = *b ? "true" : "false";
    } else if (auto d = value.value<double>(); d && value.is_floating_point()) {
      char buf[64];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, *d);
      text.assign(buf, ec == std::errc() ? end : buf);
    } else if (auto i = value.value<int64_t>()) {
      text = std::to_string(*i);
    } else {
      return Invalid(key, "must be a string, a number or a boolean");
    }
    JT_RETURN_IF_ERROR(SetConfigOption(key, text, config));
  }
  return Status::Ok();
}

Status LoadConfigEnv(const std::map<std::string, std::string>& env, ServerConfig& config) {
  for (const Option& o : Options()) {
    auto it = env.find(EnvName(o.info.key));
    if (it != env.end()) JT_RETURN_IF_ERROR(o.set(o.info.key, it->second, config));
  }
  return Status::Ok();
}

std::map<std::string, std::string> ProcessEnv() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    std::size_t eq = kv.find('=');
    if (eq != std::string_view::npos && kv.substr(0, 8) == "JOBTAPE_") {
      env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
    }
  }
  return env;
}

Status SplitHostPort(const std::string& listen, std::string& host, uint16_t& port) {
  std::size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) return Invalid("listen", "expected host:port");
  host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    return Invalid("listen", "write an IPv6 address in brackets: [::1]:8080");
  }
  return ParseNumber("listen", listen.substr(colon + 1), port);
}

Status ValidateConfig(const ServerConfig& c) {
  std::string host;
  uint16_t port = 0;
  JT_RETURN_IF_ERROR(SplitHostPort(c.listen, host, port));
  if (!http::IsLoopbackAddress(host) && c.tokens.empty()) {
    return Invalid("listen", "refusing to listen on non-loopback address '" + host +
                                 "' without any API token: configure tokens (e.g. "
                                 "JOBTAPE_TOKENS=admin:<secret>) or listen on 127.0.0.1");
  }
  if (c.data_dir.empty()) return Invalid("data_dir", "must not be empty");
  if (c.durability != "full" && c.durability != "normal") {
    return Invalid("durability", "must be full or normal");
  }
  if (c.io_threads < 1 || c.io_threads > 256) return Invalid("io_threads", "must be 1..256");
  if (c.max_body_bytes < 1024) return Invalid("max_body_bytes", "must be at least 1024");
  if (c.max_batch_body_bytes < c.max_body_bytes) {
    return Invalid("max_batch_body_bytes", "must be at least max_body_bytes");
  }
  if (c.max_header_bytes < 1024) return Invalid("max_header_bytes", "must be at least 1024");
  if (c.max_json_depth < 2 || c.max_json_depth > 1024) {
    return Invalid("max_json_depth", "must be 2..1024");
  }
  if (c.max_object_keys < 1) return Invalid("max_object_keys", "must be at least 1");
  if (c.max_string_bytes < 1) return Invalid("max_string_bytes", "must be at least 1");
  if (c.max_connections < 1) return Invalid("max_connections", "must be at least 1");
  using std::chrono::milliseconds;
  const std::pair<const char*, milliseconds> positive[] = {
      {"header_timeout_ms", c.header_timeout},
      {"idle_timeout_ms", c.idle_timeout},
      {"write_timeout_ms", c.write_timeout},
      {"stream_keepalive_ms", c.stream_keepalive},
      {"shutdown_timeout_ms", c.shutdown_timeout}};
  for (const auto& [key, value] : positive) {
    if (value <= milliseconds(0)) return Invalid(key, "must be positive");
  }
  if (c.default_lease < std::chrono::seconds(1) || c.default_lease > std::chrono::hours(1)) {
    return Invalid("default_lease_ms", "must be between 1000 and 3600000");
  }
  if (c.max_claim_wait > std::chrono::minutes(10)) {
    return Invalid("max_claim_wait_ms", "must be at most 600000");
  }
  if (c.executor_slots < 1 || c.executor_slots > 4096) {
    return Invalid("executor_slots", "must be 1..4096");
  }
  if (c.executor_lease < std::chrono::seconds(1) || c.executor_lease > std::chrono::hours(1)) {
    return Invalid("executor_lease_ms", "must be between 1000 and 3600000");
  }
  if (!(c.executor_log_lines_per_second > 0) || c.executor_log_lines_per_second > 1e9) {
    return Invalid("executor_log_lines_per_second", "must be above 0 (and at most 1e9)");
  }
  if (c.executor_log_burst_lines < 1) return Invalid("executor_log_burst_lines", "must be >= 1");
  if (c.executor_log_max_bytes < 1) return Invalid("executor_log_max_bytes", "must be >= 1");
  if (!c.node_id.empty()) JT_RETURN_IF_ERROR(ValidateNodeId(c.node_id));
  for (std::size_t i = 0; i < c.tokens.size(); ++i) {
    const TokenConfig& t = c.tokens[i];
    if (!http::ParseRole(t.role)) {
      return Invalid("tokens", "unknown role '" + t.role + "' (admin, producer, worker, reader)");
    }
    if (t.token.size() < http::kMinTokenLength) {
      return Invalid("tokens", "tokens must be at least 16 characters");
    }
  }
  static constexpr std::string_view kLevels[] = {"trace", "debug", "info", "warn", "error", "off"};
  bool level_ok = false;
  for (std::string_view l : kLevels)
    level_ok = level_ok || c.log_level == l;
  if (!level_ok) return Invalid("log_level", "must be trace, debug, info, warn, error or off");
  if (c.log_format != "auto" && c.log_format != "text" && c.log_format != "json") {
    return Invalid("log_format", "must be auto, text or json");
  }
  return Status::Ok();
}

}  // namespace jobtape::cli
