#include "http/server.hpp"

#include <cstdio>
#include <cstdlib>
#include <future>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "http/connection.hpp"

namespace jobtape::http {
namespace asio = boost::asio;
using boost::system::error_code;
using detail::Connection;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
// After accept fails for want of descriptors, wait before trying again
// instead of spinning on the error.
constexpr std::chrono::milliseconds kAcceptBackoff(50);
// At most this many 503 answers in flight; beyond, excess connections are
// just closed, so a flood cannot turn rejections into a resource of its own.
constexpr uint64_t kMaxRejecting = 64;
// After the shutdown deadline has cancelled everything, how long to wait for
// the coroutines to unwind before stopping the io_context under them.
constexpr std::chrono::seconds kCancelGrace(2);

bool IsAbort(std::exception_ptr e) {
  if (!e) return true;
  try {
    std::rethrow_exception(e);
  } catch (const boost::system::system_error& se) {
    return se.code() == asio::error::operation_aborted;
  } catch (...) {
    return false;
  }
}

std::string Describe(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "unknown exception";
  }
}

}  // namespace

struct HttpServer::Impl {
  Impl(HttpServerOptions options, Handler handler)
      : state(std::move(options), std::move(handler)),
        ioc(std::max(1, state.options.io_threads)),
        accept_strand(asio::make_strand(ioc)),
        acceptor(accept_strand) {}

  asio::awaitable<void> AcceptLoop();
  void Spawn(asio::ip::tcp::socket socket);
  // Posts `fn(connection)` to each live connection's strand.
  template <typename Fn>
  void ForEachConnection(Fn fn);
  bool WaitDrained(std::chrono::milliseconds timeout);

  // Declared first so that it outlives the io_context: coroutine frames
  // destroyed with the io_context still reference it.
  detail::ServerState state;
  asio::io_context ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  asio::strand<asio::io_context::executor_type> accept_strand;
  asio::ip::tcp::acceptor acceptor;  // used on accept_strand only, once started
  std::vector<std::thread> threads;
  std::atomic<uint16_t> port{0};
  uint64_t next_connection_id = 0;  // accept_strand only
  bool started = false;
  bool stopped = false;
};

asio::awaitable<void> HttpServer::Impl::AcceptLoop() {
  while (true) {
    // Each connection gets its own strand: its coroutine, its timers and
    // Stop()'s posts never run concurrently.
    asio::any_io_executor strand = asio::make_strand(ioc);
    auto [ec, socket] = co_await acceptor.async_accept(strand, kTuple);
    if (state.stopping.load() || !acceptor.is_open()) {
      error_code ignored;
      socket.close(ignored);
      co_return;
    }
    if (ec) {
      asio::steady_timer backoff(accept_strand, kAcceptBackoff);
      co_await backoff.async_wait(kTuple);
      continue;
    }
    error_code ignored;
    socket.set_option(asio::ip::tcp::no_delay(true), ignored);
    if (state.open.load() >= state.options.max_connections) {
      state.rejected.fetch_add(1);
      if (state.rejecting.fetch_add(1) < kMaxRejecting) {
        asio::any_io_executor ex = socket.get_executor();
        asio::co_spawn(ex, detail::RejectConnection(std::move(socket), state),
                       [](std::exception_ptr) {});
      } else {
        state.rejecting.fetch_sub(1);
        socket.close(ignored);
      }
      continue;
    }
    Spawn(std::move(socket));
  }
}

void HttpServer::Impl::Spawn(asio::ip::tcp::socket socket) {
  uint64_t id = ++next_connection_id;
  state.accepted.fetch_add(1);
  state.open.fetch_add(1);
  auto connection = std::make_shared<Connection>(std::move(socket), state, id);
  {
    std::lock_guard<std::mutex> lock(state.mu);
    state.connections.emplace(id, connection);
  }
  detail::ServerState* s = &state;
  asio::co_spawn(
      connection->executor(), Connection::Run(connection),
      asio::bind_cancellation_slot(connection->cancellation_slot(), [s](std::exception_ptr e) {
        // Handler exceptions are caught inside; this is the
        // connection machinery itself, or a forced cancel.
        if (!IsAbort(e)) s->ReportInternalError("-", Describe(e));
      }));
}

