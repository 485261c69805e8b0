// AwaitStore: co_await a completion-style store call from a handler coroutine
// without blocking the I/O thread (DESIGN §2, "No blocking on I/O threads").
//
//   Result<Job> job = co_await AwaitStore<Job>(
//       [&](store::Done<Job> done) { store.JobGetAsync(id, std::move(done)); });
//
// `start` runs at once, on the coroutine's thread, and hands `done` to the
// store. The store invokes `done` on one of its threads; the result is posted
// back to the coroutine's executor (its strand), so the coroutine always
// resumes there, never on a store thread and never inline inside `start`.
//
// Guarantees:
//   - the coroutine resumes exactly once;
//   - if `done` is destroyed without being called (a store bug), the
//     coroutine resumes with kInternal instead of hanging;
//   - a terminal, partial or total cancellation of the awaiting coroutine
//     (server shutdown, client gone) resumes it with kUnavailable at once;
//     the store call itself still runs to completion and its result is
//     dropped;
//   - while the call is pending the executor has outstanding work, so its
//     io_context does not run out of work.
// Contract: every `done` must have been called or destroyed, and the call
// must have returned, before the io_context behind the coroutine's executor
// is destroyed: stop the store (joining its threads) before destroying the
// HttpServer.
//
// Thread-safety: `done` may be called from any thread.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/status.hpp"
#include "store/store.hpp"

namespace jobtape::http {
namespace detail {

// Shared between the store's `done`, the cancellation slot and the coroutine.
// Whoever takes the handler first completes the operation.
template <typename T, typename Handler>
class AwaitState : public std::enable_shared_from_this<AwaitState<T, Handler>> {
 public:
  using Executor = boost::asio::associated_executor_t<Handler>;

  explicit AwaitState(Handler handler)
      : executor_(boost::asio::get_associated_executor(handler)),
        work_(boost::asio::make_work_guard(executor_)),
        handler_(std::move(handler)) {}

  ~AwaitState() { Complete(Status::Internal("the store dropped a completion without calling it")); }

  void Complete(Result<T> result) {
    std::optional<Handler> handler;
    std::optional<boost::asio::executor_work_guard<Executor>> work;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!handler_) return;
      handler.emplace(std::move(*handler_));
      handler_.reset();
      work.emplace(std::move(*work_));
      work_.reset();
    }
    // Runs on the coroutine's executor: the cancellation slot is cleared
    // there (where it is also emitted), then the coroutine resumes.
    boost::asio::post(executor_, [h = std::move(*handler), r = std::move(result),
                                  w = std::move(*work)]() mutable {
      auto slot = boost::asio::get_associated_cancellation_slot(h);
      if (slot.is_connected()) slot.clear();
      std::move(h)(std::move(r));
      w.reset();
    });
  }

  void InstallCancellation() {
    std::lock_guard<std::mutex> lock(mu_);
    auto slot = boost::asio::get_associated_cancellation_slot(*handler_);
    if (!slot.is_connected()) return;
    std::weak_ptr<AwaitState> weak = this->shared_from_this();
    slot.assign([weak](boost::asio::cancellation_type type) {
      using boost::asio::cancellation_type;
      if ((type & (cancellation_type::terminal | cancellation_type::partial |
                   cancellation_type::total)) == cancellation_type::none) {
        return;
      }
      if (auto self = weak.lock()) self->Complete(Status::Unavailable("cancelled"));
    });
  }

 private:
  Executor executor_;
  std::mutex mu_;
  std::optional<boost::asio::executor_work_guard<Executor>> work_;  // GUARDED_BY(mu_)
  std::optional<Handler> handler_;                                  // GUARDED_BY(mu_)
};

// Keeps the state alive until the store calls or drops the completion. The
// destructor of the last copy completes with kInternal if nobody called it.
template <typename T, typename Handler>
struct DoneRelay {
  std::shared_ptr<AwaitState<T, Handler>> state;
  void operator()(Result<T> result) const { state->Complete(std::move(result)); }
};

}  // namespace detail

template <typename T, typename Start>
boost::asio::awaitable<Result<T>> AwaitStore(Start start) {
  static_assert(std::is_invocable_v<Start&, store::Done<T>>,
                "AwaitStore<T>(start): start must accept a store::Done<T>");
  return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void(Result<T>)>(
      [start = std::move(start)](auto handler) mutable {
        using Handler = decltype(handler);
        auto state = std::make_shared<detail::AwaitState<T, Handler>>(std::move(handler));
        state->InstallCancellation();
        // The shared state dies (and reports a dropped completion) only when
        // the last copy of `done` is gone, so it must not be kept here.
        store::Done<T> done(detail::DoneRelay<T, Handler>{std::move(state)});
        start(std::move(done));
      },
      boost::asio::use_awaitable);
}

}  // namespace jobtape::http
