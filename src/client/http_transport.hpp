// HttpTransport: one synchronous HTTP/1.1 connection to the server, reused
// across requests (keep-alive), over Boost.Beast (kept inside the .cpp).
//
// Each call runs the transport's private io_context until its operation is
// done, bounded by a deadline, so nothing can hang forever. A keep-alive
// connection the server closed while idle is noticed before writing and
// replaced; if the server closes it in the instant a request is being sent
// (no byte of a response arrived), the request is sent once more on a new
// connection when HttpRequest::replayable says that is safe.
//
// Stream() reads a response body incrementally (Server-Sent Events), whether
// chunked or delimited by the connection closing; it never reuses the
// connection afterwards.
//
// Thread-safety: one thread at a time uses a transport, except Interrupt(),
// which any thread may call at any time.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client/options.hpp"
#include "core/status.hpp"

namespace jobtape::client {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  std::string target;  // origin form: "/v1/jobs?limit=5"
  std::string body;    // sent as application/json when non-empty
  Headers headers;     // extra headers
  // Zero: the transport's request_timeout. Long polls pass their wait plus margin.
  std::chrono::milliseconds timeout{0};
  // Safe to send twice (GET, or a POST the server deduplicates).
  bool replayable = false;
};

struct HttpReply {
  int status = 0;
  Headers headers;
  std::string body;
  // First header named `name` (case-insensitive), or "".
  std::string Header(std::string_view name) const;
};

class HttpTransport {
 public:
  explicit HttpTransport(ClientOptions options);
  ~HttpTransport();
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  // Sends a request and reads the whole reply, whatever its status. Errors
  // (kUnavailable): cannot connect, the connection broke, the deadline
  // passed, or Interrupt() was called. The Authorization, Host, User-Agent and
  // Content-Type headers are added here.
  Result<HttpReply> RoundTrip(const HttpRequest& request);

  // Sends a request and streams the reply's body: `on_data` gets each piece
  // as it arrives until the body ends (returns OK), `on_data` returns false
  // (OK), or no byte arrives for `idle_timeout` (kUnavailable). A non-2xx
  // reply is not streamed: its whole body is returned in the reply instead.
  // The reply's status and headers are always filled when the head arrived.
  Status Stream(const HttpRequest& request, std::chrono::milliseconds idle_timeout,
                HttpReply& reply, const std::function<bool(std::string_view)>& on_data);

  // Waits `delay` (a reconnect backoff). Returns false if interrupted.
  bool Sleep(std::chrono::milliseconds delay);

  // Aborts the operation in progress and every later one with kUnavailable
  // "interrupted". Sticky; thread-safe; never blocks.
  void Interrupt();
  bool interrupted() const { return interrupted_.load(); }

  // Closes the connection (the next request opens a new one).
  void Close();

  const ClientOptions& options() const { return options_; }

  struct Impl;

 private:
  ClientOptions options_;
  std::atomic<bool> interrupted_{false};
  std::unique_ptr<Impl> impl_;
};

}  // namespace jobtape::client
