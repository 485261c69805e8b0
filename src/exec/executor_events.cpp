#include "exec/executor_events.hpp"

#include <boost/json.hpp>
#include <string>

namespace jobtape::exec {

NewEvent ProgressEvent(int percent, std::string_view message) {
  boost::json::object o;
  o["percent"] = percent;
  o["message"] = message;
  return {EventType::kProgress, boost::json::serialize(o)};
}

NewEvent LogEvent(Stream stream, std::string_view line, bool truncated, bool malformed_directive) {
  boost::json::object o;
  o["stream"] = StreamName(stream);
  o["line"] = line;
  if (truncated) o["truncated"] = true;
  if (malformed_directive) o["malformed_directive"] = true;
  return {EventType::kLog, boost::json::serialize(o)};
}

NewEvent TruncationEvent(const TruncationNotice& notice) {
  const std::string_view cap = OutputCapName(notice.cap);
  const std::string verb = notice.cap == OutputCap::kLineLength ? "cut" : "dropped";
  boost::json::object o;
  o["stream"] = "jobtape";
  o["line"] = "output capped: " + std::to_string(notice.lines) + " line(s) " + verb + " (" +
              std::to_string(notice.bytes) + " bytes): " + std::string(cap);
  o["cap"] = cap;
  o["lines"] = notice.lines;
  o["bytes"] = notice.bytes;
  return {EventType::kLog, boost::json::serialize(o)};
}

std::optional<Duration> CancelRequestGrace(const Event& event) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(event.data, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const boost::json::value* ms = v.as_object().if_contains("grace_ms");
  if (ms == nullptr || !ms->is_int64() || ms->as_int64() < 0) return std::nullopt;
  return std::chrono::milliseconds(ms->as_int64());
}

}  // namespace jobtape::exec
