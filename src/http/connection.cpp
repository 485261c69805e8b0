#include "http/connection.hpp"

#include <algorithm>
#include <cstdio>
#include <random>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "http/errors.hpp"

namespace jobtape::http::detail {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using boost::system::error_code;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
// Bytes asked for per read while waiting for a request.
constexpr std::size_t kReadChunk = 8 * 1024;
// A 503 to a connection over the cap, and the drain after it, are short.
constexpr std::chrono::seconds kRejectTimeout(1);
constexpr std::size_t kRejectDrainBytes = 64 * 1024;

std::string RandomPrefix() {
  std::random_device rd;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(rd()));
  return buf;
}

// A request the parser rejected, as opposed to a connection that timed out,
// closed or was reset (which get no answer).
bool IsProtocolError(const error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
         ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
}

template <class Message>
void SetCommonHeaders(Message& m, const Response& r, const std::string& request_id) {
  m.set(bhttp::field::server, "jobtape");
  m.set(bhttp::field::content_type, r.content_type);
  if (!request_id.empty()) m.set("X-Request-Id", request_id);
  for (const auto& [name, value] : r.headers)
    m.set(name, value);
}

}  // namespace

// ---- ServerState ----

ServerState::ServerState(HttpServerOptions opts, Handler h)
    : options(std::move(opts)), handler(std::move(h)), request_id_prefix(RandomPrefix()) {}

std::string ServerState::NextRequestId() {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s-%llx", request_id_prefix.c_str(),
                static_cast<unsigned long long>(next_request.fetch_add(1) + 1));
  return buf;
}

void ServerState::ReportInternalError(std::string_view request_id, std::string_view what) const {
  if (options.on_internal_error) {
    options.on_internal_error(request_id, what);
    return;
  }
  std::fprintf(stderr, "jobtape http: request %.*s failed: %.*s\n",
               static_cast<int>(request_id.size()), request_id.data(),
               static_cast<int>(what.size()), what.data());
}

// ---- Connection ----

class Connection::StreamWriter final : public BodyWriter {
 public:
  explicit StreamWriter(Connection& c) : c_(c) {}
  asio::awaitable<bool> Write(std::string_view bytes) override {
    c_.stream_.expires_after(c_.state_.options.write_timeout);
    auto [ec, n] = co_await asio::async_write(c_.stream_, asio::buffer(bytes), kTuple);
    c_.stream_.expires_never();
    co_return !ec;
  }
  bool stopping() const override { return c_.state_.stopping.load(); }

 private:
  Connection& c_;
};

class Connection::Link final : public ClientLink {
 public:
  explicit Link(Connection& c) : c_(c) {}
  asio::awaitable<void> WaitForDisconnect() override {
    // Read what the client sends (keeping it for the next request) until it
    // closes; past a request's worth of pipelined bytes, stop reading and
    // just wait to be cancelled.
    while (c_.buffer_.size() < c_.state_.options.limits.max_header_bytes) {
      auto [ec, n] =
          co_await c_.stream_.socket().async_read_some(c_.buffer_.prepare(kReadChunk), kTuple);
      if (ec) co_return;  // closed, reset or cancelled
      c_.buffer_.commit(n);
    }
    asio::steady_timer forever(c_.stream_.get_executor(),
                               std::chrono::steady_clock::time_point::max());
    co_await forever.async_wait(kTuple);
  }

 private:
  Connection& c_;
};

Connection::Connection(asio::ip::tcp::socket socket, ServerState& state, uint64_t id)
    : state_(state), id_(id), stream_(std::move(socket)) {
  error_code ec;
  auto endpoint = stream_.socket().remote_endpoint(ec);
  if (!ec) remote_address_ = endpoint.address().to_string();
}

Connection::~Connection() {
  {
    std::lock_guard<std::mutex> lock(state_.mu);
    state_.connections.erase(id_);
    state_.open.fetch_sub(1);
  }
  state_.drained.notify_all();
}

