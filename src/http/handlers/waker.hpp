// Waker: wakes a stream's coroutine when something it watches has news.
//
// Notifier() gives a callback for another thread (a store thread) that only
// posts to the coroutine's executor; Wait() suspends the coroutine until that
// callback ran or a timeout passed. Several notifications before a Wait()
// fold into one, so a busy source costs the stream one wake-up per round.
//
// Thread-safety: Notifier()'s callback may run on any thread, even after the
// Waker is gone; everything else runs on the coroutine's executor.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace jobtape::http {

class Waker : public std::enable_shared_from_this<Waker> {
 public:
  explicit Waker(boost::asio::any_io_executor ex) : ex_(std::move(ex)), timer_(ex_) {}

  std::function<void()> Notifier() {
    std::weak_ptr<Waker> weak = weak_from_this();
    return [weak, ex = ex_] {
      boost::asio::post(ex, [weak] {
        if (auto self = weak.lock()) self->Signal();
      });
    };
  }
  // True when notified, false when `timeout` passed without news.
  boost::asio::awaitable<bool> Wait(std::chrono::milliseconds timeout) {
    if (!signalled_) {
      timer_.expires_after(timeout);
      co_await timer_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    }
    const bool signalled = signalled_;
    signalled_ = false;
    co_return signalled;
  }

 private:
  void Signal() {
    signalled_ = true;
    timer_.cancel();
  }

  boost::asio::any_io_executor ex_;
  boost::asio::steady_timer timer_;
  bool signalled_ = false;  // on the stream's executor only
};

}  // namespace jobtape::http
