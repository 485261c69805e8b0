#include "fake_store.hpp"

#include <algorithm>
#include <memory>

namespace jobtape::engine::testing {
namespace {

Status NotImplemented() {
  return Status::Unavailable("not implemented by FakeStore");
}

}  // namespace

FakeStore::FakeStore() {
  thread_ = std::thread([this] { Loop(); });
}

FakeStore::~FakeStore() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void FakeStore::AddObserver(store::StoreObserver* observer) {
  observers_.push_back(observer);
}

void FakeStore::Post(Task task) {
  std::lock_guard<std::mutex> lock(mu_);
  tasks_.push_back(std::move(task));
  cv_.notify_all();
}

void FakeStore::Loop() {
  while (true) {
    Task task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

Event FakeStore::AppendLocked(JobId id, FakeJob& job, EventType type, TimePoint at,
                              std::string data) {
  Event e;
  e.job_id = id;
  e.seq = static_cast<Seq>(job.tape.size()) + 1;
  e.type = type;
  e.at = at;
  e.attempt = job.attempt;
  e.data = std::move(data);
  job.tape.push_back(e);
  return e;
}

void FakeStore::Publish(const std::vector<Event>& events,
                        const std::vector<std::pair<std::string, std::optional<TimePoint>>>& work) {
  for (store::StoreObserver* o : observers_) {
    if (!events.empty()) o->OnEvents(events);
    for (const auto& [queue, due] : work)
      o->OnWork(queue, due);
  }
}

JobId FakeStore::CreateJobNow(const std::string& queue, TimePoint now,
                              std::optional<TimePoint> run_at, bool notify) {
  std::vector<Event> events;
  JobId id;
  const bool scheduled = run_at && *run_at > now;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = next_id_++;
    FakeJob& job = jobs_[id];
    job.queue = queue;
    job.state = scheduled ? JobState::kScheduled : JobState::kQueued;
    job.run_at = run_at.value_or(now);
    events.push_back(AppendLocked(id, job, EventType::kCreated, now, "{}"));
  }
  if (notify) Publish(events, {{queue, scheduled ? run_at : std::nullopt}});
  return id;
}

Seq FakeStore::AppendNow(JobId id, EventType type, int count) {
  std::vector<Event> events;
  Seq last = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    FakeJob& job = jobs_.at(id);
    for (int i = 0; i < count; ++i) {
      std::string data = "{\"i\":" + std::to_string(i) + "}";
      events.push_back(AppendLocked(id, job, type, TimePoint{}, std::move(data)));
      if (type == EventType::kFinal) job.state = JobState::kSucceeded;
    }
    last = static_cast<Seq>(job.tape.size());
  }
  Publish(events, {});
  return last;
}

void FakeStore::JobsEnqueueAsync(store::EnqueueParams p, store::Done<store::EnqueueResult> done) {
  Post([this, p = std::move(p), done = std::move(done)] {
    store::EnqueueResult out;
    std::vector<Event> events;
    std::map<std::string, std::optional<TimePoint>> work;  // per queue: nullopt = ready now
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const JobSpec& spec : p.jobs) {
        const JobId id = next_id_++;
        FakeJob& job = jobs_[id];
        job.queue = spec.queue;
        const bool scheduled = spec.run_at && *spec.run_at > p.now;
        job.state = scheduled ? JobState::kScheduled : JobState::kQueued;
        job.run_at = spec.run_at.value_or(p.now);
        events.push_back(AppendLocked(id, job, EventType::kCreated, p.now, "{}"));
        out.jobs.push_back(store::EnqueuedJob{id, job.state, false});
        auto [it, inserted] = work.try_emplace(spec.queue, job.run_at);
        if (!scheduled) {
          it->second = std::nullopt;
        } else if (!inserted && it->second) {
          it->second = std::min(*it->second, job.run_at);
        }
      }
    }
    // One work signal per queue per request, as a group commit would give.
    Publish(events, {work.begin(), work.end()});
    done(std::move(out));
  });
}

