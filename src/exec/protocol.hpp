// The output protocol between a job's command and jobtape: how one line of the
// command's stdout or stderr becomes a tape event.
//
//   ::progress <0-100> [message]   (stdout) -> a `progress` event
//   ::result <json>                (stdout) -> the attempt's result (last one wins)
//   anything else                           -> a `log` event, stream noted
//
// Directives are recognised on stdout only: stderr is for humans, and a tool
// that echoes its input to stderr must not forge a result. A line that starts
// like a directive but is malformed (`::progress 120`, `::result {bad`) is
// logged verbatim with `malformed_directive` set, so the caller can add a
// warning instead of failing the attempt. One trailing '\r' is removed from
// every line (CRLF output).
//
// The same rules serve the built-in executor and `jobtape worker -- CMD`.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace jobtape::exec {

enum class Stream : uint8_t { kStdout, kStderr };

// "stdout" / "stderr".
std::string_view StreamName(Stream s);

// Nesting allowed in a `::result` value: the HTTP API's JSON depth limit (R9).
inline constexpr std::size_t kMaxResultDepth = 32;

struct OutputLine {
  enum class Type : uint8_t { kLog, kProgress, kResult };
  Type type = Type::kLog;
  Stream stream = Stream::kStdout;
  // kLog: the whole line; kProgress: the message (may be empty); kResult: the
  // JSON text, trimmed. A view into the input line.
  std::string_view text;
  int percent = 0;                   // kProgress only, 0..100
  bool malformed_directive = false;  // kLog only: looked like a directive but was not valid
};

// Classifies one line (without its '\n'). Never fails.
OutputLine ParseOutputLine(Stream stream, std::string_view line,
                           std::size_t max_result_depth = kMaxResultDepth);

}  // namespace jobtape::exec