asio::awaitable<void> Connection::Run(std::shared_ptr<Connection> self) {
  co_await self->Serve();
}

void Connection::CloseSocket() {
  error_code ec;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  stream_.socket().close(ec);
}

void Connection::CloseIfIdle() {
  if (idle_ || streaming_) Cancel();
}

void Connection::Cancel() {
  cancel_.emit(asio::cancellation_type::terminal);
  CloseSocket();
}

asio::awaitable<void> Connection::Serve() {
  const HttpServerOptions& opt = state_.options;
  beast::flat_buffer& buffer = buffer_;
  bool first = true;
  while (true) {
    // Wait for the first byte of the next request: the idle phase, which
    // Stop() may cut short.
    if (buffer.size() == 0) {
      idle_ = true;
      if (state_.stopping.load()) break;
      stream_.expires_after(first ? opt.header_timeout : opt.idle_timeout);
      auto [ec, n] = co_await stream_.async_read_some(buffer.prepare(kReadChunk), kTuple);
      idle_ = false;
      if (ec) co_return;
      buffer.commit(n);
    }
    first = false;

    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(opt.limits.max_header_bytes));
    // Beast checks Content-Length against the limit as the header ends, so
    // the header is read under the largest limit of any route; the request's
    // own limit is applied once its method and target are known.
    parser.body_limit(std::max(opt.limits.max_body_bytes, opt.limits.max_large_body_bytes));
    stream_.expires_after(opt.header_timeout);
    auto [hec, hn] = co_await bhttp::async_read_header(stream_, buffer, parser, kTuple);
    body_limit_ = BodyLimitFor(parser.get());
    if (hec) {
      co_await AnswerReadError(hec, 11);
      co_return;
    }
    unsigned version = parser.get().version();
    parser.body_limit(body_limit_);
    const auto length = parser.content_length();  // boost::optional
    if (length && *length > body_limit_) {
      co_await AnswerReadError(bhttp::error::body_limit, version);
      co_return;
    }
    // A body above the ordinary limit takes one of a few server-wide slots
    // while it is read and handled (chunked bodies, of unknown size, too),
    // given back before the answer is written.
    struct LargeBodySlot {
      std::atomic<uint64_t>* count = nullptr;
      void Release() {
        if (count != nullptr) count->fetch_sub(1);
        count = nullptr;
      }
      ~LargeBodySlot() { Release(); }
    } large;
    if (body_limit_ > opt.limits.max_body_bytes && !parser.is_done() &&
        (!length || *length > opt.limits.max_body_bytes)) {
      if (state_.large_bodies.fetch_add(1) >= opt.limits.max_large_bodies_in_flight) {
        state_.large_bodies.fetch_sub(1);
        co_await AnswerAndClose(
            Status::Unavailable("too many large request bodies are being received; retry"),
            version);
        co_return;
      }
      large.count = &state_.large_bodies;
    }
    if (!parser.is_done()) {
      auto expect = parser.get()[bhttp::field::expect];
      if (EqualsIgnoreCase(std::string_view(expect.data(), expect.size()), "100-continue")) {
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        stream_.expires_after(opt.write_timeout);
        auto [wec, wn] = co_await asio::async_write(stream_, asio::buffer(kContinue), kTuple);
        if (wec) co_return;
      }
      stream_.expires_after(opt.body_timeout);
      auto [bec, bn] = co_await bhttp::async_read(stream_, buffer, parser, kTuple);
      if (bec) {
        co_await AnswerReadError(bec, version);
        co_return;
      }
    }
    stream_.expires_never();

    bhttp::request<bhttp::string_body> message = parser.release();
    Request request;
    request.request_id = state_.NextRequestId();
    request.remote_address = remote_address_;
    request.method = ParseMethod(
        std::string_view(message.method_string().data(), message.method_string().size()));
    request.headers.reserve(16);
    for (const auto& field : message) {
      request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    request.body = std::move(message.body());
    state_.requests.fetch_add(1);

    Response response;
    std::string_view target(message.target().data(), message.target().size());
    Status target_ok = ParseTarget(target, request);
    if (!target_ok.ok()) {
      response = ErrorResponse(target_ok, Phase::kDecode, request.request_id);
    } else {
      Link link(*this);
      request.client = &link;
      response = co_await Invoke(request);
      request.client = nullptr;
    }
    request.body = std::string();
    large.Release();

    if (response.websocket) {
      co_await UpgradeToWebSocket(response, message, request.request_id);
      co_return;
    }
    if (response.stream) {
      co_await StreamResponse(response, request.request_id, version);
      co_return;
    }
    bool keep_alive = message.keep_alive() && !state_.stopping.load();
    if (!co_await WriteResponse(response, request.request_id, version, keep_alive)) co_return;
    if (!keep_alive) break;
  }
  // Tell the client we are done, without discarding what it may still read.
  error_code ec;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
}

