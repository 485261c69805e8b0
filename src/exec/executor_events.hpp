// The tape events the built-in executor writes for a command's output (the
// same shapes remote workers send through POST /v1/leases/.../events):
//   progress  {"percent": 42, "message": "resizing"}
//   log       {"stream": "stdout"|"stderr", "line": "...", "truncated"?: true,
//              "malformed_directive"?: true}
//   notice    a log event of stream "jobtape": {"stream": "jobtape", "line":
//             "output capped: 523 lines (9120 bytes) dropped: line_rate",
//             "cap": "line_rate", "lines": 523, "bytes": 9120}
// and reads one event the store writes:
//   cancel_requested {"reason": ..., "grace_ms": 10000}
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string_view>

#include "core/event.hpp"
#include "exec/output_limiter.hpp"
#include "exec/protocol.hpp"

namespace jobtape::exec {

NewEvent ProgressEvent(int percent, std::string_view message);
NewEvent LogEvent(Stream stream, std::string_view line, bool truncated, bool malformed_directive);
NewEvent TruncationEvent(const TruncationNotice& notice);

// The grace a `cancel_requested` event gave the attempt (its "grace_ms"), or
// nullopt if the data has none or is not an object.
std::optional<Duration> CancelRequestGrace(const Event& event);

}  // namespace jobtape::exec
