// SQLite-specific behaviour that the shared contract suite cannot express:
// migrations and schema versions, group commit, per-request savepoints.
#include "store/sqlite/sqlite_store.hpp"
#include "sqlite_fixture.hpp"
#include "store/sqlite/schema.hpp"
#include "store/sqlite/writer.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <filesystem>
#include <latch>
#include <stdexcept>
#include <thread>

namespace jobtape::store::sqlite {
namespace {

TEST_F(SqliteStoreTest, FreshDatabaseIsMigratedToTheLatestVersion) {
  auto store = OpenOrDie();
  auto h = store->Health();
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->schema_version, SchemaVersion());
  EXPECT_EQ(h->expected_schema_version, SchemaVersion());
  EXPECT_EQ(h->backend, "sqlite");
}

TEST_F(SqliteStoreTest, ReopeningKeepsJobs) {
  JobId id;
  {
    auto store = OpenOrDie();
    auto r = store->JobsEnqueue({now_, {Spec()}});
    ASSERT_TRUE(r.ok());
    id = r->jobs[0].id;
  }
  auto store = OpenOrDie();
  auto job = store->JobGet(id);
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->spec.kind, "k");
  auto queues = store->QueuesList();
  ASSERT_TRUE(queues.ok());
  ASSERT_EQ(queues->size(), 1u);
  EXPECT_EQ((*queues)[0].counts[static_cast<int>(JobState::kQueued)], 1);
}

TEST_F(SqliteStoreTest, DatabaseFromANewerBinaryRefusesToOpen) {
  { OpenOrDie(); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "INSERT INTO schema_version(version) VALUES (999)", nullptr, nullptr,
                         nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto s = Open(Options{.path = path_});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(s.status().message().find("newer"), std::string::npos);
}

TEST_F(SqliteStoreTest, FailingMigrationRefusesToOpen) {
  // A table in the way of migration 1 makes it fail; Open must say so.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE jobs(x)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto s = Open(Options{.path = path_});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(s.status().message().find("migration"), std::string::npos);
}

TEST_F(SqliteStoreTest, VersionOneDatabaseMigratesToTheLatestAndKeepsItsJobs) {
  // What a v1 binary left: the v1 schema and one queued job.
  {
    auto db = Db::Open(path_, Db::Mode::kReadWrite);
    ASSERT_TRUE(db.ok());
    auto v = MigrateTo(**db, 1);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    ASSERT_EQ(*v, 1);
    Stmt ins = (*db)->PrepareOnce(R"sql(
INSERT INTO jobs(id, queue, kind, state, priority, payload, run_at, max_attempts,
  backoff_initial_us, backoff_max_us, backoff_multiplier, backoff_jitter, concurrency_limit,
  created_at, updated_at, last_seq)
VALUES (1, 'default', 'k', 1, 0, '{}', ?1, 3, 1000, 1000, 2, 0, 1, ?1, ?1, 1))sql");
    ins.Bind(1, ToMicros(now_));
    ASSERT_TRUE(ins.Run().ok());
  }
  auto store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->Health()->schema_version, SchemaVersion());
  EXPECT_TRUE(store->JobGet(1).ok());
  ScheduleSpec spec;
  spec.name = "hourly";
  spec.cron = "@hourly";
  spec.job = Spec();
  auto up = store->ScheduleUpsert({now_, spec});
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  EXPECT_TRUE(up->created);
  auto c = store->JobsClaim({now_, "w", "", {"default"}, 10, std::chrono::seconds(30)});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->jobs.size(), 1u);
  EXPECT_EQ(c->jobs[0].job.id, 1);
}

