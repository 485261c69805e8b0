#include "test_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>

#include "http/request.hpp"

namespace jobtape::http::testing {
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using boost::system::error_code;

std::string Reply::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) return v;
  }
  return "";
}

boost::json::value Reply::BodyJson() const {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  return ec ? boost::json::value() : v;
}

TestClient::TestClient(uint16_t port, std::chrono::milliseconds guard)
    : stream_(ioc_), guard_(guard) {
  error_code result = asio::error::would_block;
  stream_.expires_after(guard_);
  stream_.async_connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                        [&](error_code ec) { result = ec; });
  ioc_.run();
  connected_ = !result;
}

std::optional<Reply> TestClient::Send(std::string method, std::string target, std::string body,
                                      std::vector<std::pair<std::string, std::string>> headers) {
  bhttp::request<bhttp::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  req.set(bhttp::field::host, "127.0.0.1");
  bool has_type = false;
  for (const auto& [k, v] : headers) {
    req.set(k, v);
    has_type = has_type || EqualsIgnoreCase(k, "content-type");
  }
  if (!body.empty() && !has_type) req.set(bhttp::field::content_type, "application/json");
  req.body() = std::move(body);
  req.prepare_payload();
  error_code result = asio::error::would_block;
  stream_.expires_after(guard_);
  bhttp::async_write(stream_, req, [&](error_code ec, std::size_t) { result = ec; });
  ioc_.restart();
  ioc_.run();
  if (result) return std::nullopt;
  return ReadReply();
}

bool TestClient::WriteRaw(std::string_view bytes) {
  error_code result = asio::error::would_block;
  stream_.expires_after(guard_);
  asio::async_write(stream_, asio::buffer(bytes), [&](error_code ec, std::size_t) { result = ec; });
  ioc_.restart();
  ioc_.run();
  return !result;
}

std::optional<Reply> TestClient::ReadReply() {
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  error_code result = asio::error::would_block;
  stream_.expires_after(guard_);
  bhttp::async_read(stream_, buffer_, parser, [&](error_code ec, std::size_t) { result = ec; });
  ioc_.restart();
  ioc_.run();
  if (result) return std::nullopt;
  auto& res = parser.get();
  Reply reply;
  reply.status = static_cast<int>(res.result_int());
  for (const auto& f : res)
    reply.headers.emplace_back(f.name_string(), f.value());
  reply.body = res.body();
  reply.keep_alive = res.keep_alive();
  return reply;
}

bool TestClient::WaitForClose() {
  if (buffer_.size() > 0) return false;
  char sink[4096];
  error_code result = asio::error::would_block;
  stream_.expires_after(guard_);
  stream_.async_read_some(asio::buffer(sink), [&](error_code ec, std::size_t) { result = ec; });
  ioc_.restart();
  ioc_.run();
  // Data (no error) or the guard running out (timeout) both mean "not closed".
  return result == asio::error::eof || result == asio::error::connection_reset;
}

}  // namespace jobtape::http::testing
