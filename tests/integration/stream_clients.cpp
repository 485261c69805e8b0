#include "stream_clients.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket.hpp>

namespace jobtape::integration {

// ---- SseClient ----

SseClient::SseClient(uint16_t port, std::chrono::milliseconds guard, int rcvbuf) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return;
  if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(guard.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((guard.count() % 1000) * 1000);
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) Close();
}

SseClient::~SseClient() {
  Close();
}

void SseClient::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool SseClient::Fill() {
  if (fd_ < 0) return false;
  char chunk[16384];
  while (true) {
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n > 0) {
      buf_.append(chunk, static_cast<std::size_t>(n));
      return true;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      timed_out_ = true;
    } else {
      ended_ = true;
    }
    return false;
  }
}

bool SseClient::Open(const std::string& target,
                     const std::vector<std::pair<std::string, std::string>>& headers) {
  if (fd_ < 0) return false;
  std::string request =
      "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n";
  for (const auto& [k, v] : headers)
    request += k + ": " + v + "\r\n";
  request += "\r\n";
  if (::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    return false;
  }
  std::size_t end;
  while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
    if (!Fill()) return false;
  }
  head_ = buf_.substr(0, end);
  buf_.erase(0, end + 4);
  if (head_.size() < 12) return false;
  status_ = std::atoi(head_.c_str() + 9);
  return true;
}

std::optional<SseEvent> SseClient::Next() {
  while (true) {
    std::size_t end;
    while ((end = buf_.find("\n\n")) == std::string::npos) {
      if (!Fill()) return std::nullopt;
    }
    std::string block = buf_.substr(0, end + 1);
    buf_.erase(0, end + 2);
    SseEvent e;
    bool any = false;
    std::size_t pos = 0;
    while (pos < block.size()) {
      std::size_t nl = block.find('\n', pos);
      std::string line = block.substr(pos, nl - pos);
      pos = nl + 1;
      if (line.empty()) continue;
      if (line[0] == ':') {
        ++comments_;
        continue;
      }
      std::size_t colon = line.find(':');
      std::string field = line.substr(0, colon);
      std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
      if (!value.empty() && value[0] == ' ') value.erase(0, 1);
      if (field == "id") {
        e.id = value;
      } else if (field == "event") {
        e.event = value;
        any = true;
      } else if (field == "data") {
        e.data += (e.data.empty() ? "" : "\n") + value;
        any = true;
      }
    }
    if (any) return e;
  }
}

bool SseClient::WaitForComments(int n) {
  while (comments_ < n) {
    std::size_t end;
    while ((end = buf_.find("\n\n")) == std::string::npos) {
      if (!Fill()) return false;
    }
    std::string block = buf_.substr(0, end);
    buf_.erase(0, end + 2);
    if (!block.empty() && block[0] == ':') ++comments_;
  }
  return true;
}

// ---- WsClient ----

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;

struct WsClient::Impl {
  Impl(uint16_t p, std::chrono::milliseconds g) : port(p), guard(g), ws(ioc) {}
  // Runs the io_context until `done` or the guard.
  template <typename F>
  boost::system::error_code Run(F start) {
    boost::system::error_code result = asio::error::would_block;
    start(result);
    ioc.restart();
    ioc.run_for(guard);
    if (result == asio::error::would_block) {
      beast::get_lowest_layer(ws).cancel();
      ioc.restart();
      ioc.run();
      result = asio::error::timed_out;
    }
    return result;
  }
  uint16_t port;
  std::chrono::milliseconds guard;
  asio::io_context ioc;
  websocket::stream<beast::tcp_stream> ws;
  beast::flat_buffer buffer;
};

WsClient::WsClient(uint16_t port, std::chrono::milliseconds guard)
    : impl_(std::make_unique<Impl>(port, guard)) {}

WsClient::~WsClient() = default;

bool WsClient::Connect(const std::string& target,
                       const std::vector<std::pair<std::string, std::string>>& headers) {
  Impl& m = *impl_;
  asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), m.port);
  auto ec = m.Run([&](boost::system::error_code& r) {
    beast::get_lowest_layer(m.ws).async_connect(ep, [&r](boost::system::error_code e) { r = e; });
  });
  if (ec) return false;
  m.ws.set_option(websocket::stream_base::decorator([headers](websocket::request_type& req) {
    for (const auto& [k, v] : headers)
      req.set(k, v);
  }));
  ec = m.Run([&](boost::system::error_code& r) {
    m.ws.async_handshake("127.0.0.1", target, [&r](boost::system::error_code e) { r = e; });
  });
  return !ec;
}

std::optional<std::string> WsClient::Read() {
  Impl& m = *impl_;
  m.buffer.clear();
  auto ec = m.Run([&](boost::system::error_code& r) {
    m.ws.async_read(m.buffer, [&r](boost::system::error_code e, std::size_t) { r = e; });
  });
  if (ec) {
    if (ec == websocket::error::closed) close_code_ = m.ws.reason().code;
    return std::nullopt;
  }
  return beast::buffers_to_string(m.buffer.data());
}

}  // namespace jobtape::integration