// Schema v3 moved every partial index of jobs onto membership columns; a v2
// database with jobs in every state must keep behaving after migrating.
TEST_F(SqliteStoreTest, VersionTwoDatabaseKeepsEveryJobStateWorking) {
  const int64_t now = ToMicros(now_);
  const int64_t sec = 1'000'000;
  {
    auto db = Db::Open(path_, Db::Mode::kReadWrite);
    ASSERT_TRUE(db.ok());
    auto v = MigrateTo(**db, 2);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    ASSERT_EQ(*v, 2);
    // ?1 = a minute ago, ?2 = in an hour.
    const std::string jobs = std::string(R"sql(
INSERT INTO jobs(id, queue, kind, state, priority, payload, run_at, max_attempts, attempt,
  backoff_initial_us, backoff_max_us, backoff_multiplier, backoff_jitter, concurrency_key,
  concurrency_limit, created_at, updated_at, started_at, finished_at, lease_token,
  lease_expires_at, last_seq, worker_id)
VALUES
  (1, 'default', 'due',       0, 0, '{}', ?1,   3, 0, 1000, 1000, 2, 0, NULL, 1, ?1, ?1, NULL,  NULL,  NULL,  NULL,   1, NULL),
  (2, 'default', 'later',     0, 0, '{}', ?2, 3, 0, 1000, 1000, 2, 0, NULL, 1, ?1, ?1, NULL,  NULL,  NULL,  NULL,   1, NULL),
  (3, 'default', 'queued',    1, 5, '{}', ?1,   3, 0, 1000, 1000, 2, 0, NULL, 1, ?1, ?1, NULL,  NULL,  NULL,  NULL,   1, NULL),
  (4, 'default', 'running',   2, 0, '{}', ?1,   3, 1, 1000, 1000, 2, 0, NULL, 1, ?1, ?1, ?1, NULL,  'tok', ?2, 2, 'w'),
  (5, 'default', 'keyed-run', 2, 0, '{}', ?1,   1, 1, 1000, 1000, 2, 0, 'k',  1, ?1, ?1, ?1, NULL,  'old', ?1,   2, 'w'),
  (6, 'default', 'keyed-q',   1, 9, '{}', ?1,   3, 0, 1000, 1000, 2, 0, 'k',  1, ?1, ?1, NULL,  NULL,  NULL,  NULL,   1, NULL),
  (7, 'default', 'succeeded', 3, 0, '{}', ?1,   3, 1, 1000, 1000, 2, 0, NULL, 1, ?1, ?1, ?1, ?1, NULL,  NULL,   3, 'w'),
  (8, 'default', 'failed',    4, 0, '{}', ?1,   1, 1, 1000, 1000, 2, 0, NULL, 1, ?1, ?1, ?1, ?1, NULL,  NULL,   3, 'w'),
  (9, 'default', 'cancelled', 5, 0, '{}', ?1,   3, 0, 1000, 1000, 2, 0, NULL, 1, ?1, ?1, NULL,  ?1, NULL,  NULL,   2, NULL);
)sql");
    Stmt ins = (*db)->PrepareOnce(jobs);
    ins.Bind(1, now - 60 * sec).Bind(2, now + 3600 * sec);
    ASSERT_TRUE(ins.Run().ok());
  }
  auto store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->Health()->schema_version, SchemaVersion());

  auto ids = [](const Result<JobPage>& page) {
    std::vector<JobId> out;
    if (page.ok()) {
      for (const Job& j : page->jobs)
        out.push_back(j.id);
    }
    return out;
  };
  EXPECT_EQ(ids(store->JobsList({.state = JobState::kFailed})), (std::vector<JobId>{8}));
  EXPECT_EQ(ids(store->JobsList({.state = JobState::kCancelled})), (std::vector<JobId>{9}));
  EXPECT_EQ(ids(store->JobsList({.queue = "default"})).size(), 9u);

  // The running attempt's lease still fences: the wrong token is stale, the
  // right one finishes it.
  auto stale = store->JobFinish({now_, Lease{4, 1, "bad", {}}, Outcome::Succeeded("{}")});
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.status().code(), ErrorCode::kStaleLease);
  auto done = store->JobFinish({now_, Lease{4, 1, "tok", {}}, Outcome::Succeeded("{}")});
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->state, JobState::kSucceeded);

  // Job 5 holds key k, so job 6 (higher priority) waits; the due job is
  // promoted; the later one stays scheduled.
  auto c = store->JobsClaim({now_, "w2", "", {"default"}, 10, std::chrono::seconds(30)});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  std::vector<JobId> claimed;
  for (const auto& j : c->jobs)
    claimed.push_back(j.job.id);
  EXPECT_EQ(claimed, (std::vector<JobId>{3, 1}));
  ASSERT_TRUE(c->next_due.has_value());
  EXPECT_EQ(ToMicros(*c->next_due), now + 3600 * sec);

  // The expired keyed attempt is reaped (its only attempt: failed), which
  // frees the key for job 6.
  auto reaped = store->LeasesReapExpired({.now = now_});
  ASSERT_TRUE(reaped.ok()) << reaped.status().ToString();
  EXPECT_EQ(reaped->job_ids, (std::vector<JobId>{5}));
  EXPECT_EQ(store->JobGet(5)->state, JobState::kFailed);
  EXPECT_EQ(ids(store->JobsList({.state = JobState::kFailed})), (std::vector<JobId>{8, 5}));
  auto c2 = store->JobsClaim({now_, "w2", "", {"default"}, 10, std::chrono::seconds(30)});
  ASSERT_TRUE(c2.ok());
  ASSERT_EQ(c2->jobs.size(), 1u);
  EXPECT_EQ(c2->jobs[0].job.id, 6);

  // Cancel at every remaining state: scheduled, running, terminal.
  auto cs = store->JobCancel({.now = now_, .id = 2});
  ASSERT_TRUE(cs.ok());
  EXPECT_EQ(cs->state, JobState::kCancelled);
  auto cr = store->JobCancel({.now = now_, .id = 3});
  ASSERT_TRUE(cr.ok());
  EXPECT_TRUE(cr->cancel_requested);
  auto ct = store->JobCancel({.now = now_, .id = 7});
  ASSERT_TRUE(ct.ok());
  EXPECT_FALSE(ct->changed);
  EXPECT_EQ(ids(store->JobsList({.state = JobState::kCancelled})), (std::vector<JobId>{9, 2}));
  auto empty = store->JobsClaim({now_, "w2", "", {"default"}, 10, std::chrono::seconds(30)});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->jobs.empty());
  EXPECT_FALSE(empty->next_due.has_value());
}

