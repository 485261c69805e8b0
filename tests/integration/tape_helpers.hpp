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

// The two outcomes of a retry policy with a fatal exit code, as test
// expectations on a finished tape: the first attempt failed with
// "exit_status" and the second succeeded...
void ExpectRetriedOnceThenSucceeded(const std::vector<TapeEvent>& tape);
// ... or a fatal exit ended the job failed after one attempt, attempts left.
void ExpectFailedWithoutRetry(const std::vector<TapeEvent>& tape);

}  // namespace jobtape::integration