asio::awaitable<Response> Connection::Invoke(Request& request) {
  // The handler boundary: nothing thrown by a handler escapes as anything but a 500.
  try {
    co_return co_await state_.handler(request);
  } catch (const boost::system::system_error& e) {
    if (e.code() != asio::error::operation_aborted || !state_.stopping.load()) {
      state_.ReportInternalError(request.request_id, e.what());
    }
  } catch (const std::exception& e) {
    state_.ReportInternalError(request.request_id, e.what());
  } catch (...) {
    state_.ReportInternalError(request.request_id, "unknown exception");
  }
  co_return InternalErrorResponse(request.request_id);
}

std::size_t Connection::BodyLimitFor(const bhttp::request<bhttp::string_body>& header) const {
  const HttpLimits& limits = state_.options.limits;
  if (header.method() != bhttp::verb::post || limits.large_body_paths.empty()) {
    return limits.max_body_bytes;
  }
  std::string_view target(header.target().data(), header.target().size());
  target = target.substr(0, target.find('?'));
  for (const std::string& path : limits.large_body_paths) {
    if (target == path) return std::max(limits.max_body_bytes, limits.max_large_body_bytes);
  }
  return limits.max_body_bytes;
}

asio::awaitable<void> Connection::AnswerReadError(error_code ec, unsigned version) {
  Status status;
  if (ec == bhttp::error::body_limit) {
    status = Status::PayloadTooLarge("request body larger than " + std::to_string(body_limit_) +
                                     " bytes");
  } else if (ec == bhttp::error::header_limit) {
    status = Status::PayloadTooLarge("request headers larger than " +
                                         std::to_string(state_.options.limits.max_header_bytes) +
                                         " bytes",
                                     "headers");
  } else if (IsProtocolError(ec)) {
    status = Status::InvalidArgument("malformed HTTP request: " + ec.message());
  } else {
    co_return;
  }
  co_await AnswerAndClose(status, version, ec == bhttp::error::header_limit);
}

asio::awaitable<void> Connection::AnswerAndClose(const Status& status, unsigned version,
                                                 bool headers_too_large) {
  std::string request_id = state_.NextRequestId();
  Response response = ErrorResponse(status, Phase::kDecode, request_id);
  if (headers_too_large) response.status = 431;
  if (status.code() == ErrorCode::kUnavailable) response.SetHeader("Retry-After", "1");
  state_.requests.fetch_add(1);
  co_await WriteResponse(response, request_id, version, /*keep_alive=*/false);
  // The unread rest of the request would turn our close into a reset that
  // can destroy the answer before the client reads it: drain briefly first.
  error_code sec;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, sec);
  std::size_t drained = 0;
  char sink[4096];
  stream_.expires_after(kRejectTimeout);
  while (drained < kRejectDrainBytes) {
    auto [rec, n] = co_await stream_.async_read_some(asio::buffer(sink), kTuple);
    if (rec) break;
    drained += n;
  }
}

