// Following a Server-Sent Events stream across reconnects: what Client::Watch
// (a job's tape) and Client::WatchBatch (a batch) share (watch.cpp).
//
// Thread-safety: used by the one thread running the watch.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string_view>

#include "client/client.hpp"
#include "client/http_transport.hpp"
#include "client/sse_parser.hpp"

namespace jobtape::client {

// One connection's end.
struct StreamRound {
  HttpReply reply;
  Status transport;     // HttpTransport::Stream's status
  Status stream_error;  // an `event: error`, or what on_data refused
  bool shutdown = false;
  std::optional<std::chrono::milliseconds> retry;  // the server's retry hint
  // The stream simply ended: no error reply, stream error, transport error
  // or shutdown notice.
  bool Clean() const;
  // Why a round that did not finish ended: the reply's error, the stream's,
  // the transport's, a shutdown notice, else (Clean()) `clean_end`.
  Status Why(std::string_view clean_end) const;
};

// Streams `request` until it ends, `done` turns true, a `shutdown` or `error`
// event arrives, or `on_data` (given every other event) returns an error.
StreamRound FollowOnce(HttpTransport& transport, const HttpRequest& request,
                       std::chrono::milliseconds idle_timeout,
                       const std::function<Status(const SseEvent&)>& on_data, const bool& done);

// The reconnect policy of WatchOptions: gives up at once on a permanent error
// and after max_failures rounds without progress; otherwise waits the backoff
// (or the server's retry hint) and tells on_reconnect.
class Reconnects {
 public:
  explicit Reconnects(const WatchOptions& options) : options_(options) {}
  // OK: waited, connect again. Otherwise the status to return.
  Status After(const Status& why, bool progressed, const StreamRound& round,
               HttpTransport& transport);

 private:
  const WatchOptions& options_;
  int failures_ = 0;
};

}  // namespace jobtape::client
