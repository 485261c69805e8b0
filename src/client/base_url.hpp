// The server's base URL ("http://127.0.0.1:8080", optionally with a path
// prefix behind a reverse proxy) and the request targets built on it.
//
// Only plain http is supported: TLS belongs to a terminating proxy in front
// of jobtape (docs/operations.md), so the client carries no TLS stack.
//
// Thread-safety: plain value types and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.hpp"

namespace jobtape::client {

inline constexpr std::string_view kDefaultServerUrl = "http://127.0.0.1:8080";

struct BaseUrl {
  std::string host;    // "127.0.0.1", "jobs.internal", "::1" (no brackets)
  uint16_t port = 80;  // 80 when the URL names none
  std::string prefix;  // "" or "/jobtape" (no trailing slash)

  // "host:port" as sent in the Host header (IPv6 in brackets).
  std::string HostHeader() const;
  // "http://host:port/prefix", for messages.
  std::string ToString() const;
};

// Parses "http://host[:port][/prefix]". kInvalidArgument (field "server") for
// another scheme, user info, a query or fragment, or a bad port.
Result<BaseUrl> ParseBaseUrl(std::string_view url);

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// prefix + path + "?k=v&..." with every key and value percent-encoded;
// `path` starts with "/" and its segments are already safe ("/v1/jobs/12").
std::string BuildTarget(const BaseUrl& base, std::string_view path, const QueryParams& query = {});

// Percent-encodes everything but RFC 3986 unreserved characters.
std::string PercentEncode(std::string_view text);

}  // namespace jobtape::client