// Runs of jobs without an idempotency key are inserted 64, 16, 4 and 1 rows
// per statement; a 150-job batch crosses every size, keyed jobs break runs.
TEST_F(SqliteStoreTest, LargeBatchIsInsertedInOrderAcrossChunks) {
  auto store = OpenOrDie();
  std::vector<JobSpec> specs;
  for (int i = 0; i < 150; ++i) {
    specs.push_back(Spec("k" + std::to_string(i)));
    if (i % 3 == 0) specs.back().run_at = now_ + std::chrono::hours(1);
    if (i == 70 || i == 71 || i == 149) specs.back().idempotency_key = "i" + std::to_string(i);
  }
  specs.push_back(specs[70]);
  auto r = store->JobsEnqueue({now_, specs});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->jobs.size(), 151u);
  for (std::size_t i = 0; i < 150; ++i) {
    if (i > 0) {
      EXPECT_EQ(r->jobs[i].id, r->jobs[i - 1].id + 1) << i;
    }
    auto job = store->JobGet(r->jobs[i].id);
    ASSERT_TRUE(job.ok());
    EXPECT_EQ(job->spec.kind, specs[i].kind);
    EXPECT_EQ(job->state, i % 3 == 0 ? JobState::kScheduled : JobState::kQueued);
    auto tape = store->TapeRead({.job_id = r->jobs[i].id});
    ASSERT_TRUE(tape.ok());
    ASSERT_EQ(tape->events.size(), 1u);
    EXPECT_EQ(tape->events[0].type, EventType::kCreated);
  }
  EXPECT_TRUE(r->jobs[150].duplicate);
  EXPECT_EQ(r->jobs[150].id, r->jobs[70].id);
  auto c = store->JobsClaim({now_, "w", "", {"default"}, 200, std::chrono::seconds(30)});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->jobs.size(), 100u);
}

TEST_F(SqliteStoreTest, ConcurrentWritesShareCommits) {
  auto store = OpenOrDie();
  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      for (int i = 0; i < kPerThread; ++i) {
        if (store->JobsEnqueue({now_, {Spec()}}).ok()) ok++;
      }
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  StoreStats stats = store->Stats();
  EXPECT_EQ(stats.requests, static_cast<uint64_t>(kThreads * kPerThread));
  // Group commit: with 8 writers waiting, batches hold more than one request.
  EXPECT_GT(stats.max_batch, 1u);
  EXPECT_LT(stats.commits, stats.requests);
}

