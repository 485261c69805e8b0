#include "client/sse_parser.hpp"

namespace jobtape::client {

void SseParser::Feed(std::string_view bytes) {
  for (char c : bytes) {
    if (skip_lf_) {
      skip_lf_ = false;
      if (c == '\n') continue;
    }
    if (c == '\r' || c == '\n') {
      skip_lf_ = c == '\r';
      if (!bom_checked_) {
        bom_checked_ = true;
        if (line_.rfind("\xEF\xBB\xBF", 0) == 0) line_.erase(0, 3);
      }
      Line(line_);
      line_.clear();
    } else {
      line_.push_back(c);
    }
  }
}

void SseParser::Line(std::string_view line) {
  if (line.empty()) {
    if (has_data_) {
      SseEvent e;
      e.id = last_event_id_;
      e.event = event_.empty() ? "message" : event_;
      e.data = std::move(data_);
      on_event_(e);
    }
    data_.clear();
    has_data_ = false;
    event_.clear();
    return;
  }
  if (line.front() == ':') {
    ++comments_;
    return;
  }
  std::string_view field = line;
  std::string_view value;
  if (std::size_t colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (has_data_) data_.push_back('\n');
    data_.append(value);
    has_data_ = true;
  } else if (field == "event") {
    event_ = std::string(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) last_event_id_ = std::string(value);
  } else if (field == "retry") {
    if (!value.empty() && value.find_first_not_of("0123456789") == std::string_view::npos &&
        value.size() <= 9) {
      retry_ = std::chrono::milliseconds(std::stoll(std::string(value)));
    }
  }
}

}  // namespace jobtape::client
