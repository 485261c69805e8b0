// OutputLimiter: caps what one attempt's output may put on the tape, so a
// chatty or runaway command cannot flood the store or the watchers.
//
// Three caps, checked per line in this order:
//   1. total bytes: once the attempt has written `max_total_bytes` of kept
//      text, every further line is dropped (a line that does not fit whole is
//      dropped, not cut);
//   2. line rate: a token bucket of `burst_lines` tokens refilled at
//      `lines_per_second`, on the injected Clock; a line without a token is
//      dropped;
//   3. line length: a line longer than `max_line_bytes` is kept, cut to that
//      length (at a UTF-8 character boundary).
//
// A *cap hit* is a run of consecutive lines affected by the same cap. Each hit
// yields exactly one TruncationNotice, with the number of lines and bytes it
// dropped or cut, when the run ends: attached to the next Admission that keeps
// a line unaffected by that cap (to be written before that line), or returned
// by Finish() at the end of the attempt. The caller writes each notice as one
// event. So the tape says "523 lines dropped (rate limit)" once, in place,
// instead of once per dropped line. The total-bytes cap never recovers, so its
// notice comes from Finish().
//
// Thread-safety: none. One limiter per attempt, used by one thread at a time
// (the process runner's callbacks all run on its supervisor thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/clock.hpp"

namespace jobtape::exec {

// A sustained 100 lines/s is far more than anyone reads on a live tape, while
// a burst of 1,000 lets a command print its start-up banner or a stack trace
// in full.
inline constexpr double kDefaultLinesPerSecond = 100.0;
inline constexpr std::size_t kDefaultBurstLines = 1000;
// 10 MiB of log per attempt: generous for humans, bounded for the store.
inline constexpr std::size_t kDefaultMaxOutputBytes = 10 * 1024 * 1024;
// 16 KiB per log line; well below the 64 KiB event limit (kDefaultMaxEventBytes)
// so a notice or JSON framing never pushes a line over it.
inline constexpr std::size_t kDefaultMaxLineBytes = 16 * 1024;

struct OutputLimits {
  double lines_per_second = kDefaultLinesPerSecond;  // > 0
  std::size_t burst_lines = kDefaultBurstLines;      // >= 1
  std::size_t max_total_bytes = kDefaultMaxOutputBytes;
  std::size_t max_line_bytes = kDefaultMaxLineBytes;  // >= 4 (one UTF-8 character)
};

enum class OutputCap : uint8_t { kLineRate, kTotalBytes, kLineLength };

// "line_rate" / "total_bytes" / "line_length".
std::string_view OutputCapName(OutputCap cap);

struct TruncationNotice {
  OutputCap cap;
  uint64_t lines = 0;  // lines dropped (kLineRate, kTotalBytes) or cut (kLineLength)
  uint64_t bytes = 0;  // bytes dropped or cut off
};

struct Admission {
  bool keep = false;       // write `text` as the line's event
  std::string_view text;   // the kept part: a prefix of the input line
  bool truncated = false;  // `text` is shorter than the input line
  // Notices of cap hits that ended with this line; write them before `text`.
  std::vector<TruncationNotice> notices;
};

class OutputLimiter {
 public:
  explicit OutputLimiter(Clock& clock, OutputLimits limits = {});

  // Decides the fate of one line (without its '\n'). `cut_upstream` says the
  // line already lost bytes before it got here (the process runner cuts lines
  // at its own buffer cap); such a line counts as a kLineLength hit.
  Admission Admit(std::string_view line, bool cut_upstream = false);

  // Ends the attempt: notices for every cap hit still in progress. Call once.
  std::vector<TruncationNotice> Finish();

  // Bytes kept so far.
  std::size_t total_bytes() const { return total_bytes_; }

 private:
  struct Run {
    uint64_t lines = 0;
    uint64_t bytes = 0;
    bool active() const { return lines > 0; }
  };
  bool TakeToken();
  static void Close(OutputCap cap, Run& run, std::vector<TruncationNotice>& out);

  Clock& clock_;
  const OutputLimits limits_;
  double tokens_;
  TimePoint last_refill_;
  std::size_t total_bytes_ = 0;
  Run rate_run_, total_run_, length_run_;
};

}  // namespace jobtape::exec
