// The HTTP layer's own request and response types, and the Handler signature.
//
// Beast stays inside the server's implementation files: handlers, the router
// and their tests see only these types (plus Asio's awaitable, the coroutine
// type every handler returns).
//
// Thread-safety: plain value types. A Request is owned by one connection's
// coroutine while its handler runs.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "core/status.hpp"
#include "http/auth.hpp"

namespace jobtape::http {

enum class Method : uint8_t { kGet, kHead, kPost, kPut, kPatch, kDelete, kOptions, kOther };

std::string_view MethodName(Method m);
// Case-sensitive, as HTTP methods are. Unknown names give kOther.
Method ParseMethod(std::string_view name);

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// The client side of a request's connection, for handlers that wait a long
// time (long-poll claims) and must notice when their client goes away.
class ClientLink {
 public:
  virtual ~ClientLink() = default;
  // Completes when the client closes or resets the connection. Bytes it sends
  // meanwhile (a pipelined request) are kept for the next request. Never
  // completes while the client stays connected: race it against the real work
  // (asio's awaitable operator ||), which cancels it.
  virtual boost::asio::awaitable<void> WaitForDisconnect() = 0;
};

struct Request {
  Method method = Method::kGet;
  std::string target;                                       // as received: "/v1/jobs?limit=5"
  std::string path;                                         // percent-encoded path: "/v1/jobs"
  std::vector<std::string> segments;                        // decoded path segments: {"v1", "jobs"}
  std::vector<std::pair<std::string, std::string>> query;   // decoded, in order
  std::vector<std::pair<std::string, std::string>> params;  // path parameters, set by the router
  HeaderList headers;                                       // names as received
  std::string body;
  std::string request_id;  // set by the server; echoed as X-Request-Id
  std::string remote_address;
  std::optional<Principal> principal;  // set by the router after authentication
  // The pattern of the route that matched ("/v1/jobs/{id}"), set by the
  // router (it points into the router's table, which outlives requests);
  // empty when no route matched. A low-cardinality label for metrics.
  std::string_view route;
  ClientLink* client = nullptr;  // set by the server while the handler runs

  // First header named `name` (case-insensitive), or nullopt.
  std::optional<std::string_view> Header(std::string_view name) const;
  // First query parameter named `name`, or nullopt.
  std::optional<std::string_view> Query(std::string_view name) const;
  // Path parameter `name` from the route pattern; empty if there is none.
  std::string_view Param(std::string_view name) const;
};

// Parses an origin-form request target ("/path?query") into path, segments
// and query. kInvalidArgument if it is not one.
Status ParseTarget(std::string_view target, Request& request);

// Writes a streamed body (Server-Sent Events) once the response head is out.
class BodyWriter {
 public:
  virtual ~BodyWriter() = default;
  // Sends `bytes` to the client. Returns false once the client is gone or the
  // write timed out; the streamer should then return.
  virtual boost::asio::awaitable<bool> Write(std::string_view bytes) = 0;
  // True once the server is shutting down: the streamer should finish soon.
  virtual bool stopping() const = 0;
};

// Produces a streamed body; runs on the connection's executor and may
// co_await anything (timers, subscriptions). When it returns, the server closes
// the connection.
using BodyStreamer = std::function<boost::asio::awaitable<void>(BodyWriter&)>;

// Sends WebSocket messages once a connection has been upgraded.
class MessageWriter {
 public:
  virtual ~MessageWriter() = default;
  // Sends one text message. Returns false once the client is gone, has
  // closed, or the write failed; the session should then return.
  virtual boost::asio::awaitable<bool> Send(std::string_view text) = 0;
  // True once the client has closed the connection or stopped answering pings.
  virtual bool closed() const = 0;
  // True once the server is shutting down: the session should finish soon.
  virtual bool stopping() const = 0;
  // The close code (RFC 6455 §7.4) and reason sent when the session returns;
  // default 1000 (normal closure).
  virtual void SetCloseCode(uint16_t code, std::string reason) = 0;
};

// Runs an upgraded WebSocket connection until it returns; then the server
// closes the WebSocket and the connection. Incoming messages are discarded
// (pings are answered).
using WebSocketSession = std::function<boost::asio::awaitable<void>(MessageWriter&)>;

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  HeaderList headers;  // extra headers; Content-Length and Connection are set by the server
  std::string body;
  BodyStreamer stream;  // set: `body` is ignored and the body is streamed until it returns
  // Set: the request is a WebSocket upgrade the server accepts (status,
  // headers and body are ignored) and then runs this session.
  WebSocketSession websocket;

  void SetHeader(std::string name, std::string value);
  std::optional<std::string_view> Header(std::string_view name) const;
};

// A JSON response with an already serialized body.
Response JsonResponse(int status, std::string body);

// Handlers are coroutines. They run on the connection's executor, must never
// block (co_await the store through AwaitStore), and report expected failures
// as error responses; an exception becomes a JSON 500 at the server boundary.
using Handler = std::function<boost::asio::awaitable<Response>(Request&)>;

bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace jobtape::http
