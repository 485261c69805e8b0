#include "store/sqlite/sqlite_store.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <mutex>
#include <set>

#include "store/batch_rules.hpp"
#include "store/rules.hpp"
#include "store/schedule_rules.hpp"
#include "store/sqlite/ops.hpp"
#include "store/sqlite/schema.hpp"
#include "store/sqlite/writer.hpp"

namespace jobtape::store::sqlite {
namespace {

using Counts = std::array<int64_t, kJobStateCount>;

class SqliteStore final : public Store {
 public:
  SqliteStore(const Options& options, int schema_version)
      : options_(options), schema_version_(schema_version) {}

  ~SqliteStore() override {
    // Writer first (it drains its queue; rejected input completes on readers).
    writer_.reset();
    readers_.reset();
  }

  Status Start(std::unique_ptr<Db> writer_db, std::vector<std::unique_ptr<Db>> reader_dbs) {
    auto counts = OpCountByQueueState(*writer_db);
    if (!counts.ok()) return counts.status();
    for (const CountDelta& c : *counts) {
      counts_[c.queue][static_cast<int>(c.state)] += c.delta;
    }
    readers_ = std::make_unique<ReaderPool>(std::move(reader_dbs));
    writer_ =
        std::make_unique<Writer>(std::move(writer_db), options_.max_batch, options_.random_seed,
                                 [this](TxnEffects& fx) { Publish(fx); });
    return Status::Ok();
  }

  void AddObserver(StoreObserver* observer) override { observers_.push_back(observer); }

  void JobsEnqueueAsync(EnqueueParams p, Done<EnqueueResult> done) override {
    Status v = ValidateEnqueue(p, options_.limits);
    Write<EnqueueResult>(std::move(v), std::move(done),
                         [p = std::move(p)](WriteCtx& c) { return OpEnqueue(c, p); });
  }
  void JobsClaimAsync(ClaimParams p, Done<ClaimResult> done) override {
    Status v = ValidateClaim(p, options_.limits);
    // The writer starts the attempts; the claimed rows are read afterwards on
    // a reader connection, so the one writer thread spends nothing on them
    // (and the claimer's completion runs on a reader thread too).
    Write<ClaimResult>(
        std::move(v),
        [this, done = std::move(done)](Result<ClaimResult> r) mutable {
          if (!r.ok() || r->jobs.empty()) {
            done(std::move(r));
            return;
          }
          readers_->Submit([r = std::move(r), done = std::move(done)](Db& db) mutable {
            done(OpHydrateClaimed(db, *r));
          });
        },
        [p = std::move(p)](WriteCtx& c) { return OpClaim(c, p); });
  }
  void LeaseHeartbeatAsync(HeartbeatParams p, Done<HeartbeatResult> done) override {
    Status v = ValidateLeaseTtl(p.lease_ttl);
    Write<HeartbeatResult>(std::move(v), std::move(done),
                           [p = std::move(p)](WriteCtx& c) { return OpHeartbeat(c, p); });
  }
  void TapeAppendAsync(AppendParams p, Done<AppendResult> done) override {
    Status v = ValidateAppend(p, options_.limits);
    Write<AppendResult>(std::move(v), std::move(done),
                        [p = std::move(p)](WriteCtx& c) { return OpAppend(c, p); });
  }
  void JobFinishAsync(FinishParams p, Done<FinishResult> done) override {
    Status v = ValidateFinish(p, options_.limits);
    Write<FinishResult>(std::move(v), std::move(done),
                        [p = std::move(p)](WriteCtx& c) { return OpFinish(c, p); });
  }
  void JobsFinishAsync(std::vector<FinishParams> p,
                       Done<std::vector<Result<FinishResult>>> done) override {
    Status v = p.empty() || p.size() > options_.limits.max_claim
                   ? Status::InvalidArgument("1 to max_claim items", "items")
                   : Status::Ok();
    std::vector<Status> invalid;
    invalid.reserve(p.size());
    for (const FinishParams& item : p)
      invalid.push_back(ValidateFinish(item, options_.limits));
    Write<std::vector<Result<FinishResult>>>(
        std::move(v), std::move(done),
        [p = std::move(p), invalid = std::move(invalid)](WriteCtx& c) {
          return OpFinishMany(c, p, invalid);
        });
  }
  void JobCancelAsync(CancelParams p, Done<CancelResult> done) override {
    Status v = ValidateCancel(p);
    Write<CancelResult>(std::move(v), std::move(done),
                        [p = std::move(p)](WriteCtx& c) { return OpCancel(c, p); });
  }
  void JobRetryAsync(RetryParams p, Done<EnqueuedJob> done) override {
    Write<EnqueuedJob>(Status::Ok(), std::move(done),
                       [p = std::move(p)](WriteCtx& c) { return OpRetry(c, p); });
  }
  void LeasesReapExpiredAsync(ReapParams p, Done<ReapResult> done) override {
    Status v = p.limit < 1 ? Status::InvalidArgument("must be >= 1", "limit") : Status::Ok();
    Write<ReapResult>(std::move(v), std::move(done),
                      [p = std::move(p)](WriteCtx& c) { return OpReap(c, p); });
  }
  void AttemptsRecoverAsync(RecoverParams p, Done<RecoverResult> done) override {
    Status v = p.node_id.empty() ? Status::InvalidArgument("required", "node_id") : Status::Ok();
    Write<RecoverResult>(std::move(v), std::move(done),
                         [p = std::move(p)](WriteCtx& c) { return OpRecover(c, p); });
  }
  void QueueUpdateAsync(QueueUpdateParams p, Done<QueueInfo> done) override {
    auto fill = [this](Result<QueueInfo> r, Done<QueueInfo>& d) {
      if (r.ok()) FillCounts(*r);
      d(std::move(r));
    };
    Status v = ValidateQueueUpdate(p);
    Write<QueueInfo>(
        std::move(v),
        [fill, done = std::move(done)](Result<QueueInfo> r) mutable { fill(std::move(r), done); },
        [p = std::move(p)](WriteCtx& c) { return OpQueueUpdate(c, p); });
  }