void FakeStore::JobsClaimAsync(store::ClaimParams p, store::Done<store::ClaimResult> done) {
  Post([this, p = std::move(p), done = std::move(done)] {
    std::optional<Result<store::ClaimResult>> result;
    std::vector<Event> events;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++claims_;
      cv_.notify_all();
      if (fail_claims_) {
        result.emplace(*fail_claims_);
      } else {
        store::ClaimResult out;
        for (const std::string& q : p.queues) {
          for (auto& [id, job] : jobs_) {
            if (static_cast<int>(out.jobs.size()) >= p.max) break;
            const bool ready = job.state == JobState::kQueued ||
                               (job.state == JobState::kScheduled && job.run_at <= p.now);
            if (job.queue != q || !ready) continue;
            job.state = JobState::kRunning;
            ++job.attempt;
            job.token = "t" + std::to_string(id) + "." + std::to_string(job.attempt);
            events.push_back(AppendLocked(id, job, EventType::kStarted, p.now, "{}"));
            store::ClaimedJob claimed;
            claimed.job.id = id;
            claimed.job.spec.queue = job.queue;
            claimed.job.state = JobState::kRunning;
            claimed.job.attempt = job.attempt;
            claimed.lease = Lease{id, job.attempt, job.token, p.now + p.lease_ttl};
            out.jobs.push_back(std::move(claimed));
          }
        }
        if (static_cast<int>(out.jobs.size()) < p.max) {
          for (const auto& [id, job] : jobs_) {
            const bool mine =
                std::find(p.queues.begin(), p.queues.end(), job.queue) != p.queues.end();
            if (mine && job.state == JobState::kScheduled && job.run_at > p.now &&
                (!out.next_due || job.run_at < *out.next_due)) {
              out.next_due = job.run_at;
            }
          }
        }
        result.emplace(std::move(out));
      }
    }
    Publish(events, {});
    auto shared = std::make_shared<Result<store::ClaimResult>>(std::move(*result));
    Task complete = [done, shared] { done(std::move(*shared)); };
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (hold_claims_) {
        held_claims_.push_back(std::move(complete));
        return;
      }
    }
    complete();
  });
}

void FakeStore::TapeAppendAsync(store::AppendParams p, store::Done<store::AppendResult> done) {
  Post([this, p = std::move(p), done = std::move(done)] {
    std::vector<Event> events;
    Seq last = 0;
    bool stale = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = jobs_.find(p.lease.job_id);
      stale = it == jobs_.end() || it->second.state != JobState::kRunning ||
              it->second.attempt != p.lease.attempt || it->second.token != p.lease.token;
      if (!stale) {
        for (const NewEvent& e : p.events) {
          events.push_back(AppendLocked(it->first, it->second, e.type, p.now, e.data));
        }
        last = static_cast<Seq>(it->second.tape.size());
      }
    }
    if (stale) {
      done(Status::StaleLease("stale lease"));
      return;
    }
    Publish(events, {});
    done(store::AppendResult{last});
  });
}

void FakeStore::JobFinishAsync(store::FinishParams p, store::Done<store::FinishResult> done) {
  Post([this, p = std::move(p), done = std::move(done)] {
    std::vector<Event> events;
    store::FinishResult out;
    std::string queue;
    bool stale = false;
    [&] {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = jobs_.find(p.lease.job_id);
      stale = it == jobs_.end() || it->second.state != JobState::kRunning ||
              it->second.attempt != p.lease.attempt || it->second.token != p.lease.token;
      if (stale) return;
      FakeJob& job = it->second;
      job.state = p.outcome.kind == Outcome::Kind::kSucceeded ? JobState::kSucceeded
                  : p.outcome.kind == Outcome::Kind::kFailed  ? JobState::kFailed
                                                              : JobState::kCancelled;
      events.push_back(AppendLocked(it->first, job, EventType::kFinal, p.now, "{}"));
      out.state = job.state;
      out.last_seq = static_cast<Seq>(job.tape.size());
      queue = job.queue;
    }();
    if (stale) {
      done(Status::StaleLease("stale lease"));
      return;
    }
    Publish(events, {{queue, std::nullopt}});  // freed capacity
    done(std::move(out));
  });
}

store::TapePage FakeStore::ReadLocked(const store::TapeReadParams& p) const {
  store::TapePage page;
  const FakeJob& job = jobs_.at(p.job_id);
  for (const Event& e : job.tape) {
    if (static_cast<int>(page.events.size()) >= p.limit) break;
    if (e.seq > p.after) page.events.push_back(e);
  }
  page.state = job.state;
  page.last_seq = static_cast<Seq>(job.tape.size());
  return page;
}

void FakeStore::TapeReadAsync(store::TapeReadParams p, store::Done<store::TapePage> done) {
  Task read = [this, p, done] {
    std::optional<Result<store::TapePage>> result;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (jobs_.count(p.job_id) == 0) {
        result.emplace(Status::NotFound("no such job"));
      } else {
        result.emplace(ReadLocked(p));
      }
    }
    auto shared = std::make_shared<Result<store::TapePage>>(std::move(*result));
    Task complete = [done, shared] { done(std::move(*shared)); };
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (hold_reads_ == Hold::kAfter) {
        held_reads_.push_back(std::move(complete));
        cv_.notify_all();
        return;
      }
    }
    complete();
  };
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++reads_;
    cv_.notify_all();
    if (hold_reads_ == Hold::kBefore) {
      held_reads_.push_back([this, read] { Post(read); });
      return;
    }
  }
  Post(std::move(read));
}

