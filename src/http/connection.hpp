// Internal to the server: the state shared by the acceptor and the
// connections, and one connection's coroutine (read, dispatch, write, repeat).
// The only header besides the .cpp files that includes Beast; include it from
// server.cpp and connection.cpp only.
//
// Thread-safety: ServerState's atomics and mutex-guarded members may be used
// from any thread; a Connection's members only on its strand.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "http/request.hpp"
#include "http/server.hpp"

namespace jobtape::http::detail {

class Connection;

struct ServerState {
  ServerState(HttpServerOptions opts, Handler h);

  const HttpServerOptions options;
  const Handler handler;
  const std::string request_id_prefix;  // random per server, so ids differ across restarts

  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> next_request{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> rejected{0};
  std::atomic<uint64_t> open{0};          // live Connection objects
  std::atomic<uint64_t> rejecting{0};     // 503 answers in flight
  std::atomic<uint64_t> large_bodies{0};  // requests receiving a body above max_body_bytes

  std::mutex mu;
  std::condition_variable drained;  // notified when a connection goes away
  std::unordered_map<uint64_t, std::weak_ptr<Connection>> connections;  // GUARDED_BY(mu)

  std::string NextRequestId();
  void ReportInternalError(std::string_view request_id, std::string_view what) const;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(boost::asio::ip::tcp::socket socket, ServerState& state, uint64_t id);
  ~Connection();  // unregisters and wakes Stop()

  // The connection's coroutine; spawn it on executor() with cancellation_slot().
  static boost::asio::awaitable<void> Run(std::shared_ptr<Connection> self);

  boost::asio::any_io_executor executor() { return stream_.get_executor(); }
  boost::asio::cancellation_slot cancellation_slot() { return cancel_.slot(); }

  // On the strand, for Stop(): close the connection if it is waiting for a
  // request or streaming a body; a request in flight is left to finish.
  void CloseIfIdle();
  // On the strand: cancel whatever the coroutine awaits and close the socket.
  void Cancel();

 private:
  class StreamWriter;
  class Link;

  boost::asio::awaitable<void> Serve();
  boost::asio::awaitable<Response> Invoke(Request& request);
  // Answers a failed read (413, 431, 400) or says nothing (timeouts, EOF).
  boost::asio::awaitable<void> AnswerReadError(boost::system::error_code ec, unsigned version);
  // Answers `status` (its HTTP status; 431 when `headers_too_large`) and
  // closes the connection, draining briefly what the client still sends.
  boost::asio::awaitable<void> AnswerAndClose(const Status& status, unsigned version,
                                              bool headers_too_large = false);
  boost::asio::awaitable<bool> WriteResponse(Response& response, const std::string& request_id,
                                             unsigned version, bool keep_alive);
  boost::asio::awaitable<void> StreamResponse(Response& response, const std::string& request_id,
                                              unsigned version);
  boost::asio::awaitable<void> UpgradeToWebSocket(
      Response& response, const boost::beast::http::request<boost::beast::http::string_body>& req,
      const std::string& request_id);
  // Runs `body` (a streamed body or a WebSocket session) to its end with the
  // connection marked streaming, reports what it throws as an internal error
  // (an aborted operation is the server stopping, not an error), then closes
  // the connection.
  boost::asio::awaitable<void> RunStreaming(std::function<boost::asio::awaitable<void>()> body,
                                            const std::string& request_id);
  void CloseSocket();
  // The body limit of a request with this header: HttpLimits::max_body_bytes,
  // or max_large_body_bytes for a POST to one of its large_body_paths.
  std::size_t BodyLimitFor(
      const boost::beast::http::request<boost::beast::http::string_body>& header) const;

  ServerState& state_;
  const uint64_t id_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;  // bytes read but not yet parsed
  std::string remote_address_;
  boost::asio::cancellation_signal cancel_;
  bool idle_ = false;           // waiting for the first byte of a request
  bool streaming_ = false;      // writing a streamed body
  std::size_t body_limit_ = 0;  // of the request being read
};

// Runs `session` on an accepted WebSocket upgrade of `stream` (websocket.cpp).
// Returns when the session has returned and the WebSocket is closed.
boost::asio::awaitable<void> RunWebSocket(
    boost::beast::tcp_stream& stream,
    const boost::beast::http::request<boost::beast::http::string_body>& upgrade,
    const WebSocketSession& session, ServerState& state, const std::string& request_id);

// Answers 503 to a connection over the cap, then closes it.
boost::asio::awaitable<void> RejectConnection(boost::asio::ip::tcp::socket socket,
                                              ServerState& state);

}  // namespace jobtape::http::detail
