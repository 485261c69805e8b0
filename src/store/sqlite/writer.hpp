// The SQLite store's single writer thread with group commit.
//
// Callers Submit() write requests from any thread. The writer takes every
// request waiting at that moment (up to max_batch), runs them in one
// transaction, each under its own SAVEPOINT (a failing request is rolled back
// alone), commits once (one fsync for the whole batch), then tells the
// observers what committed and only then completes each request. While one
// batch commits, the next one gathers: the busier the store, the larger the
// batches, and the fewer fsyncs per request.
//
// Thread-safety: Submit() from any thread; everything else runs on the writer thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/event.hpp"
#include "store/sqlite/db.hpp"
#include "store/sqlite/writer_cache.hpp"
#include "store/store.hpp"

namespace jobtape::store::sqlite {

// A change of a (queue, state) count, kept in memory for QueuesList/metrics.
struct CountDelta {
  std::string queue;
  JobState state;
  int64_t delta;
};

// What one transaction did, published after commit. Rolled back with its savepoint.
struct TxnEffects {
  std::vector<Event> events;
  std::vector<std::pair<std::string, std::optional<TimePoint>>> work;
  std::vector<CountDelta> counts;

  std::vector<BatchId> batches;  // batches a member of which ended (repeats allowed)
  struct Mark {
    std::size_t events, work, counts, batches;
  };
  Mark Position() const { return {events.size(), work.size(), counts.size(), batches.size()}; }
  void RollbackTo(Mark m) {
    events.resize(m.events);
    work.resize(m.work);
    counts.resize(m.counts, CountDelta{{}, JobState::kQueued, 0});
    batches.resize(m.batches);
  }
  void Clear() { RollbackTo({0, 0, 0, 0}); }
  void Move(const std::string& queue, JobState from, JobState to) {
    counts.push_back({queue, from, -1});
    counts.push_back({queue, to, +1});
  }
};

// Everything a write operation may touch.
struct WriteCtx {
  Db& db;
  TxnEffects& fx;
  std::mt19937_64& rng;
  WriterCache& cache;
  // fx.events[0, events_written) are in the events table; the rest were
  // appended by the running request and are written by FlushEvents.
  std::size_t events_written = 0;
  double UnitRandom() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng); }
};

// Writes the events the running request appended (InsertEvent only records
// them), in multi-row inserts. The writer calls it after each successful
// request, inside the request's savepoint (defined in job_row.cpp).
Status FlushEvents(WriteCtx& ctx);

class WriteRequest {
 public:
  virtual ~WriteRequest() = default;
  // Runs inside the batch's transaction; a non-OK status rolls back its savepoint.
  virtual Status Run(WriteCtx& ctx) = 0;
  // After the batch committed: deliver the result of Run.
  virtual void Complete() = 0;
  // The batch did not commit: deliver `status` instead.
  virtual void Fail(const Status& status) = 0;
};

template <typename T>
class TypedWriteRequest final : public WriteRequest {
 public:
  TypedWriteRequest(std::function<Result<T>(WriteCtx&)> fn, Done<T> done)
      : fn_(std::move(fn)), done_(std::move(done)) {}
  Status Run(WriteCtx& ctx) override {
    result_.emplace(fn_(ctx));
    return result_->ok() ? Status::Ok() : result_->status();
  }
  void Complete() override { done_(std::move(*result_)); }
  void Fail(const Status& status) override {
    // A request that failed on its own reports its own error.
    if (result_ && !result_->ok()) {
      done_(std::move(*result_));
    } else {
      done_(status);
    }
  }

 private:
  std::function<Result<T>(WriteCtx&)> fn_;
  Done<T> done_;
  std::optional<Result<T>> result_;
};

class Writer {
 public:
  // `publish` runs on the writer thread after each commit, before completions.
  Writer(std::unique_ptr<Db> db, int max_batch, uint64_t seed,
         std::function<void(TxnEffects&)> publish);
  ~Writer();  // drains queued requests, then joins

  void Submit(std::unique_ptr<WriteRequest> request);
  StoreStats Stats() const;

 private:
  void Loop();
  void RunBatch(std::vector<std::unique_ptr<WriteRequest>>& batch);

  std::unique_ptr<Db> db_;
  const int max_batch_;
  std::function<void(TxnEffects&)> publish_;
  std::mt19937_64 rng_;  // writer thread only
  TxnEffects fx_;        // writer thread only
  WriterCache cache_;    // writer thread only

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<WriteRequest>> queue_;  // GUARDED_BY(mu_)
  bool stopping_ = false;                            // GUARDED_BY(mu_)
  StoreStats stats_;                                 // GUARDED_BY(mu_)
  std::thread thread_;
};

// A fixed pool of threads, each owning one read-only connection.
class ReaderPool {
 public:
  ReaderPool(std::vector<std::unique_ptr<Db>> dbs);
  ~ReaderPool();
  void Submit(std::function<void(Db&)> task);

 private:
  void Loop(Db& db);
  std::vector<std::unique_ptr<Db>> dbs_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void(Db&)>> queue_;  // GUARDED_BY(mu_)
  bool stopping_ = false;                       // GUARDED_BY(mu_)
  std::vector<std::thread> threads_;
};

}  // namespace jobtape::store::sqlite
