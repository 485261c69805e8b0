// A minimal HTTP/1.1 client over Beast for the server tests. Every operation
// is bounded by a guard timeout, so a server bug fails the test instead of
// hanging it; nothing here sleeps.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/json/value.hpp>

namespace jobtape::http::testing {

struct Reply {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool keep_alive = false;
  std::string Header(std::string_view name) const;  // "" if absent
  boost::json::value BodyJson() const;              // null if the body is not JSON
};

class TestClient {
 public:
  explicit TestClient(uint16_t port, std::chrono::milliseconds guard = std::chrono::seconds(10));
  bool connected() const { return connected_; }

  // Sends a request and reads the reply; nullopt if either fails.
  std::optional<Reply> Send(std::string method, std::string target, std::string body = {},
                            std::vector<std::pair<std::string, std::string>> headers = {});
  bool WriteRaw(std::string_view bytes);
  std::optional<Reply> ReadReply();
  // True once the server has closed the connection (EOF or reset); false if
  // the guard ran out first or data arrived.
  bool WaitForClose();

 private:
  boost::asio::io_context ioc_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::chrono::milliseconds guard_;
  bool connected_ = false;
};

}  // namespace jobtape::http::testing
