#include "exec/output_limiter.hpp"

#include <algorithm>

namespace jobtape::exec {

namespace {

// The longest prefix of `s` of at most `max` bytes that does not end inside a
// UTF-8 multi-byte character (continuation bytes are 10xxxxxx).
std::size_t Utf8Cut(std::string_view s, std::size_t max) {
  if (s.size() <= max) return s.size();
  std::size_t cut = max;
  for (int i = 0; i < 3 && cut > 0; ++i) {
    if ((static_cast<unsigned char>(s[cut]) & 0xC0) != 0x80) break;
    --cut;
  }
  return (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80 ? max : cut;
}

}  // namespace

std::string_view OutputCapName(OutputCap cap) {
  switch (cap) {
    case OutputCap::kLineRate:
      return "line_rate";
    case OutputCap::kTotalBytes:
      return "total_bytes";
    case OutputCap::kLineLength:
      return "line_length";
  }
  return "unknown";
}

OutputLimiter::OutputLimiter(Clock& clock, OutputLimits limits)
    : clock_(clock),
      limits_(limits),
      tokens_(static_cast<double>(limits.burst_lines)),
      last_refill_(clock.Now()) {}

bool OutputLimiter::TakeToken() {
  TimePoint now = clock_.Now();
  if (now > last_refill_) {
    double secs = std::chrono::duration<double>(now - last_refill_).count();
    tokens_ = std::min(static_cast<double>(limits_.burst_lines),
                       tokens_ + secs * limits_.lines_per_second);
    last_refill_ = now;
  }
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

void OutputLimiter::Close(OutputCap cap, Run& run, std::vector<TruncationNotice>& out) {
  if (!run.active()) return;
  out.push_back({cap, run.lines, run.bytes});
  run = {};
}

Admission OutputLimiter::Admit(std::string_view line, bool cut_upstream) {
  Admission a;
  if (total_run_.active()) {  // the byte budget never comes back
    ++total_run_.lines;
    total_run_.bytes += line.size();
    return a;
  }
  if (!TakeToken()) {
    ++rate_run_.lines;
    rate_run_.bytes += line.size();
    return a;
  }
  std::size_t keep = Utf8Cut(line, limits_.max_line_bytes);
  if (total_bytes_ + keep > limits_.max_total_bytes) {
    ++total_run_.lines;
    total_run_.bytes += line.size();
    return a;
  }
  Close(OutputCap::kLineRate, rate_run_, a.notices);
  a.keep = true;
  a.text = line.substr(0, keep);
  a.truncated = keep < line.size() || cut_upstream;
  if (a.truncated) {
    ++length_run_.lines;
    length_run_.bytes += line.size() - keep;
  } else {
    Close(OutputCap::kLineLength, length_run_, a.notices);
  }
  total_bytes_ += keep;
  return a;
}

std::vector<TruncationNotice> OutputLimiter::Finish() {
  std::vector<TruncationNotice> out;
  Close(OutputCap::kLineRate, rate_run_, out);
  Close(OutputCap::kLineLength, length_run_, out);
  Close(OutputCap::kTotalBytes, total_run_, out);
  return out;
}

}  // namespace jobtape::exec
