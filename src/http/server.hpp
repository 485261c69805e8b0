// HttpServer: HTTP/1.1 on Boost.Beast with C++20 coroutines.
//
// N I/O threads run one io_context. Each connection is a coroutine on its own
// strand: it reads a request, awaits the Handler, writes the response, and
// repeats while keep-alive holds. Defences against slow or greedy clients:
//   - header_timeout: from the first byte of a request (and from accept for the
//     first request) until its headers are complete; a client trickling one
//     byte at a time is closed when it runs out;
//   - idle_timeout: a keep-alive connection waiting for its next request;
//   - body_timeout, write_timeout: reading a body, writing a response;
//   - max_header_bytes (431), max_body_bytes (413, checked against
//     Content-Length before any body byte is read), both closing the connection;
//   - max_connections: beyond it a new connection is answered 503 JSON and
//     closed (or just closed, while many such answers are in flight).
// A handler that throws gets a JSON 500 carrying the request id; the exception
// is reported through on_internal_error. A handler may answer with a streamed
// body (Response::stream, e.g. SSE) or accept a WebSocket upgrade
// (Response::websocket, websocket.cpp); either ends the connection when done.
// While a handler runs, Request::client lets it notice the client leaving.
//
// Stop() is graceful: it stops accepting, closes idle keep-alive connections,
// lets requests in flight finish (their responses say Connection: close), and
// after shutdown_timeout cancels what is left: coroutines awaiting the store
// (AwaitStore) resume with kUnavailable and sockets are closed.
//
// Thread-safety: Start, Stop and the destructor must be called from one
// thread that is not an I/O thread of this server. port() and Stats() are
// safe from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.hpp"
#include "http/http_limits.hpp"
#include "http/request.hpp"

namespace jobtape::http {

inline constexpr std::string_view kDefaultAddress = "127.0.0.1";
inline constexpr uint16_t kDefaultPort = 7420;
// The development machine's core count. Handlers never block, so more
// threads than cores only add contention.
inline constexpr int kDefaultIoThreads = 2;
// The 10,000-watcher SSE target plus room for API clients (the process needs
// an open-file limit above this).
inline constexpr std::size_t kDefaultMaxConnections = 16'384;
// Headers arrive in one packet from any real client; 10 s forgives a slow network.
inline constexpr std::chrono::milliseconds kDefaultHeaderTimeout = std::chrono::seconds(10);
// Longer than common client pool idle times (e.g. 30-60 s) so the client,
// not the server, usually closes an idle connection and never races a request.
inline constexpr std::chrono::milliseconds kDefaultIdleTimeout = std::chrono::seconds(75);
// 1 MiB at a modest 35 KB/s.
inline constexpr std::chrono::milliseconds kDefaultBodyTimeout = std::chrono::seconds(30);
inline constexpr std::chrono::milliseconds kDefaultWriteTimeout = std::chrono::seconds(30);
inline constexpr std::chrono::milliseconds kDefaultShutdownTimeout = std::chrono::seconds(10);

struct HttpServerOptions {
  std::string address = std::string(kDefaultAddress);
  uint16_t port = kDefaultPort;  // 0: any free port (see port())
  int io_threads = kDefaultIoThreads;
  std::size_t max_connections = kDefaultMaxConnections;
  std::chrono::milliseconds header_timeout = kDefaultHeaderTimeout;
  std::chrono::milliseconds idle_timeout = kDefaultIdleTimeout;
  std::chrono::milliseconds body_timeout = kDefaultBodyTimeout;
  std::chrono::milliseconds write_timeout = kDefaultWriteTimeout;
  std::chrono::milliseconds shutdown_timeout = kDefaultShutdownTimeout;
  HttpLimits limits;
  // Called (on an I/O thread) when a handler throws; default: one line on stderr.
  std::function<void(std::string_view request_id, std::string_view what)> on_internal_error;
  // Test signal: Stop() has stopped accepting and starts waiting for requests
  // in flight (called on the thread calling Stop).
  std::function<void()> on_draining;
};

struct HttpServerStats {
  uint64_t connections_accepted = 0;
  uint64_t connections_rejected = 0;  // over max_connections
  uint64_t open_connections = 0;
  uint64_t requests = 0;  // responses written or attempted
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, Handler handler);
  ~HttpServer();  // Stop()s if needed
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the I/O threads. Errors: kInvalidArgument for an
  // unparsable address, kUnavailable if the address cannot be bound (in use,
  // not local), kFailedPrecondition if already started.
  Status Start();
  // The bound port (useful with port 0); 0 before Start.
  uint16_t port() const;
  // Graceful stop as described above; returns when every connection is gone
  // or, past the deadline, has been cancelled; joins the I/O threads.
  // Idempotent. Store completions still pending afterwards are discarded when
  // the server is destroyed, so destroy it only after the store has delivered
  // (or dropped) every completion it holds.
  void Stop();

  HttpServerStats Stats() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace jobtape::http
