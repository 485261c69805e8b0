#include "store/sqlite/writer.hpp"

#include <pthread.h>

#include <exception>

namespace jobtape::store::sqlite {

Writer::Writer(std::unique_ptr<Db> db, int max_batch, uint64_t seed,
               std::function<void(TxnEffects&)> publish)
    : db_(std::move(db)),
      max_batch_(max_batch),
      publish_(std::move(publish)),
      rng_(seed ? seed : std::random_device{}()) {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "jt-sql-writer");
    Loop();
  });
}

Writer::~Writer() {
  {
    std::lock_guard<std::mutex> g(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Writer::Submit(std::unique_ptr<WriteRequest> request) {
  {
    std::lock_guard<std::mutex> g(mu_);
    if (!stopping_) {
      queue_.push_back(std::move(request));
      cv_.notify_one();
      return;
    }
  }
  request->Fail(Status::Unavailable("store is closing"));
}

StoreStats Writer::Stats() const {
  std::lock_guard<std::mutex> g(mu_);
  return stats_;
}

void Writer::Loop() {
  std::vector<std::unique_ptr<WriteRequest>> batch;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      while (!queue_.empty() && static_cast<int>(batch.size()) < max_batch_) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      stats_.commits++;
      stats_.requests += batch.size();
      if (batch.size() > stats_.max_batch) stats_.max_batch = batch.size();
    }
    RunBatch(batch);
    batch.clear();
  }
}

void Writer::RunBatch(std::vector<std::unique_ptr<WriteRequest>>& batch) {
  fx_.Clear();
  Status begin = db_->Exec("BEGIN IMMEDIATE");
  if (!begin.ok()) {
    for (auto& r : batch)
      r->Fail(begin);
    return;
  }
  WriteCtx ctx{*db_, fx_, rng_, cache_};
  Stmt& savepoint = db_->Prepare("SAVEPOINT r");
  Stmt& release = db_->Prepare("RELEASE r");
  Stmt& rollback_to = db_->Prepare("ROLLBACK TO r");
  for (auto& r : batch) {
    TxnEffects::Mark mark = fx_.Position();
    Status s = savepoint.Run();
    if (!s.ok()) {
      r->Fail(s);
      r.reset();
      continue;
    }
    bool fail_now = false;  // threw, or its events could not be written
    try {
      s = r->Run(ctx);
    } catch (const std::exception& e) {
      // A bug or an exhausted resource: the request has no result to deliver,
      // so it fails now, alone; its neighbours still commit.
      s = Status::Internal(std::string("write failed: ") + e.what());
      fail_now = true;
    }
    // The request's events are written inside its savepoint; if that fails
    // the request fails alone, like one that threw (its result said ok).
    if (s.ok() && !fail_now) {
      s = FlushEvents(ctx);
      fail_now = !s.ok();
    }
    if (!s.ok()) {
      (void)rollback_to.Run();
      fx_.RollbackTo(mark);
      ctx.events_written = fx_.events.size();
    }
    (void)release.Run();
    if (fail_now) {
      r->Fail(s);
      r.reset();
    }
    if (sqlite3_get_autocommit(db_->raw()) != 0) {
      // SQLite rolled the whole transaction back itself (disk full, I/O
      // error, out of memory): nothing of the batch will commit, and a next
      // SAVEPOINT would open a transaction of its own that RELEASE commits.
      const Status gone = Status::Unavailable("the batch's transaction was rolled back" +
                                              (s.ok() ? "" : ": " + s.message()));
      cache_.Clear();  // it may describe what was rolled back
      for (auto& each : batch) {
        if (each) each->Fail(gone);
      }
      return;
    }
  }
  Status commit = db_->Exec("COMMIT");
  if (!commit.ok()) {
    (void)db_->Exec("ROLLBACK");
    cache_.Clear();  // it may describe what was rolled back
    for (auto& r : batch) {
      if (r) r->Fail(commit);
    }
    return;
  }
  publish_(fx_);
  for (auto& r : batch) {
    if (r) r->Complete();
  }
}

ReaderPool::ReaderPool(std::vector<std::unique_ptr<Db>> dbs) : dbs_(std::move(dbs)) {
  for (auto& db : dbs_) {
    Db* d = db.get();
    threads_.emplace_back([this, d] {
      pthread_setname_np(pthread_self(), "jt-sql-reader");
      Loop(*d);
    });
  }
}

ReaderPool::~ReaderPool() {
  {
    std::lock_guard<std::mutex> g(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_)
    t.join();
}

void ReaderPool::Submit(std::function<void(Db&)> task) {
  {
    std::lock_guard<std::mutex> g(mu_);
    queue_.push_back(std::move(task));
  }
  cv_.notify_one();
}

void ReaderPool::Loop(Db& db) {
  while (true) {
    std::function<void(Db&)> task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task(db);
  }
}

}  // namespace jobtape::store::sqlite