asio::awaitable<bool> Connection::WriteResponse(Response& response, const std::string& request_id,
                                                unsigned version, bool keep_alive) {
  bhttp::response<bhttp::string_body> out;
  out.version(version);
  out.result(static_cast<unsigned>(response.status));
  SetCommonHeaders(out, response, request_id);
  out.body() = std::move(response.body);
  out.keep_alive(keep_alive);
  out.prepare_payload();
  stream_.expires_after(state_.options.write_timeout);
  auto [ec, n] = co_await bhttp::async_write(stream_, out, kTuple);
  stream_.expires_never();
  co_return !ec;
}

asio::awaitable<void> Connection::StreamResponse(Response& response, const std::string& request_id,
                                                 unsigned version) {
  // A streamed body ends when the connection closes: no length, no keep-alive.
  bhttp::response<bhttp::empty_body> head;
  head.version(version);
  head.result(static_cast<unsigned>(response.status));
  SetCommonHeaders(head, response, request_id);
  head.keep_alive(false);
  bhttp::response_serializer<bhttp::empty_body> serializer(head);
  stream_.expires_after(state_.options.write_timeout);
  auto [ec, n] = co_await bhttp::async_write_header(stream_, serializer, kTuple);
  stream_.expires_never();
  if (ec) co_return;
  StreamWriter writer(*this);
  co_await RunStreaming([&] { return response.stream(writer); }, request_id);
}

asio::awaitable<void> Connection::UpgradeToWebSocket(Response& response,
                                                     const bhttp::request<bhttp::string_body>& req,
                                                     const std::string& request_id) {
  if (!beast::websocket::is_upgrade(req)) {
    Response refusal =
        ErrorResponse(Status::InvalidArgument("this route needs a WebSocket upgrade request "
                                              "(Connection: Upgrade, Upgrade: websocket)"),
                      Phase::kDecode, request_id);
    co_await WriteResponse(refusal, request_id, req.version(), /*keep_alive=*/false);
    co_return;
  }
  co_await RunStreaming(
      [&] { return RunWebSocket(stream_, req, response.websocket, state_, request_id); },
      request_id);
}

asio::awaitable<void> Connection::RunStreaming(std::function<asio::awaitable<void>()> body,
                                               const std::string& request_id) {
  streaming_ = true;
  try {
    co_await body();
  } catch (const boost::system::system_error& e) {
    if (e.code() != asio::error::operation_aborted) {
      state_.ReportInternalError(request_id, e.what());
    }
  } catch (const std::exception& e) {
    state_.ReportInternalError(request_id, e.what());
  }
  streaming_ = false;
  CloseSocket();
}

// ---- over the cap ----

asio::awaitable<void> RejectConnection(asio::ip::tcp::socket socket, ServerState& state) {
  struct Guard {
    ServerState& s;
    ~Guard() { s.rejecting.fetch_sub(1); }
  } guard{state};
  static const std::string kAnswer = [] {
    std::string body = ErrorBody(ErrorCodeName(ErrorCode::kUnavailable),
                                 "too many connections; retry later", "", "");
    return "HTTP/1.1 503 Service Unavailable\r\nServer: jobtape\r\n"
           "Content-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\n"
           "Content-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  }();
  beast::tcp_stream stream(std::move(socket));
  stream.expires_after(kRejectTimeout);
  auto [ec, n] = co_await asio::async_write(stream, asio::buffer(kAnswer), kTuple);
  if (ec) co_return;
  error_code sec;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, sec);
  char sink[4096];
  std::size_t drained = 0;
  while (drained < kRejectDrainBytes) {
    auto [rec, rn] = co_await stream.async_read_some(asio::buffer(sink), kTuple);
    if (rec) break;
    drained += rn;
  }
}

}  // namespace jobtape::http::detail