TEST_F(SqliteStoreTest, AFailingRequestDoesNotFailItsBatchNeighbours) {
  auto store = OpenOrDie();
  auto first = store->JobsEnqueue({now_, {Spec()}});
  ASSERT_TRUE(first.ok());
  // Fire many async requests at once so they share batches; every other one
  // fails inside the transaction (stale lease), the rest must commit.
  constexpr int kN = 200;
  std::latch done(kN);
  std::atomic<int> enqueued{0}, stale{0};
  for (int i = 0; i < kN; ++i) {
    if (i % 2 == 0) {
      store->JobsEnqueueAsync({now_, {Spec()}}, [&](Result<EnqueueResult> r) {
        if (r.ok()) enqueued++;
        done.count_down();
      });
    } else {
      Lease bogus{first->jobs[0].id, 1, "nope", now_};
      store->LeaseHeartbeatAsync({now_, bogus, std::chrono::seconds(30)},
                                 [&](Result<HeartbeatResult> r) {
                                   if (r.status().code() == ErrorCode::kStaleLease) stale++;
                                   done.count_down();
                                 });
    }
  }
  done.wait();
  EXPECT_EQ(enqueued.load(), kN / 2);
  EXPECT_EQ(stale.load(), kN / 2);
  auto page = store->JobsList({.limit = 1000});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->jobs.size(), static_cast<std::size_t>(kN / 2 + 1));
}

TEST_F(SqliteStoreTest, LifecycleSmoke) {
  auto store = OpenOrDie();
  auto e = store->JobsEnqueue({now_, {Spec()}});
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  auto c = store->JobsClaim({now_, "w1", "", {"default"}, 10, std::chrono::seconds(30)});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->jobs.size(), 1u);
  EXPECT_EQ(c->jobs[0].job.state, JobState::kRunning);
  auto f = store->JobFinish({now_, c->jobs[0].lease, Outcome::Succeeded("{\"ok\":true}")});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->state, JobState::kSucceeded);
  auto tape = store->TapeRead({.job_id = e->jobs[0].id});
  ASSERT_TRUE(tape.ok());
  ASSERT_EQ(tape->events.size(), 3u);
  EXPECT_EQ(tape->events[0].type, EventType::kCreated);
  EXPECT_EQ(tape->events[1].type, EventType::kStarted);
  EXPECT_EQ(tape->events[2].type, EventType::kFinal);
  EXPECT_EQ(tape->events[2].seq, 3);
}

// Counts the stored rows of `job`'s tape with raw SQL (`created` is not stored).
int64_t StoredEvents(const std::string& path, JobId job) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* q = nullptr;
  EXPECT_EQ(
      sqlite3_prepare_v2(db, "SELECT count(*) FROM events WHERE job_id = ?1", -1, &q, nullptr),
      SQLITE_OK);
  sqlite3_bind_int64(q, 1, job);
  EXPECT_EQ(sqlite3_step(q), SQLITE_ROW);
  const int64_t n = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  sqlite3_close(db);
  return n;
}

TEST_F(SqliteStoreTest, CreatedEventIsServedFromTheJobRowAndPagesKeepTheirLimit) {
  auto store = OpenOrDie();
  JobSpec spec = Spec("mail");
  spec.queue = "outbox";
  auto e = store->JobsEnqueue({now_, {spec}});
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  const JobId id = e->jobs[0].id;
  EXPECT_EQ(StoredEvents(path_, id), 0);
  auto created = store->TapeRead({.job_id = id});
  ASSERT_TRUE(created.ok());
  ASSERT_EQ(created->events.size(), 1u);
  const Event& first = created->events[0];
  EXPECT_EQ(first.seq, 1);
  EXPECT_EQ(first.type, EventType::kCreated);
  EXPECT_EQ(first.at, now_);
  EXPECT_EQ(first.attempt, 0);
  EXPECT_EQ(first.data, R"({"queue":"outbox","kind":"mail"})");

  auto c = store->JobsClaim({now_, "w1", "", {"outbox"}, 1, std::chrono::seconds(30)});
  ASSERT_TRUE(c.ok() && c->jobs.size() == 1u);
  ASSERT_TRUE(store->JobFinish({now_, c->jobs[0].lease, Outcome::Succeeded()}).ok());
  EXPECT_EQ(StoredEvents(path_, id), 2);  // started, final
  auto two = store->TapeRead({.job_id = id, .after = 0, .limit = 2});
  ASSERT_TRUE(two.ok());
  ASSERT_EQ(two->events.size(), 2u);
  EXPECT_EQ(two->events[0].seq, 1);
  EXPECT_EQ(two->events[1].seq, 2);
  auto one = store->TapeRead({.job_id = id, .after = 0, .limit = 1});
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->events.size(), 1u);
  EXPECT_EQ(one->events[0].type, EventType::kCreated);
  auto rest = store->TapeRead({.job_id = id, .after = 1});
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->events.size(), 2u);
  EXPECT_EQ(rest->events[0].seq, 2);
  EXPECT_EQ(rest->events[1].type, EventType::kFinal);
}

