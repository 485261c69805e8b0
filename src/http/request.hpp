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

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  HeaderList headers;  // extra headers; Content-Length and Connection are set by the server
  std::string body;
  BodyStreamer stream;  // set: `body` is ignored and the body is streamed until it returns

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
