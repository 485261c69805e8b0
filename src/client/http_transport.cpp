#include "client/http_transport.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace jobtape::client {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

namespace {

// A whole non-streamed reply is held in memory: a page of 1,000 jobs with
// maximal payloads stays below this; anything larger is not our server.
constexpr std::size_t kMaxReplyBytes = 512u * 1024 * 1024;
// The part of an error reply to a streamed request that is kept.
constexpr std::size_t kMaxStreamErrorBytes = 1024 * 1024;
constexpr std::size_t kStreamChunk = 16 * 1024;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// Errors that mean "the server closed the connection under us".
bool IsClosedError(const error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == bhttp::error::end_of_stream ||
         ec == asio::error::connection_aborted;
}

}  // namespace

std::string HttpReply::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) return v;
  }
  return "";
}

struct HttpTransport::Impl {
  Impl(const ClientOptions& o, const std::atomic<bool>& stop)
      : options(o), interrupted(stop), stream(ioc), resolver(ioc), timer(ioc) {}

  const ClientOptions& options;
  const std::atomic<bool>& interrupted;
  asio::io_context ioc;
  beast::tcp_stream stream;
  asio::ip::tcp::resolver resolver;
  asio::steady_timer timer;
  beast::flat_buffer buffer;
  bool open = false;
  int uses = 0;  // replies completed on the current connection

  // Runs the io_context until the operation started by `start` completes.
  // Interrupt() sets the flag, then posts a cancel: a cancel that ran (and
  // found nothing to cancel) during an earlier Run is caught by the flag
  // here; one still queued runs in this Run and aborts the new operation.
  template <typename Start>
  error_code Run(Start&& start) {
    if (interrupted.load()) return asio::error::operation_aborted;
    error_code result = asio::error::would_block;
    start(result);
    ioc.restart();
    ioc.run();
    return result;
  }

  static std::chrono::milliseconds Left(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return left.count() > 0 ? left : std::chrono::milliseconds(1);
  }

  void Close() {
    error_code ec;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    stream.close();
    buffer.clear();
    open = false;
    uses = 0;
  }

  // True if the idle keep-alive connection is still usable: nothing to read
  // and no EOF pending (a server that timed it out has sent its FIN by now).
  bool StillOpen() {
    if (!open || buffer.size() > 0) return false;
    error_code ec;
    auto& socket = stream.socket();
    socket.non_blocking(true, ec);
    if (ec) return false;
    char probe;
    socket.read_some(asio::buffer(&probe, 1), ec);
    error_code restore;
    socket.non_blocking(false, restore);
    return ec == asio::error::would_block && !restore;
  }

  Status Connect(Clock::time_point deadline) {
    const BaseUrl& server = options.server;
    asio::ip::tcp::resolver::results_type endpoints;
    error_code ec = Run([&](error_code& result) {
      timer.expires_at(std::min(deadline, Clock::now() + options.connect_timeout));
      timer.async_wait([this](error_code tec) {
        if (!tec) resolver.cancel();
      });
      resolver.async_resolve(server.host, std::to_string(server.port),
                             [&](error_code rec, asio::ip::tcp::resolver::results_type r) {
                               timer.cancel();
                               result = rec;
                               endpoints = std::move(r);
                             });
    });
    if (ec) {
      return Status::Unavailable(
          "cannot resolve " + server.host + ": " +
          (ec == asio::error::operation_aborted ? "timed out or interrupted" : ec.message()));
    }
    ec = Run([&](error_code& result) {
      stream.expires_after(std::min(Left(deadline), options.connect_timeout));
      stream.async_connect(endpoints, [&](error_code cec, const auto&) { result = cec; });
    });
    if (ec) {
      Close();
      return Status::Unavailable(
          "cannot connect to " + server.ToString() + ": " +
          (ec == beast::error::timeout ? std::string("timed out") : ec.message()));
    }
    stream.socket().set_option(asio::ip::tcp::no_delay(true), ec);
    open = true;
    uses = 0;
    return Status::Ok();
  }

  bhttp::request<bhttp::string_body> MakeRequest(const HttpRequest& r) const {
    bhttp::request<bhttp::string_body> req;
    req.method_string(r.method);
    req.target(r.target);
    req.version(11);
    req.set(bhttp::field::host, options.server.HostHeader());
    req.set(bhttp::field::user_agent, options.user_agent);
    if (!options.token.empty()) req.set(bhttp::field::authorization, "Bearer " + options.token);
    if (!r.body.empty()) req.set(bhttp::field::content_type, "application/json");
    for (const auto& [k, v] : r.headers)
      req.set(k, v);
    req.body() = r.body;
    req.prepare_payload();
    req.keep_alive(true);
    return req;
  }

  static Status Broken(std::string_view what, const error_code& ec) {
    std::string why = ec == beast::error::timeout ? "timed out" : ec.message();
    return Status::Unavailable(std::string(what) + ": " + why);
  }

  static void CopyHead(const bhttp::response_header<>& head, HttpReply& reply) {
    reply.status = static_cast<int>(head.result_int());
    reply.headers.clear();
    for (const auto& f : head)
      reply.headers.emplace_back(f.name_string(), f.value());
  }

