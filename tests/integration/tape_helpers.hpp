// Reading a job's tape in the integration tests: over SSE until its `final`
// (checking R1 on the way: seq gapless from 1, `final` last, nothing after it,
// and the stored tape the same with exactly one `final`), or until a log line.
//
// Thread-safety: plain functions; each opens its own connections.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace jobtape::integration {

struct TapeEvent {
  int64_t seq = 0;
  std::string type;
  int attempt = 0;
  boost::json::object data;
};

// One event of the API's JSON form.
TapeEvent ToTapeEvent(const boost::json::value& v);
std::vector<TapeEvent> OfType(const std::vector<TapeEvent>& tape, const std::string& type);

// The stored tape (GET /v1/jobs/{id}/events).
std::vector<TapeEvent> StoredTape(uint16_t port, int64_t id);
// Follows the tape live from the start until `final`, with the R1 checks
// above as test expectations.
std::vector<TapeEvent> WaitForFinal(uint16_t port, int64_t id);
// Follows the tape live until a log line starting with `prefix`; the rest of
// that line, or "" if the tape ended first.
std::string WaitForLogLine(uint16_t port, int64_t id, const std::string& prefix);

}  // namespace jobtape::integration
