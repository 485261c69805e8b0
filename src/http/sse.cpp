#include "http/sse.hpp"

#include <charconv>

namespace jobtape::http {
namespace {

void AppendField(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out += ": ";
  for (char c : value) {
    if (c != '\n' && c != '\r' && c != '\0') out.push_back(c);
  }
  out.push_back('\n');
}

}  // namespace

void AppendSseEvent(std::string& out, std::string_view id, std::string_view event,
                    std::string_view data) {
  if (!id.empty()) AppendField(out, "id", id);
  if (!event.empty()) AppendField(out, "event", event);
  std::size_t start = 0;
  while (true) {
    std::size_t brk = data.find_first_of("\r\n", start);
    out += "data: ";
    out.append(data.substr(start, brk == std::string_view::npos ? brk : brk - start));
    out.push_back('\n');
    if (brk == std::string_view::npos) break;
    start = brk + 1;
    if (data[brk] == '\r' && start < data.size() && data[start] == '\n') ++start;
  }
  out.push_back('\n');
}

std::string FormatSseEvent(std::string_view id, std::string_view event, std::string_view data) {
  std::string out;
  out.reserve(data.size() + id.size() + event.size() + 24);
  AppendSseEvent(out, id, event, data);
  return out;
}

void AppendSseComment(std::string& out, std::string_view text) {
  std::size_t start = 0;
  while (true) {
    std::size_t brk = text.find_first_of("\r\n", start);
    out += ": ";
    out.append(text.substr(start, brk == std::string_view::npos ? brk : brk - start));
    out.push_back('\n');
    if (brk == std::string_view::npos) break;
    start = brk + 1;
    if (text[brk] == '\r' && start < text.size() && text[start] == '\n') ++start;
  }
  out.push_back('\n');
}

void AppendSseRetry(std::string& out, std::chrono::milliseconds delay) {
  out += "retry: ";
  out += std::to_string(delay.count() < 0 ? 0 : delay.count());
  out += "\n\n";
}

std::optional<Seq> ParseLastEventId(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
    value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
    value.remove_suffix(1);
  if (value.empty() || value.front() == '-' || value.front() == '+') return std::nullopt;
  Seq seq = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seq);
  if (ec != std::errc() || ptr != value.data() + value.size()) return std::nullopt;
  return seq;
}

Response SseResponse(BodyStreamer streamer) {
  Response r;
  r.status = 200;
  r.content_type = std::string(kSseContentType);
  r.SetHeader("Cache-Control", "no-cache");
  r.SetHeader("X-Accel-Buffering", "no");
  r.stream = std::move(streamer);
  return r;
}

}  // namespace jobtape::http