  // One attempt of RoundTrip. `retry` is set when the attempt failed in a way
  // that a fresh connection may cure (the reused connection was dead).
  Result<HttpReply> Attempt(const HttpRequest& request, Clock::time_point deadline, bool& retry) {
    retry = false;
    if (open && !StillOpen()) Close();
    if (!open) JT_RETURN_IF_ERROR(Connect(deadline));
    bool reused = uses > 0;
    auto req = MakeRequest(request);
    error_code ec = Run([&](error_code& result) {
      stream.expires_after(Left(deadline));
      bhttp::async_write(stream, req, [&](error_code wec, std::size_t) { result = wec; });
    });
    if (ec) {
      Close();
      retry = reused && IsClosedError(ec);
      return Broken("sending the request failed", ec);
    }
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(kMaxReplyBytes);
    ec = Run([&](error_code& result) {
      stream.expires_after(Left(deadline));
      bhttp::async_read(stream, buffer, parser, [&](error_code rec, std::size_t) { result = rec; });
    });
    stream.expires_never();
    if (ec) {
      bool nothing = !parser.got_some();
      Close();
      retry = reused && nothing && IsClosedError(ec);
      return Broken("reading the reply failed", ec);
    }
    auto& res = parser.get();
    HttpReply reply;
    CopyHead(res.base(), reply);
    reply.body = std::move(res.body());
    if (res.keep_alive()) {
      ++uses;
    } else {
      Close();
    }
    return reply;
  }
};

HttpTransport::HttpTransport(ClientOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>(options_, interrupted_)) {}

HttpTransport::~HttpTransport() {
  impl_->Close();
}

void HttpTransport::Close() {
  impl_->Close();
}

void HttpTransport::Interrupt() {
  interrupted_.store(true);
  Impl* impl = impl_.get();
  asio::post(impl->ioc, [impl] {
    error_code ec;
    impl->timer.cancel();
    impl->resolver.cancel();
    impl->stream.socket().cancel(ec);
  });
}

Result<HttpReply> HttpTransport::RoundTrip(const HttpRequest& request) {
  auto timeout = request.timeout.count() > 0 ? request.timeout : options_.request_timeout;
  auto deadline = Clock::now() + timeout;
  for (int attempt = 0;; ++attempt) {
    if (interrupted_.load()) return Status::Unavailable("interrupted");
    bool retry = false;
    Result<HttpReply> reply = impl_->Attempt(request, deadline, retry);
    if (reply.ok() || interrupted_.load()) {
      return interrupted_.load() && !reply.ok() ? Status::Unavailable("interrupted") : reply;
    }
    if (!(retry && request.replayable && attempt == 0)) return reply;
  }
}

Status HttpTransport::Stream(const HttpRequest& request, std::chrono::milliseconds idle_timeout,
                             HttpReply& reply,
                             const std::function<bool(std::string_view)>& on_data) {
  if (interrupted_.load()) return Status::Unavailable("interrupted");
  Impl& im = *impl_;
  auto timeout = request.timeout.count() > 0 ? request.timeout : options_.request_timeout;
  auto deadline = Clock::now() + timeout;
  // A stream holds its connection to the end: start from a fresh one, so a
  // dead keep-alive connection never costs a reconnect cycle.
  im.Close();
  Status s = im.Connect(deadline);
  if (!s.ok()) return interrupted_.load() ? Status::Unavailable("interrupted") : s;
  auto req = im.MakeRequest(request);
  error_code ec = im.Run([&](error_code& result) {
    im.stream.expires_after(Impl::Left(deadline));
    bhttp::async_write(im.stream, req, [&](error_code wec, std::size_t) { result = wec; });
  });
  bhttp::response_parser<bhttp::buffer_body> parser;
  parser.body_limit(boost::none);
  if (!ec) {
    ec = im.Run([&](error_code& result) {
      im.stream.expires_after(Impl::Left(deadline));
      bhttp::async_read_header(im.stream, im.buffer, parser,
                               [&](error_code rec, std::size_t) { result = rec; });
    });
  }
  if (ec) {
    im.Close();
    if (interrupted_.load()) return Status::Unavailable("interrupted");
    return Impl::Broken("opening the stream failed", ec);
  }
  Impl::CopyHead(parser.get().base(), reply);
  bool streaming = reply.status >= 200 && reply.status < 300;
  char chunk[kStreamChunk];
  Status result = Status::Ok();
  while (!parser.is_done()) {
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof chunk;
    ec = im.Run([&](error_code& r) {
      im.stream.expires_after(streaming ? idle_timeout : Impl::Left(deadline));
      bhttp::async_read_some(im.stream, im.buffer, parser,
                             [&](error_code rec, std::size_t) { r = rec; });
    });
    if (ec == bhttp::error::need_buffer) ec = {};
    std::size_t n = sizeof chunk - parser.get().body().size;
    if (n > 0) {
      std::string_view piece(chunk, n);
      if (streaming) {
        if (!on_data(piece)) break;
      } else if (reply.body.size() < kMaxStreamErrorBytes) {
        reply.body.append(piece);
      }
    }
    if (ec) {
      if (interrupted_.load()) {
        result = Status::Unavailable("interrupted");
      } else if (!streaming && IsClosedError(ec)) {
        // The error body ended with the connection: keep what arrived.
      } else {
        result = Impl::Broken("the stream broke", ec);
      }
      break;
    }
  }
  im.Close();
  return result;
}

bool HttpTransport::Sleep(std::chrono::milliseconds delay) {
  if (interrupted_.load()) return false;
  Impl& im = *impl_;
  im.Run([&](error_code& result) {
    im.timer.expires_after(delay);
    im.timer.async_wait([&](error_code tec) { result = tec; });
  });
  return !interrupted_.load();
}

}  // namespace jobtape::client