// Databases written before `created` was served from the row hold it as a
// row; the tape shows it once.
TEST_F(SqliteStoreTest, StoredCreatedEventOfAnOlderDatabaseIsReadOnce) {
  JobId id;
  {
    auto store = OpenOrDie();
    auto e = store->JobsEnqueue({now_, {Spec()}});
    ASSERT_TRUE(e.ok());
    id = e->jobs[0].id;
  }
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    const std::string sql = "INSERT INTO events(job_id, seq, type, at, attempt, data) VALUES (" +
                            std::to_string(id) + ", 1, 0, " + std::to_string(ToMicros(now_)) +
                            R"(, 0, '{"queue":"default","kind":"k"}'))";
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto store = OpenOrDie();
  auto c = store->JobsClaim({now_, "w1", "", {"default"}, 1, std::chrono::seconds(30)});
  ASSERT_TRUE(c.ok() && c->jobs.size() == 1u);
  auto tape = store->TapeRead({.job_id = id});
  ASSERT_TRUE(tape.ok());
  ASSERT_EQ(tape->events.size(), 2u);
  EXPECT_EQ(tape->events[0].seq, 1);
  EXPECT_EQ(tape->events[0].type, EventType::kCreated);
  EXPECT_EQ(tape->events[1].seq, 2);
  EXPECT_EQ(tape->events[1].type, EventType::kStarted);
}

// A request that fills the disk (here: the page limit) may make SQLite roll
// the whole batch transaction back itself. Whatever it rolls back, every
// request must be told the truth: ok exactly when its row committed.
TEST_F(SqliteStoreTest, WhatEachRequestIsToldMatchesWhatCommittedWhenTheDiskIsFull) {
  auto db = Db::Open(path_, Db::Mode::kReadWrite);
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Exec("CREATE TABLE t(x INTEGER, pad BLOB)").ok());
  ASSERT_TRUE((*db)->Exec("PRAGMA max_page_count = 16").ok());
  constexpr int kRequests = 6;
  std::vector<Status> results(kRequests);
  {
    // Held until every request is queued, so they share one batch.
    std::latch queued(1);
    std::latch done(kRequests + 1);
    Writer writer(std::move(*db), 64, 1, [](TxnEffects&) {});
    writer.Submit(std::make_unique<TypedWriteRequest<int>>(
        [&](WriteCtx&) -> Result<int> {
          queued.wait();
          return 0;
        },
        [&](Result<int>) { done.count_down(); }));
    for (int i = 0; i < kRequests; ++i) {
      const int bytes = i == 3 ? 1 << 20 : 16;  // request 3 does not fit
      writer.Submit(std::make_unique<TypedWriteRequest<int>>(
          [i, bytes](WriteCtx& ctx) -> Result<int> {
            Stmt& s = ctx.db.Prepare("INSERT INTO t(x, pad) VALUES (?1, zeroblob(?2))");
            s.Bind(1, i).Bind(2, bytes);
            JT_RETURN_IF_ERROR(s.Run());
            return i;
          },
          [&, i](Result<int> r) {
            results[i] = r.status();
            done.count_down();
          }));
    }
    queued.count_down();
    done.wait();
  }
  EXPECT_FALSE(results[3].ok());
  auto check = Db::Open(path_, Db::Mode::kReadOnly);
  ASSERT_TRUE(check.ok());
  for (int i = 0; i < kRequests; ++i) {
    Stmt q = (*check)->PrepareOnce("SELECT count(*) FROM t WHERE x = ?1");
    q.Bind(1, i);
    ASSERT_TRUE(*q.Step());
    EXPECT_EQ(q.Int(0) == 1, results[i].ok()) << "request " << i << ": " << results[i].ToString();
  }
}

