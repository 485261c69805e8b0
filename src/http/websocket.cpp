// The WebSocket side of a connection (RFC 6455 over Beast): accept the
// upgrade, then run the handler's session alongside a read loop.
//
// The read loop discards what the client sends but must always be pending:
// Beast answers pings and close frames, and sends its own keep-alive pings,
// only while a read is in progress. With keep-alive pings on, a client that
// answers nothing for idle_timeout (gone, or stalled so that its TCP window
// stays full) fails the read, which marks the writer closed so the session
// ends even while it is waiting for something to send.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "http/connection.hpp"

namespace jobtape::http::detail {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using boost::system::error_code;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
// Clients of the tape streams send nothing but control frames; a small cap
// keeps a misbehaving one from making the server buffer much.
constexpr std::size_t kMaxIncomingMessage = 64 * 1024;
// Opening and closing handshakes; a peer that does not answer a close in this
// time is dropped.
constexpr std::chrono::seconds kHandshakeTimeout(10);

using WsStream = websocket::stream<beast::tcp_stream&>;

class WsWriter final : public MessageWriter {
 public:
  WsWriter(WsStream& ws, ServerState& state) : ws_(ws), state_(state) {}

  asio::awaitable<bool> Send(std::string_view text) override {
    if (closed_) co_return false;
    ws_.text(true);
    auto [ec, n] = co_await ws_.async_write(asio::buffer(text.data(), text.size()), kTuple);
    if (ec) closed_ = true;
    co_return !ec;
  }
  bool closed() const override { return closed_; }
  bool stopping() const override { return state_.stopping.load(); }
  void SetCloseCode(uint16_t code, std::string reason) override {
    close_.code = code;
    close_.reason = std::move(reason);
  }

  void MarkClosed() { closed_ = true; }
  const websocket::close_reason& close_reason() const { return close_; }

 private:
  WsStream& ws_;
  ServerState& state_;
  bool closed_ = false;  // on the connection's strand only
  websocket::close_reason close_{websocket::close_code::normal};
};

asio::awaitable<void> ReadLoop(WsStream& ws, WsWriter& writer) {
  beast::flat_buffer sink;
  while (true) {
    auto [ec, n] = co_await ws.async_read(sink, kTuple);
    if (ec) break;
    sink.consume(sink.size());
  }
  writer.MarkClosed();
}

asio::awaitable<void> SessionThenClose(WsStream& ws, WsWriter& writer,
                                       const WebSocketSession& session, ServerState& state,
                                       const std::string& request_id) {
  try {
    co_await session(writer);
  } catch (const boost::system::system_error& e) {
    if (e.code() != asio::error::operation_aborted) state.ReportInternalError(request_id, e.what());
    writer.SetCloseCode(websocket::close_code::internal_error, "internal error");
  } catch (const std::exception& e) {
    state.ReportInternalError(request_id, e.what());
    writer.SetCloseCode(websocket::close_code::internal_error, "internal error");
  }
  if (!writer.closed()) {
    // The peer's answering close frame ends the read loop.
    co_await ws.async_close(writer.close_reason(), kTuple);
  }
}

}  // namespace

asio::awaitable<void> RunWebSocket(beast::tcp_stream& stream,
                                   const beast::http::request<beast::http::string_body>& upgrade,
                                   const WebSocketSession& session, ServerState& state,
                                   const std::string& request_id) {
  using asio::experimental::awaitable_operators::operator&&;
  // The WebSocket keeps its own timers; the TCP stream's would cut it off.
  stream.expires_never();
  WsStream ws(stream);
  websocket::stream_base::timeout timeout;
  timeout.handshake_timeout = kHandshakeTimeout;
  timeout.idle_timeout = state.options.write_timeout;
  timeout.keep_alive_pings = true;
  ws.set_option(timeout);
  ws.set_option(websocket::stream_base::decorator([&request_id](websocket::response_type& res) {
    res.set(beast::http::field::server, "jobtape");
    res.set("X-Request-Id", request_id);
  }));
  ws.read_message_max(kMaxIncomingMessage);
  auto [ec] = co_await ws.async_accept(upgrade, kTuple);
  if (ec) co_return;
  WsWriter writer(ws, state);
  co_await (ReadLoop(ws, writer) && SessionThenClose(ws, writer, session, state, request_id));
}

}  // namespace jobtape::http::detail
