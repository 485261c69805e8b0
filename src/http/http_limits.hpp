// Request limits of the HTTP layer (R9): how big a body may be and how deep,
// wide and long the JSON inside it. Each default is a named constant with the
// reason for its value; every limit is configurable through HttpLimits.
//
// Thread-safety: constants and a plain value type.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace jobtape::http {

// DESIGN §3: 1 MiB holds a 1,000-job batch of small payloads, while a single
// request cannot make the server buffer much.
inline constexpr std::size_t kDefaultMaxBodyBytes = 1024 * 1024;
// POST /v1/batches carries up to 10,000 jobs: 16 MiB is 1.6 KiB per job.
inline constexpr std::size_t kDefaultMaxLargeBodyBytes = 16 * 1024 * 1024;
// Four large bodies at once is 64 MiB of buffers at most.
inline constexpr std::size_t kDefaultMaxLargeBodiesInFlight = 4;
// Request line plus headers. Bearer tokens and a few proxy headers fit in a few
// hundred bytes; 16 KiB leaves room without letting headers become a body.
inline constexpr std::size_t kDefaultMaxHeaderBytes = 16 * 1024;
// Our own documents nest 3 levels; a payload may nest more, but nothing
// legitimate needs 32 levels, and the limit bounds every recursive walk.
inline constexpr std::size_t kDefaultMaxJsonDepth = 32;
// Members per JSON object: bounds hash-table building and per-key work.
inline constexpr std::size_t kDefaultMaxObjectKeys = 10'000;
// Any single JSON string (key or value), in bytes after unescaping.
inline constexpr std::size_t kDefaultMaxStringBytes = 100'000;

struct HttpLimits {
  std::size_t max_body_bytes = kDefaultMaxBodyBytes;
  // POST requests to these exact paths may send up to max_large_body_bytes.
  std::size_t max_large_body_bytes = kDefaultMaxLargeBodyBytes;
  std::vector<std::string> large_body_paths = {"/v1/batches"};
  // Requests receiving a body above max_body_bytes at the same time, server
  // wide: bounds what large bodies can make the server buffer (the limit
  // applies before authentication). Beyond it: 503 with Retry-After.
  std::size_t max_large_bodies_in_flight = kDefaultMaxLargeBodiesInFlight;
  std::size_t max_header_bytes = kDefaultMaxHeaderBytes;
  std::size_t max_json_depth = kDefaultMaxJsonDepth;
  std::size_t max_object_keys = kDefaultMaxObjectKeys;
  std::size_t max_string_bytes = kDefaultMaxStringBytes;
};

}  // namespace jobtape::http