  void ScheduleUpsertAsync(ScheduleUpsertParams p, Done<ScheduleUpsertResult> done) override {
    Status v = ValidateScheduleUpsert(p, options_.limits);
    Write<ScheduleUpsertResult>(std::move(v), std::move(done),
                                [p = std::move(p)](WriteCtx& c) { return OpScheduleUpsert(c, p); });
  }
  void ScheduleDeleteAsync(std::string name, Done<Schedule> done) override {
    Status v = ValidateScheduleName(name);
    Write<Schedule>(std::move(v), std::move(done),
                    [name = std::move(name)](WriteCtx& c) { return OpScheduleDelete(c, name); });
  }
  void SchedulesFireDueAsync(SchedulesFireDueParams p, Done<SchedulesFireDueResult> done) override {
    Status v = ValidateSchedulesFireDue(p);
    Write<SchedulesFireDueResult>(
        std::move(v), std::move(done),
        [p = std::move(p), &hook = options_.test_before_fire_commit](WriteCtx& c) {
          auto r = OpSchedulesFireDue(c, p);
          if (r.ok() && hook) hook(*r);
          return r;
        });
  }

  void BatchCreateAsync(BatchCreateParams p, Done<BatchCreateResult> done) override {
    Status v = ValidateBatchCreate(p, options_.limits);
    Write<BatchCreateResult>(std::move(v), std::move(done),
                             [p = std::move(p)](WriteCtx& c) { return OpBatchCreate(c, p); });
  }
  void BatchCancelAsync(BatchCancelParams p, Done<BatchCancelResult> done) override {
    Status v = ValidateBatchCancel(p);
    Write<BatchCancelResult>(std::move(v), std::move(done),
                             [p = std::move(p)](WriteCtx& c) { return OpBatchCancel(c, p); });
  }