template <typename Fn>
void HttpServer::Impl::ForEachConnection(Fn fn) {
  std::vector<std::weak_ptr<Connection>> all;
  {
    std::lock_guard<std::mutex> lock(state.mu);
    all.reserve(state.connections.size());
    for (auto& [id, weak] : state.connections)
      all.push_back(weak);
  }
  for (auto& weak : all) {
    if (auto c = weak.lock()) {
      asio::any_io_executor ex = c->executor();
      asio::post(ex, [c = std::move(c), fn]() { fn(*c); });
    }
  }
}

bool HttpServer::Impl::WaitDrained(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(state.mu);
  return state.drained.wait_for(lock, timeout, [&] { return state.connections.empty(); });
}

HttpServer::HttpServer(HttpServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

HttpServer::~HttpServer() {
  Stop();
}

Status HttpServer::Start() {
  Impl& m = *impl_;
  if (m.started) return Status::FailedPrecondition("the HTTP server was already started");
  const HttpServerOptions& opt = m.state.options;
  std::string address = opt.address == "localhost" ? "127.0.0.1" : opt.address;
  error_code ec;
  asio::ip::address ip = asio::ip::make_address(address, ec);
  if (ec) return Status::InvalidArgument("not an IP address: '" + opt.address + "'", "address");
  asio::ip::tcp::endpoint endpoint(ip, opt.port);
  auto fail = [&](const char* what) {
    error_code ignored;
    m.acceptor.close(ignored);
    return Status::Unavailable(std::string("cannot ") + what + " " + address + ":" +
                               std::to_string(opt.port) + ": " + ec.message());
  };
  m.acceptor.open(endpoint.protocol(), ec);
  if (ec) return fail("open a socket for");
  m.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) return fail("configure");
  m.acceptor.bind(endpoint, ec);
  if (ec) return fail("bind");
  m.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen on");
  m.port = m.acceptor.local_endpoint(ec).port();
  m.started = true;

  m.work.emplace(m.ioc.get_executor());
  asio::co_spawn(m.accept_strand, m.AcceptLoop(), [s = &m.state](std::exception_ptr e) {
    if (!IsAbort(e)) s->ReportInternalError("-", "accept loop: " + Describe(e));
  });
  int threads = std::max(1, opt.io_threads);
  for (int i = 0; i < threads; ++i)
    m.threads.emplace_back([&m] { m.ioc.run(); });
  return Status::Ok();
}

uint16_t HttpServer::port() const {
  return impl_->port.load();
}

void HttpServer::Stop() {
  Impl& m = *impl_;
  if (!m.started || m.stopped) return;
  if (m.ioc.get_executor().running_in_this_thread()) {
    // It would wait for connections that need this very thread to finish.
    std::fprintf(stderr, "jobtape http: HttpServer::Stop called on an I/O thread\n");
    std::abort();
  }
  m.stopped = true;
  m.state.stopping.store(true);

  // Stop accepting. Once this has run on the accept strand no connection can
  // be added: the loop checks `stopping` before registering one.
  std::promise<void> closed;
  asio::post(m.accept_strand, [&] {
    error_code ignored;
    m.acceptor.close(ignored);
    closed.set_value();
  });
  closed.get_future().wait();

  m.ForEachConnection([](Connection& c) { c.CloseIfIdle(); });
  if (m.state.options.on_draining) m.state.options.on_draining();

  if (!m.WaitDrained(m.state.options.shutdown_timeout)) {
    m.ForEachConnection([](Connection& c) { c.Cancel(); });
    m.WaitDrained(kCancelGrace);
  }
  m.work.reset();
  m.ioc.stop();
  for (std::thread& t : m.threads)
    t.join();
  m.threads.clear();
}

HttpServerStats HttpServer::Stats() const {
  const detail::ServerState& s = impl_->state;
  HttpServerStats stats;
  stats.connections_accepted = s.accepted.load();
  stats.connections_rejected = s.rejected.load();
  stats.open_connections = s.open.load();
  stats.requests = s.requests.load();
  return stats;
}

}  // namespace jobtape::http