void FakeStore::HoldClaimCompletions() {
  std::lock_guard<std::mutex> lock(mu_);
  hold_claims_ = true;
}

void FakeStore::ReleaseClaimCompletions() {
  std::vector<Task> held;
  {
    std::lock_guard<std::mutex> lock(mu_);
    hold_claims_ = false;
    held.swap(held_claims_);
  }
  for (auto& t : held)
    Post(std::move(t));
}

void FakeStore::HoldReads(Hold how) {
  std::lock_guard<std::mutex> lock(mu_);
  hold_reads_ = how;
}

void FakeStore::ReleaseReads() {
  std::vector<Task> held;
  {
    std::lock_guard<std::mutex> lock(mu_);
    hold_reads_ = Hold::kNone;
    held.swap(held_reads_);
  }
  for (auto& t : held)
    Post(std::move(t));
}

void FakeStore::WaitForHeldReads(int n) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return static_cast<int>(held_reads_.size()) >= n; });
}

void FakeStore::WaitForClaims(int n) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return claims_ >= n; });
}

int FakeStore::reads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reads_;
}

int FakeStore::claims() const {
  std::lock_guard<std::mutex> lock(mu_);
  return claims_;
}

void FakeStore::FailClaims(std::optional<Status> status) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_claims_ = std::move(status);
}

// ---- not needed by the engine tests ----

void FakeStore::LeaseHeartbeatAsync(store::HeartbeatParams, store::Done<store::HeartbeatResult> d) {
  d(NotImplemented());
}
void FakeStore::JobsFinishAsync(std::vector<store::FinishParams>,
                                store::Done<std::vector<Result<store::FinishResult>>> d) {
  d(NotImplemented());
}
void FakeStore::JobCancelAsync(store::CancelParams, store::Done<store::CancelResult> d) {
  d(NotImplemented());
}
void FakeStore::JobRetryAsync(store::RetryParams, store::Done<store::EnqueuedJob> d) {
  d(NotImplemented());
}
void FakeStore::LeasesReapExpiredAsync(store::ReapParams, store::Done<store::ReapResult> d) {
  d(NotImplemented());
}
void FakeStore::AttemptsRecoverAsync(store::RecoverParams, store::Done<store::RecoverResult> d) {
  d(NotImplemented());
}
void FakeStore::QueueUpdateAsync(store::QueueUpdateParams, store::Done<store::QueueInfo> d) {
  d(NotImplemented());
}
void FakeStore::JobGetAsync(JobId, store::Done<Job> d) {
  d(NotImplemented());
}
void FakeStore::JobsListAsync(store::ListParams, store::Done<store::JobPage> d) {
  d(NotImplemented());
}
void FakeStore::QueuesListAsync(store::Done<std::vector<store::QueueInfo>> d) {
  d(NotImplemented());
}
void FakeStore::HealthAsync(store::Done<store::StoreHealth> d) {
  d(NotImplemented());
}
void FakeStore::ScheduleUpsertAsync(store::ScheduleUpsertParams,
                                    store::Done<store::ScheduleUpsertResult> d) {
  d(NotImplemented());
}
void FakeStore::ScheduleDeleteAsync(std::string, store::Done<store::Schedule> d) {
  d(NotImplemented());
}
void FakeStore::SchedulesFireDueAsync(store::SchedulesFireDueParams,
                                      store::Done<store::SchedulesFireDueResult> d) {
  d(NotImplemented());
}
void FakeStore::ScheduleGetAsync(std::string, store::Done<store::Schedule> d) {
  d(NotImplemented());
}
void FakeStore::SchedulesListAsync(store::SchedulesListParams, store::Done<store::SchedulePage> d) {
  d(NotImplemented());
}
void FakeStore::BatchCreateAsync(store::BatchCreateParams,
                                 store::Done<store::BatchCreateResult> d) {
  d(NotImplemented());
}
void FakeStore::BatchCancelAsync(store::BatchCancelParams,
                                 store::Done<store::BatchCancelResult> d) {
  d(NotImplemented());
}
void FakeStore::BatchGetAsync(store::BatchId, store::Done<store::BatchInfo> d) {
  d(NotImplemented());
}

}  // namespace jobtape::engine::testing
