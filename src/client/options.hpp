// How a client reaches the server: base URL, bearer token, timeouts.
//
// Resolution order for the server: the --server flag, then JOBTAPE_URL, then
// kDefaultServerUrl. The token comes only from JOBTAPE_TOKEN (never a flag:
// flags end up in shell history and `ps` output).
//
// Thread-safety: plain value types and pure functions.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "client/base_url.hpp"
#include "core/status.hpp"

namespace jobtape::client {

// Connecting over loopback or a LAN takes milliseconds; 5 s tolerates a
// congested network without leaving a user staring at a dead address.
inline constexpr std::chrono::milliseconds kDefaultConnectTimeout{5'000};
// Whole request/response exchange. Long-poll claims add their wait_ms on top.
inline constexpr std::chrono::milliseconds kDefaultRequestTimeout{30'000};

struct ClientOptions {
  BaseUrl server;     // parsed from the resolved URL
  std::string token;  // bearer token; empty = none
  std::chrono::milliseconds connect_timeout = kDefaultConnectTimeout;
  std::chrono::milliseconds request_timeout = kDefaultRequestTimeout;
  std::string user_agent = "jobtape-client/0.1";
};

// Builds options from a --server flag (nullopt or empty when not given) and an
// environment (JOBTAPE_URL, JOBTAPE_TOKEN). kInvalidArgument for a bad URL.
Result<ClientOptions> ResolveClientOptions(const std::optional<std::string>& server_flag,
                                           const std::map<std::string, std::string>& env);

// The JOBTAPE_URL / JOBTAPE_TOKEN values of the current process environment.
std::map<std::string, std::string> ClientEnv();

}  // namespace jobtape::client
