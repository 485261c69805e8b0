// The SQLite writer's remembered running attempts (store/sqlite/writer_cache.hpp)
// are a hint: every lease-fenced write must behave as if it read the row,
// whatever rolled-back requests left behind; and the tape's `created` event,
// served from the job row, pages like any other.
#include <gtest/gtest.h>

#include <algorithm>

#include "sqlite_fixture.hpp"
#include "store/sqlite/schema.hpp"

namespace jobtape::store::sqlite {
namespace {

// The writer remembers running attempts so a finish need not read the row
// back (WriterCache). A request that appended and then failed is rolled back
// while the remembered attempt had moved on; the compare-and-sets must notice
// and fall back to the row, or the final would land after a gap.
TEST_F(SqliteStoreTest, RememberedAttemptsAreCheckedByEveryCompareAndSet) {
  auto db = Db::Open(path_, Db::Mode::kReadWrite);
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(Migrate(**db).ok());
  Writer writer(std::move(*db), 16, 1, [](TxnEffects&) {});
  auto enq = RunRequest<EnqueueResult>(writer, [&](WriteCtx& c) {
    return OpEnqueue(c, EnqueueParams{now_, {Spec()}});
  });
  ASSERT_TRUE(enq.ok()) << enq.status().ToString();
  auto claim = RunRequest<ClaimResult>(writer, [&](WriteCtx& c) {
    return OpClaim(c, ClaimParams{now_, "w1", "", {"default"}, 1, std::chrono::seconds(30)});
  });
  ASSERT_TRUE(claim.ok() && claim->jobs.size() == 1u);
  const Lease lease = claim->jobs[0].lease;

  auto failed = RunRequest<AppendResult>(writer, [&](WriteCtx& c) -> Result<AppendResult> {
    auto r = OpAppend(c, AppendParams{now_, lease, {NewEvent{EventType::kLog, "{}"}}});
    EXPECT_TRUE(r.ok());
    return Status::Internal("fails after its append");
  });
  EXPECT_EQ(failed.status().code(), ErrorCode::kInternal);

  auto hb = RunRequest<HeartbeatResult>(writer, [&](WriteCtx& c) {
    return OpHeartbeat(c, HeartbeatParams{now_, lease});
  });
  EXPECT_TRUE(hb.ok()) << hb.status().ToString();
  auto fin = RunRequest<FinishResult>(writer, [&](WriteCtx& c) {
    return OpFinish(c, FinishParams{now_, lease, Outcome::Succeeded()});
  });
  ASSERT_TRUE(fin.ok()) << fin.status().ToString();
  EXPECT_EQ(fin->last_seq, 3);
  auto again = RunRequest<FinishResult>(writer, [&](WriteCtx& c) {
    return OpFinish(c, FinishParams{now_, lease, Outcome::Succeeded()});
  });
  EXPECT_EQ(again.status().code(), ErrorCode::kStaleLease);

  auto check = Db::Open(path_, Db::Mode::kReadOnly);
  ASSERT_TRUE(check.ok());
  Stmt q =
      (*check)->PrepareOnce("SELECT group_concat(seq) FROM (SELECT seq FROM events ORDER BY seq)");
  ASSERT_TRUE(*q.Step());
  EXPECT_EQ(q.Text(0), "2,3");  // started, final; `created` is the row's
}

class WriterCacheTest : public SqliteStoreTest {
 protected:
  std::unique_ptr<Writer> NewWriter(uint64_t seed = 1) {
    auto db = Db::Open(path_, Db::Mode::kReadWrite);
    EXPECT_TRUE(db.ok());
    EXPECT_TRUE(Migrate(**db).ok());
    return std::make_unique<Writer>(std::move(*db), 16, seed, [](TxnEffects&) {});
  }
  JobId Enqueue(Writer& w, JobSpec spec) {
    auto enq = RunRequest<EnqueueResult>(w, [&](WriteCtx& c) {
      return OpEnqueue(c, EnqueueParams{now_, {spec}});
    });
    EXPECT_TRUE(enq.ok());
    return enq->jobs[0].id;
  }
  Result<ClaimResult> Claim(Writer& w, TimePoint now, Duration ttl = std::chrono::seconds(30)) {
    return RunRequest<ClaimResult>(w, [&](WriteCtx& c) {
      return OpClaim(c, ClaimParams{now, "w1", "", {"default"}, 1, ttl});
    });
  }
  Result<HeartbeatResult> Heartbeat(Writer& w, const Lease& l, TimePoint now,
                                    Duration ttl = std::chrono::seconds(30)) {
    return RunRequest<HeartbeatResult>(w, [&](WriteCtx& c) {
      return OpHeartbeat(c, HeartbeatParams{now, l, ttl});
    });
  }
  Result<FinishResult> Finish(Writer& w, const Lease& l, Outcome o, TimePoint now) {
    return RunRequest<FinishResult>(w, [&](WriteCtx& c) {
      return OpFinish(c, FinishParams{now, l, o});
    });
  }
  Result<AppendResult> Append(Writer& w, const Lease& l, TimePoint now) {
    return RunRequest<AppendResult>(w, [&](WriteCtx& c) {
      return OpAppend(c, AppendParams{now, l, {NewEvent{EventType::kLog, "{}"}}});
    });
  }
  std::string Seqs(JobId id) {
    auto check = Db::Open(path_, Db::Mode::kReadOnly);
    EXPECT_TRUE(check.ok());
    Stmt q = (*check)->PrepareOnce(
        "SELECT group_concat(seq) FROM (SELECT seq FROM events WHERE job_id = ?1 ORDER BY seq)");
    q.Bind(1, id);
    EXPECT_TRUE(*q.Step());
    return q.IsNull(0) ? "" : q.Text(0);
  }
};

TEST_F(WriterCacheTest, RolledBackClaimLeavesAnEntryWhoseTokenIsNeverAccepted) {
  auto w = NewWriter();
  const JobId id = Enqueue(*w, Spec());
  std::optional<Lease> ghost;
  auto rolled = RunRequest<ClaimResult>(*w, [&](WriteCtx& c) -> Result<ClaimResult> {
    auto r = OpClaim(c, ClaimParams{now_, "w0", "", {"default"}, 1, std::chrono::seconds(30)});
    EXPECT_TRUE(r.ok() && r->jobs.size() == 1u);
    ghost = r->jobs[0].lease;
    return Status::Internal("rolled back after the claim");
  });
  ASSERT_FALSE(rolled.ok());
  ASSERT_TRUE(ghost);
  EXPECT_EQ(Heartbeat(*w, *ghost, now_).status().code(), ErrorCode::kStaleLease);
  EXPECT_EQ(Append(*w, *ghost, now_).status().code(), ErrorCode::kStaleLease);
  EXPECT_EQ(Finish(*w, *ghost, Outcome::Succeeded(), now_).status().code(), ErrorCode::kStaleLease);
  // Rolled back once more (the cache again holds a ghost), then a real claim.
  (void)RunRequest<ClaimResult>(*w, [&](WriteCtx& c) -> Result<ClaimResult> {
    auto r = OpClaim(c, ClaimParams{now_, "w0", "", {"default"}, 1, std::chrono::seconds(30)});
    ghost = r->jobs[0].lease;
    return Status::Internal("rolled back after the claim");
  });
  auto real = Claim(*w, now_);
  ASSERT_TRUE(real.ok() && real->jobs.size() == 1u);
  const Lease lease = real->jobs[0].lease;
  EXPECT_EQ(lease.attempt, ghost->attempt);
  EXPECT_EQ(Heartbeat(*w, *ghost, now_).status().code(), ErrorCode::kStaleLease);
  EXPECT_EQ(Finish(*w, *ghost, Outcome::Succeeded(), now_).status().code(), ErrorCode::kStaleLease);
  EXPECT_TRUE(Heartbeat(*w, lease, now_).ok());
  auto fin = Finish(*w, lease, Outcome::Succeeded(), now_);
  ASSERT_TRUE(fin.ok()) << fin.status().ToString();
  EXPECT_EQ(fin->last_seq, 3);
  EXPECT_EQ(Seqs(id), "2,3");
}

TEST_F(WriterCacheTest, HeartbeatThroughTheCacheNeverOutlivesCancelOrTimeout) {
  auto w = NewWriter();
  JobSpec spec = Spec();
  spec.timeout = std::chrono::seconds(20);
  const JobId id = Enqueue(*w, spec);
  auto c = Claim(*w, now_);
  ASSERT_TRUE(c.ok() && c->jobs.size() == 1u);
  const Lease lease = c->jobs[0].lease;
  auto hb = Heartbeat(*w, lease, now_, std::chrono::seconds(60));
  ASSERT_TRUE(hb.ok());
  EXPECT_EQ(hb->expires_at, now_ + std::chrono::seconds(20));  // runtime backstop
  // A cancel that is rolled back changes nothing.
  (void)RunRequest<CancelResult>(*w, [&](WriteCtx& ctx) -> Result<CancelResult> {
    auto r = OpCancel(ctx, CancelParams{now_, id, std::chrono::seconds(5), ""});
    EXPECT_TRUE(r.ok());
    return Status::Internal("rolled back after the cancel");
  });
  hb = Heartbeat(*w, lease, now_, std::chrono::seconds(10));
  ASSERT_TRUE(hb.ok());
  EXPECT_FALSE(hb->cancel_requested);
  EXPECT_EQ(hb->expires_at, now_ + std::chrono::seconds(10));
  // Batch-less cancel, then heartbeat in the same batch-of-one and later.
  auto cr = RunRequest<CancelResult>(*w, [&](WriteCtx& ctx) {
    return OpCancel(ctx, CancelParams{now_, id, std::chrono::seconds(5), ""});
  });
  ASSERT_TRUE(cr.ok() && cr->cancel_requested);
  hb = Heartbeat(*w, lease, now_, std::chrono::seconds(60));
  ASSERT_TRUE(hb.ok());
  EXPECT_TRUE(hb->cancel_requested);
  EXPECT_EQ(hb->expires_at, now_ + std::chrono::seconds(5));
  EXPECT_EQ(Heartbeat(*w, lease, now_ + std::chrono::seconds(6)).status().code(),
            ErrorCode::kStaleLease);
  auto ap = Append(*w, lease, now_);
  ASSERT_TRUE(ap.ok());
  EXPECT_EQ(ap->last_seq, 4);  // created, started, cancel_requested, log
  auto fin = Finish(*w, lease, Outcome::Failed("x", "y"), now_);
  ASSERT_TRUE(fin.ok());
  EXPECT_EQ(fin->state, JobState::kCancelled);
  EXPECT_EQ(Seqs(id), "2,3,4,5");
}

TEST_F(WriterCacheTest, RetryReclaimAndFinishManyTwiceAndReap) {
  auto w = NewWriter();
  JobSpec spec = Spec();
  spec.max_attempts = 3;
  spec.backoff.initial = Duration::zero();
  spec.backoff.jitter = 0;
  const JobId id = Enqueue(*w, spec);
  auto c1 = Claim(*w, now_);
  ASSERT_TRUE(c1.ok() && c1->jobs.size() == 1u);
  const Lease l1 = c1->jobs[0].lease;
  auto f1 = Finish(*w, l1, Outcome::Failed("x", "y"), now_);
  ASSERT_TRUE(f1.ok());
  ASSERT_EQ(f1->state, JobState::kQueued);
  auto c2 = Claim(*w, now_, std::chrono::seconds(1));
  ASSERT_TRUE(c2.ok() && c2->jobs.size() == 1u);
  const Lease l2 = c2->jobs[0].lease;
  EXPECT_EQ(Heartbeat(*w, l1, now_).status().code(), ErrorCode::kStaleLease);
  EXPECT_EQ(Append(*w, l1, now_).status().code(), ErrorCode::kStaleLease);
  EXPECT_TRUE(Append(*w, l2, now_).ok());
  // Reaped (lease ran out), then the old lease refused, through the cache.
  auto reaped = RunRequest<ReapResult>(*w, [&](WriteCtx& ctx) {
    return OpReap(ctx, ReapParams{now_ + std::chrono::seconds(2), 1000, {}});
  });
  ASSERT_TRUE(reaped.ok());
  EXPECT_EQ(reaped->job_ids.size(), 1u);
  EXPECT_EQ(Heartbeat(*w, l2, now_ + std::chrono::seconds(2)).status().code(),
            ErrorCode::kStaleLease);
  EXPECT_EQ(Finish(*w, l2, Outcome::Succeeded(), now_).status().code(), ErrorCode::kStaleLease);
  auto c3 = Claim(*w, now_ + std::chrono::seconds(3));
  ASSERT_TRUE(c3.ok() && c3->jobs.size() == 1u);
  const Lease l3 = c3->jobs[0].lease;
  std::vector<FinishParams> two{{now_, l3, Outcome::Succeeded()}, {now_, l3, Outcome::Succeeded()}};
  auto many = RunRequest<std::vector<Result<FinishResult>>>(*w, [&](WriteCtx& ctx) {
    return OpFinishMany(ctx, two, {Status::Ok(), Status::Ok()});
  });
  ASSERT_TRUE(many.ok());
  ASSERT_TRUE((*many)[0].ok());
  EXPECT_EQ((*many)[1].status().code(), ErrorCode::kStaleLease);
  EXPECT_EQ(Seqs(id), "2,3,4,5,6,7,8");
}

// A seeded store draws the same retry jitter whether or not the remembered
// attempt was current (a finish that falls back to the row draws once).
TEST_F(WriterCacheTest, JitterIsTheSameWhetherTheRememberedAttemptWasCurrentOrNot) {
  auto run = [&](bool force_miss) {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto w = NewWriter(42);
    JobSpec spec = Spec();
    spec.backoff.jitter = 1.0;
    Enqueue(*w, spec);
    auto c = Claim(*w, now_);
    const Lease l = c->jobs[0].lease;
    if (force_miss) {
      (void)RunRequest<AppendResult>(*w, [&](WriteCtx& ctx) -> Result<AppendResult> {
        (void)OpAppend(ctx, AppendParams{now_, l, {NewEvent{EventType::kLog, "{}"}}});
        return Status::Internal("rolled back");
      });
    }
    auto f = Finish(*w, l, Outcome::Failed("x", "y"), now_);
    return f.ok() && f->retry_at ? ToMicros(*f->retry_at) : -1;
  };
  const int64_t hit = run(false);
  const int64_t miss = run(true);
  EXPECT_NE(hit, -1);
  EXPECT_EQ(hit, miss) << "retry_at differs with a cache miss: rng drawn twice";
}

TEST_F(WriterCacheTest, TapeReadPagingWithSynthesizedCreated) {
  auto w = NewWriter();
  const JobId id = Enqueue(*w, Spec());
  auto c = Claim(*w, now_);
  const Lease l = c->jobs[0].lease;
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(Append(*w, l, now_).ok());
  auto rd = Db::Open(path_, Db::Mode::kReadOnly);
  ASSERT_TRUE(rd.ok());
  // Tiny byte budget: one event per page, and walking the pages sees 1..7.
  std::string seen;
  Seq after = 0;
  for (int guard = 0; guard < 20; ++guard) {
    auto page = OpTapeRead(**rd, TapeReadParams{id, after, 1000}, 1);
    ASSERT_TRUE(page.ok());
    EXPECT_EQ(page->last_seq, 7);
    if (page->events.empty()) break;
    EXPECT_EQ(page->events.size(), 1u);
    for (auto& e : page->events)
      seen += std::to_string(e.seq) + ",";
    after = page->events.back().seq;
  }
  EXPECT_EQ(seen, "1,2,3,4,5,6,7,");
  for (int limit = 1; limit <= 8; ++limit) {
    auto page = OpTapeRead(**rd, TapeReadParams{id, 0, limit}, 1 << 20);
    ASSERT_TRUE(page.ok());
    ASSERT_EQ(page->events.size(), static_cast<size_t>(std::min(limit, 7)));
    for (size_t i = 0; i < page->events.size(); ++i)
      EXPECT_EQ(page->events[i].seq, Seq(i + 1));
  }
}

}  // namespace
}  // namespace jobtape::store::sqlite
