// SseParser: the client side of Server-Sent Events framing (WHATWG HTML
// §9.2.6), fed with arbitrary pieces of the byte stream.
//
// Lines end in \r\n, \n or \r (a \r at the end of one piece waits for the
// next piece to know whether a \n follows). "data" lines are joined with \n;
// a blank line dispatches the event (an event with no data line is dropped,
// as browsers do); comments (":...") and unknown fields are ignored, except
// that comments are counted so a caller can tell that keep-alives arrive.
// "id" sets the last event id (kept across events, ignored if it contains
// NUL), "retry" the reconnection delay.
//
// Thread-safety: none; one parser per stream.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace jobtape::client {

struct SseEvent {
  std::string id;     // the last event id in effect when it was dispatched
  std::string event;  // "message" when the stream named none
  std::string data;
};

class SseParser {
 public:
  using OnEvent = std::function<void(const SseEvent&)>;
  explicit SseParser(OnEvent on_event) : on_event_(std::move(on_event)) {}

  // Consumes a piece of the stream, dispatching every event it completes.
  void Feed(std::string_view bytes);

  const std::string& last_event_id() const { return last_event_id_; }
  std::optional<std::chrono::milliseconds> retry() const { return retry_; }
  uint64_t comments() const { return comments_; }

 private:
  void Line(std::string_view line);

  OnEvent on_event_;
  std::string line_;  // the incomplete line so far
  bool skip_lf_ = false;
  bool bom_checked_ = false;
  std::string data_;
  bool has_data_ = false;
  std::string event_;
  std::string last_event_id_;
  std::optional<std::chrono::milliseconds> retry_;
  uint64_t comments_ = 0;
};

}  // namespace jobtape::client