// The writer itself, with requests the public API cannot produce.
TEST_F(SqliteStoreTest, AThrowingRequestFailsAloneAndItsNeighboursCommit) {
  auto db = Db::Open(path_, Db::Mode::kReadWrite);
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Exec("CREATE TABLE t(x INTEGER)").ok());
  std::latch done(3);
  std::vector<Status> results(3);
  {
    Writer writer(std::move(*db), 16, 1, [](TxnEffects&) {});
    auto insert = [](int x) {
      return [x](WriteCtx& ctx) -> Result<int> {
        Stmt& s = ctx.db.Prepare("INSERT INTO t(x) VALUES (?1)");
        s.Bind(1, x);
        JT_RETURN_IF_ERROR(s.Run());
        return x;
      };
    };
    auto record = [&](int i) {
      return [&, i](Result<int> r) {
        results[i] = r.status();
        done.count_down();
      };
    };
    writer.Submit(std::make_unique<TypedWriteRequest<int>>(insert(1), record(0)));
    writer.Submit(std::make_unique<TypedWriteRequest<int>>(
        [](WriteCtx& ctx) -> Result<int> {
          Stmt& s = ctx.db.Prepare("INSERT INTO t(x) VALUES (?1)");
          s.Bind(1, 2);
          (void)s.Run();
          throw std::runtime_error("boom");
        },
        record(1)));
    writer.Submit(std::make_unique<TypedWriteRequest<int>>(insert(3), record(2)));
    done.wait();
  }
  EXPECT_TRUE(results[0].ok());
  EXPECT_EQ(results[1].code(), ErrorCode::kInternal);
  EXPECT_NE(results[1].message().find("boom"), std::string::npos);
  EXPECT_TRUE(results[2].ok());
  auto check = Db::Open(path_, Db::Mode::kReadOnly);
  ASSERT_TRUE(check.ok());
  Stmt q = (*check)->PrepareOnce("SELECT group_concat(x) FROM (SELECT x FROM t ORDER BY x)");
  ASSERT_TRUE(*q.Step());
  EXPECT_EQ(q.Text(0), "1,3");  // the thrower's insert was rolled back with it
}

// Before batches (v4), a job's batch_id was a free label a client set. Such
// jobs must end normally after the upgrade and never count in a batch, not
// even in the batch whose id their label spells.
TEST_F(SqliteStoreTest, LegacyBatchIdLabelsNeverJoinABatch) {
  {
    auto db = Db::Open(path_, Db::Mode::kReadWrite);
    ASSERT_TRUE(db.ok());
    auto v = MigrateTo(**db, 3);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    Stmt ins = (*db)->PrepareOnce(R"sql(
INSERT INTO jobs(id, queue, kind, state, priority, payload, run_at, max_attempts,
  backoff_initial_us, backoff_max_us, backoff_multiplier, backoff_jitter, concurrency_limit,
  batch_id, created_at, updated_at, last_seq, ready)
VALUES (1, 'old', 'k', 1, 0, '{}', ?1, 1, 1000, 1000, 2, 0, 1, 'nightly', ?1, ?1, 1, 1),
       (2, 'old', 'k', 1, 0, '{}', ?1, 1, 1000, 1000, 2, 0, 1, '1', ?1, ?1, 1, 1))sql");
    ins.Bind(1, ToMicros(now_));
    ASSERT_TRUE(ins.Run().ok());
  }
  auto store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  BatchCreateParams p;
  p.now = now_;
  p.jobs = {Spec()};
  auto batch = store->BatchCreate(p);
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  ASSERT_EQ(batch->batch.id, 1);  // the id the second label spells
  auto b = store->BatchGet(1);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->total, 1);
  EXPECT_EQ(b->counts[static_cast<int>(JobState::kQueued)], 1) << "old labels are not members";

  auto c = store->JobsClaim({now_, "w", "", {"old"}, 10, std::chrono::seconds(30)});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->jobs.size(), 2u);
  EXPECT_EQ(c->jobs[0].job.spec.batch_id, "nightly");  // still shown
  for (const auto& j : c->jobs) {
    auto r = store->JobFinish({now_, j.lease, Outcome::Failed("x", "y", false)});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  auto cancel = store->JobCancel({now_, 2});
  EXPECT_TRUE(cancel.ok());
  b = store->BatchGet(1);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->done(), 0);
  EXPECT_FALSE(b->finished_at);
}

}  // namespace
}  // namespace jobtape::store::sqlite