  void JobGetAsync(JobId id, Done<Job> done) override {
    Read<Job>(Status::Ok(), std::move(done), [id](Db& db) { return OpGet(db, id); });
  }
  void JobsListAsync(ListParams p, Done<JobPage> done) override {
    Status v = ValidateList(p);
    Read<JobPage>(std::move(v), std::move(done),
                  [p = std::move(p), max = options_.limits.max_read_page_bytes](Db& db) {
                    return OpList(db, p, max);
                  });
  }
  void TapeReadAsync(TapeReadParams p, Done<TapePage> done) override {
    Status v = ValidateTapeRead(p);
    Read<TapePage>(std::move(v), std::move(done),
                   [p = std::move(p), max = options_.limits.max_read_page_bytes](Db& db) {
                     return OpTapeRead(db, p, max);
                   });
  }
  void QueuesListAsync(Done<std::vector<QueueInfo>> done) override {
    Read<std::vector<QueueInfo>>(Status::Ok(), std::move(done),
                                 [this](Db& db) -> Result<std::vector<QueueInfo>> {
                                   auto settings = OpQueueSettings(db);
                                   if (!settings.ok()) return settings;
                                   return MergeQueues(std::move(*settings));
                                 });
  }
  void ScheduleGetAsync(std::string name, Done<Schedule> done) override {
    Status v = ValidateScheduleName(name);
    Read<Schedule>(std::move(v), std::move(done),
                   [name = std::move(name)](Db& db) { return OpScheduleGet(db, name); });
  }
  void SchedulesListAsync(SchedulesListParams p, Done<SchedulePage> done) override {
    Status v = ValidateSchedulesList(p);
    Read<SchedulePage>(std::move(v), std::move(done),
                       [p = std::move(p)](Db& db) { return OpSchedulesList(db, p); });
  }
  void BatchGetAsync(BatchId id, Done<BatchInfo> done) override {
    Read<BatchInfo>(Status::Ok(), std::move(done), [id](Db& db) { return OpBatchGet(db, id); });
  }
  void HealthAsync(Done<StoreHealth> done) override {
    Read<StoreHealth>(Status::Ok(), std::move(done), [this](Db& db) -> Result<StoreHealth> {
      auto v = CurrentSchemaVersion(db);
      if (!v.ok()) return v.status();
      return StoreHealth{*v, LatestSchemaVersion(), "sqlite"};
    });
  }

  StoreStats Stats() const override { return writer_->Stats(); }
  const Limits& limits() const override { return options_.limits; }

 private:
  template <typename T>
  void Write(Status valid, Done<T> done, std::function<Result<T>(WriteCtx&)> fn) {
    if (!valid.ok()) {
      // Completions always run on a store thread, even for rejected input.
      readers_->Submit([valid = std::move(valid), done = std::move(done)](Db&) { done(valid); });
      return;
    }
    writer_->Submit(std::make_unique<TypedWriteRequest<T>>(std::move(fn), std::move(done)));
  }

  template <typename T>
  void Read(Status valid, Done<T> done, std::function<Result<T>(Db&)> fn) {
    readers_->Submit(
        [valid = std::move(valid), done = std::move(done), fn = std::move(fn)](Db& db) {
          if (!valid.ok()) {
            done(valid);
            return;
          }
          done(fn(db));
        });
  }

  // On the writer thread, after a commit and before the completions.
  void Publish(TxnEffects& fx) {
    if (!fx.counts.empty()) {
      std::lock_guard<std::mutex> g(counts_mu_);
      for (const CountDelta& c : fx.counts)
        counts_[c.queue][static_cast<int>(c.state)] += c.delta;
    }
    if (observers_.empty()) return;
    if (!fx.events.empty()) {
      for (StoreObserver* o : observers_)
        o->OnEvents(fx.events);
    }
    // One signal per queue: the earliest due time, or "now" if any is ready.
    std::map<std::string, std::optional<TimePoint>> per_queue;
    for (auto& [queue, due] : fx.work) {
      auto [it, inserted] = per_queue.emplace(queue, due);
      if (!inserted && it->second) {
        if (!due || *due < *it->second) it->second = due;
      }
    }
    for (auto& [queue, due] : per_queue) {
      for (StoreObserver* o : observers_)
        o->OnWork(queue, due);
    }
    if (!fx.batches.empty()) {
      std::sort(fx.batches.begin(), fx.batches.end());
      fx.batches.erase(std::unique(fx.batches.begin(), fx.batches.end()), fx.batches.end());
      for (StoreObserver* o : observers_)
        o->OnBatches(fx.batches);
    }
  }

