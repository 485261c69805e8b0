// AwaitStore: completion-style store calls as awaitables.
//
// The coroutines here are free functions taking their state as parameters: a
// coroutine lambda's captures live in the lambda object, which a
// `[&]() -> awaitable<T> {...}()` expression destroys while the coroutine is
// still suspended.
#include "http/store_await.hpp"

#include <atomic>
#include <functional>
#include <future>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_future.hpp>

namespace jobtape::http {
namespace {
namespace asio = boost::asio;

struct Threads {
  std::thread store_thread;
  std::thread::id store_id;
  std::thread::id resumed_id;
};

asio::awaitable<int> CompleteFromAnotherThread(Threads* t) {
  Result<int> r = co_await AwaitStore<int>([t](store::Done<int> done) {
    t->store_thread = std::thread([t, done = std::move(done)] {
      t->store_id = std::this_thread::get_id();
      done(Result<int>(42));
    });
  });
  t->resumed_id = std::this_thread::get_id();
  co_return r.ok() ? *r : -1;
}

TEST(AwaitStoreTest, ResumesOnTheCoroutineThreadWithTheResult) {
  asio::io_context ioc;
  Threads t;
  auto future = asio::co_spawn(ioc, CompleteFromAnotherThread(&t), asio::use_future);
  // run() returns only when the coroutine is done: the pending store call
  // counts as outstanding work, so the io_context does not run dry meanwhile.
  ioc.run();
  t.store_thread.join();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  EXPECT_EQ(future.get(), 42);
  EXPECT_EQ(t.resumed_id, std::this_thread::get_id());
  EXPECT_NE(t.resumed_id, t.store_id);
}

// The store thread is joined before the io_context is destroyed: a thread
// still returning from its post() into a destroyed io_context is the one
// thing the contract forbids (a store stops its threads before the server
// is destroyed).
asio::awaitable<Status> FailFromAnotherThread(std::thread* store_thread) {
  Result<std::string> r =
      co_await AwaitStore<std::string>([store_thread](store::Done<std::string> done) {
        *store_thread =
            std::thread([done = std::move(done)] { done(Status::NotFound("no job 9")); });
      });
  co_return r.status();
}

TEST(AwaitStoreTest, PassesErrorsThrough) {
  asio::io_context ioc;
  std::thread store_thread;
  auto future = asio::co_spawn(ioc, FailFromAnotherThread(&store_thread), asio::use_future);
  ioc.run();
  store_thread.join();
  Status s = future.get();
  EXPECT_EQ(s.code(), ErrorCode::kNotFound);
  EXPECT_EQ(s.message(), "no job 9");
}

asio::awaitable<bool> CompleteInline() {
  bool start_returned = false;
  Result<int> r = co_await AwaitStore<int>([&start_returned](store::Done<int> done) {
    done(Result<int>(5));  // e.g. a store refusing invalid input at once
    start_returned = true;
  });
  co_return start_returned&& r.ok() && *r == 5;
}

TEST(AwaitStoreTest, InlineCompletionResumesAfterStartReturns) {
  asio::io_context ioc;
  auto future = asio::co_spawn(ioc, CompleteInline(), asio::use_future);
  ioc.run();
  EXPECT_TRUE(future.get());
}

asio::awaitable<Status> DropCompletion(std::thread* store_thread) {
  Result<int> r = co_await AwaitStore<int>([store_thread](store::Done<int> done) {
    *store_thread = std::thread([d = std::move(done)]() mutable { d = nullptr; });
  });
  co_return r.status();
}

TEST(AwaitStoreTest, DroppedCompletionResumesWithInternal) {
  asio::io_context ioc;
  std::thread store_thread;
  auto future = asio::co_spawn(ioc, DropCompletion(&store_thread), asio::use_future);
  ioc.run();
  store_thread.join();
  EXPECT_EQ(future.get().code(), ErrorCode::kInternal);
}

asio::awaitable<int> AwaitFunction(std::function<void(store::Done<int>)> start) {
  co_return *(co_await AwaitStore<int>(std::move(start)));
}

TEST(AwaitStoreTest, AcceptsAStdFunction) {
  asio::io_context ioc;
  auto future = asio::co_spawn(
      ioc, AwaitFunction([](store::Done<int> done) { done(Result<int>(3)); }), asio::use_future);
  ioc.run();
  EXPECT_EQ(future.get(), 3);
}

asio::awaitable<Status> HoldThenCancel(asio::io_context* ioc, asio::cancellation_signal* signal,
                                       store::Done<int>* held) {
  Result<int> r = co_await AwaitStore<int>([=](store::Done<int> done) {
    *held = std::move(done);
    // Emitted on the io_context once the coroutine is suspended.
    asio::post(*ioc, [signal] { signal->emit(asio::cancellation_type::terminal); });
  });
  co_return r.status();
}

TEST(AwaitStoreTest, CancellationResumesWithUnavailableAndDropsTheLateResult) {
  asio::io_context ioc;
  asio::cancellation_signal signal;
  store::Done<int> held;
  auto future = asio::co_spawn(ioc, HoldThenCancel(&ioc, &signal, &held),
                               asio::bind_cancellation_slot(signal.slot(), asio::use_future));
  ioc.run();
  EXPECT_EQ(future.get().code(), ErrorCode::kUnavailable);
  // The store finishes later, from its own thread: nothing happens.
  std::thread([&] {
    held(Result<int>(1));
    held = nullptr;
  }).join();
}

struct Pending {
  std::mutex mu;
  std::vector<store::Done<int>> calls;  // GUARDED_BY(mu)
};

asio::awaitable<int> AwaitPending(Pending* pending, int i) {
  Result<int> r = co_await AwaitStore<int>([pending, i](store::Done<int> done) {
    std::lock_guard<std::mutex> lock(pending->mu);
    pending->calls.push_back([i, done = std::move(done)](Result<int>) { done(Result<int>(i)); });
  });
  co_return *r;
}

TEST(AwaitStoreTest, ManyConcurrentCallsCompletedFromManyThreads) {
  constexpr int kCalls = 200;
  asio::io_context ioc(2);
  Pending pending;
  std::vector<std::future<int>> results;
  for (int i = 0; i < kCalls; ++i) {
    results.push_back(
        asio::co_spawn(asio::make_strand(ioc), AwaitPending(&pending, i), asio::use_future));
  }
  std::thread io1([&] { ioc.run(); });
  std::thread io2([&] { ioc.run(); });
  // Four "store threads" complete whatever is pending until every call is done.
  std::atomic<int> completed{0};
  std::vector<std::thread> store_threads;
  for (int t = 0; t < 4; ++t) {
    store_threads.emplace_back([&] {
      while (completed.load() < kCalls) {
        store::Done<int> done;
        {
          std::lock_guard<std::mutex> lock(pending.mu);
          if (!pending.calls.empty()) {
            done = std::move(pending.calls.back());
            pending.calls.pop_back();
          }
        }
        if (done) {
          done(Result<int>(0));
          completed.fetch_add(1);
        } else {
          std::this_thread::yield();
        }
      }
    });
  }
  long sum = 0;
  for (auto& f : results)
    sum += f.get();
  for (auto& t : store_threads)
    t.join();
  io1.join();
  io2.join();
  EXPECT_EQ(sum, static_cast<long>(kCalls) * (kCalls - 1) / 2);
}

}  // namespace
}  // namespace jobtape::http