  void FillCounts(QueueInfo& info) {
    std::lock_guard<std::mutex> g(counts_mu_);
    auto it = counts_.find(info.name);
    if (it != counts_.end()) std::copy(it->second.begin(), it->second.end(), info.counts);
  }

  std::vector<QueueInfo> MergeQueues(std::vector<QueueInfo> settings) {
    std::map<std::string, QueueInfo> merged;
    for (auto& s : settings)
      merged[s.name] = std::move(s);
    std::lock_guard<std::mutex> g(counts_mu_);
    for (auto& [name, counts] : counts_) {
      QueueInfo& info = merged[name];
      info.name = name;
      std::copy(counts.begin(), counts.end(), info.counts);
    }
    std::vector<QueueInfo> out;
    for (auto& [name, info] : merged)
      out.push_back(std::move(info));
    return out;
  }

  const Options options_;
  const int schema_version_;
  std::vector<StoreObserver*> observers_;  // set before use, then read-only
  std::mutex counts_mu_;
  std::map<std::string, Counts> counts_;  // GUARDED_BY(counts_mu_)
  std::unique_ptr<ReaderPool> readers_;
  std::unique_ptr<Writer> writer_;
};

Status ConfigureWriter(Db& db, Durability durability) {
  JT_RETURN_IF_ERROR(db.Exec("PRAGMA busy_timeout = 5000"));
  JT_RETURN_IF_ERROR(db.Exec("PRAGMA journal_mode = WAL"));
  JT_RETURN_IF_ERROR(db.Exec(durability == Durability::kFull ? "PRAGMA synchronous = FULL"
                                                             : "PRAGMA synchronous = NORMAL"));
  // 64 MiB page cache; keep the WAL file from growing without bound.
  JT_RETURN_IF_ERROR(db.Exec("PRAGMA cache_size = -65536"));
  JT_RETURN_IF_ERROR(db.Exec("PRAGMA journal_size_limit = 67108864"));
  JT_RETURN_IF_ERROR(db.Exec("PRAGMA temp_store = MEMORY"));
  return Status::Ok();
}

}  // namespace

int SchemaVersion() {
  return LatestSchemaVersion();
}

Result<std::unique_ptr<Store>> Open(const Options& options) {
  if (options.path.empty()) return Status::InvalidArgument("database path is empty", "path");
  auto writer = Db::Open(options.path, Db::Mode::kReadWrite);
  if (!writer.ok()) return writer.status();
  JT_RETURN_IF_ERROR(ConfigureWriter(**writer, options.durability));
  auto version = Migrate(**writer);
  if (!version.ok()) return version.status();
  std::vector<std::unique_ptr<Db>> readers;
  for (int i = 0; i < std::max(1, options.reader_threads); ++i) {
    auto r = Db::Open(options.path, Db::Mode::kReadOnly);
    if (!r.ok()) return r.status();
    JT_RETURN_IF_ERROR((*r)->Exec("PRAGMA busy_timeout = 5000"));
    JT_RETURN_IF_ERROR((*r)->Exec("PRAGMA cache_size = -16384"));
    readers.push_back(std::move(*r));
  }
  auto store = std::make_unique<SqliteStore>(options, *version);
  JT_RETURN_IF_ERROR(store->Start(std::move(*writer), std::move(readers)));
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace jobtape::store::sqlite
