// The worker SDK's lease keeping: the heartbeater (renewals, cancel requests,
// lost leases) and the completer (batched completions, failures), R2 and R5.
#include <algorithm>
#include <thread>

#include "client/worker_internal.hpp"

namespace jobtape::client {
namespace {

// A renewal that failed for a reason that may pass is tried again this soon
// (or at the heartbeat interval, if shorter), never past the lease's end.
constexpr std::chrono::milliseconds kHeartbeatRetry{1'000};
// A finish that could not be delivered (connection broken, server
// restarting) is sent up to this many times, waiting n x kFinishRetryDelay
// before try n + 1. A finish the server did receive and commit is then
// answered 409 and counted as a lost lease: the fencing makes a resend safe.
constexpr int kFinishTries = 3;
constexpr std::chrono::milliseconds kFinishRetryDelay{200};
// Completions per POST /v1/leases/complete are also capped by the size of
// their results, well below the server's 1 MiB body limit.
constexpr std::size_t kMaxCompleteBatchBytes = 512 * 1024;

template <typename Call>
auto WithRetries(Call&& call, Worker::State& state) {
  auto reply = call();
  for (int tries = 1;
       tries < kFinishTries && !reply.ok() && reply.status().code() == ErrorCode::kUnavailable;
       ++tries) {
    state.Report(reply.status());
    std::this_thread::sleep_for(kFinishRetryDelay * tries);
    reply = call();
  }
  return reply;
}

}  // namespace

// ---- bookkeeping ----

void Worker::State::ScheduleLocked(const JobPtr& job, SteadyClock::time_point due) {
  if (job->scheduled) schedule.erase({job->due, KeyOf(*job)});
  bool earliest = schedule.empty() || due < schedule.begin()->first;
  job->due = due;
  job->scheduled = true;
  schedule.insert({due, KeyOf(*job)});
  if (earliest) beat_cv.notify_one();
}

void Worker::State::RetireLocked(const JobPtr& job) {
  if (job->retired) return;
  job->retired = true;
  if (job->scheduled) schedule.erase({job->due, KeyOf(*job)});
  job->scheduled = false;
  auto it = active.find(KeyOf(*job));
  if (it != active.end() && it->second == job) active.erase(it);
}

void Worker::State::MarkLost(const JobPtr& job) {
  std::lock_guard<std::mutex> lock(mu);
  MarkLostLocked(job);
}

void Worker::State::MarkLostLocked(const JobPtr& job) {
  if (job->finish_sent) return;
  LoseLocked(job);
}

void Worker::State::LoseLocked(const JobPtr& job) {
  if (job->retired || job->lost.load()) return;
  job->lost.store(true);
  job->RequestStop(StopReason::kLeaseLost);
  if (job->scheduled) schedule.erase({job->due, KeyOf(*job)});
  job->scheduled = false;
  BumpLocked(&WorkerCounters::lost_leases);
}

// ---- the heartbeater ----

void Worker::State::HeartbeatLoop() {
  Client client(client_options);
  std::unique_lock<std::mutex> lock(mu);
  while (!heartbeater_exit) {
    const auto now = SteadyClock::now();
    if (schedule.empty()) {
      beat_cv.wait(lock);
      continue;
    }
    if (schedule.begin()->first > now) {
      // A copy: wait_until reads its argument after the lock is released, when
      // the schedule's node may be gone.
      const SteadyClock::time_point next = schedule.begin()->first;
      beat_cv.wait_until(lock, next);
      continue;
    }
    std::vector<JobPtr> due;
    while (!schedule.empty() && schedule.begin()->first <= now) {
      auto it = active.find(schedule.begin()->second);
      schedule.erase(schedule.begin());
      if (it == active.end()) continue;
      it->second->scheduled = false;
      due.push_back(it->second);
    }
    lock.unlock();
    for (const JobPtr& job : due)
      Beat(client, job);
    lock.lock();
  }
}

void Worker::State::Beat(Client& client, const JobPtr& job) {
  const auto sent = SteadyClock::now();
  {
    std::lock_guard<std::mutex> lock(mu);
    if (job->retired || job->lost.load()) return;
    if (sent >= job->deadline) {
      // No renewal succeeded for a whole lease: the server may re-run it now.
      MarkLostLocked(job);
      return;
    }
  }
  auto reply = client.Heartbeat(job->claimed.lease, options.lease_ttl);
  std::unique_lock<std::mutex> lock(mu);
  if (job->retired || job->lost.load()) return;
  if (reply.ok()) {
    BumpLocked(&WorkerCounters::heartbeats);
    job->deadline = sent + options.lease_ttl;
    if (reply->cancel_requested && !job->cancel_requested.exchange(true)) {
      job->RequestStop(StopReason::kCancelRequested);
    }
    ScheduleLocked(job, sent + options.heartbeat_interval);
    return;
  }
  if (reply.status().code() == ErrorCode::kStaleLease) {
    MarkLostLocked(job);
    return;
  }
  auto retry = std::min(options.heartbeat_interval, kHeartbeatRetry);
  ScheduleLocked(job, std::min(SteadyClock::now() + retry, job->deadline));
  lock.unlock();
  Report(reply.status());
}

// ---- the completer ----

void Worker::State::CompleteLoop() {
  Client client(client_options);
  while (true) {
    std::vector<JobPtr> batch;
    {
      std::unique_lock<std::mutex> lock(mu);
      finish_cv.wait(lock, [&] { return !finished.empty() || completer_exit; });
      if (finished.empty()) return;
      batch.swap(finished);
    }
    if (options.hooks.before_finish) options.hooks.before_finish(batch.size());
    std::vector<std::vector<JobPtr>> completions(1);
    std::vector<JobPtr> failures;
    {
      std::lock_guard<std::mutex> lock(mu);
      std::size_t bytes = 0;
      for (JobPtr& job : batch) {
        if (job->lost.load()) {
          // Its lease is gone: whatever the handler said is dropped (R2).
          RetireLocked(job);
          continue;
        }
        job->finish_sent = true;
        if (!job->outcome->succeeded()) {
          failures.push_back(std::move(job));
          continue;
        }
        std::size_t size = job->outcome->result_json().size() + 128;
        if (completions.back().size() == kMaxCompleteBatch ||
            (!completions.back().empty() && bytes + size > kMaxCompleteBatchBytes)) {
          completions.emplace_back();
          bytes = 0;
        }
        bytes += size;
        completions.back().push_back(std::move(job));
      }
    }
    for (const auto& jobs : completions) {
      if (!jobs.empty()) CompleteBatch(client, jobs);
    }
    for (const JobPtr& job : failures)
      FailOne(client, job);
  }
}

void Worker::State::CompleteBatch(Client& client, const std::vector<JobPtr>& jobs) {
  if (jobs.size() == 1) return CompleteOne(client, jobs[0]);
  std::vector<Client::Completion> items;
  items.reserve(jobs.size());
  for (const JobPtr& job : jobs)
    items.push_back({job->claimed.lease, job->outcome->result_json()});
  auto reply = WithRetries(
      [&] {
        {
          std::lock_guard<std::mutex> lock(mu);
          BumpLocked(&WorkerCounters::complete_requests);
        }
        return client.CompleteMany(items);
      },
      *this);
  if (!reply.ok() || reply->size() != jobs.size()) {
    if (reply.ok() || reply.status().code() == ErrorCode::kUnavailable) {
      // Undeliverable or not understood: the leases run out and the jobs re-run.
      Status why = reply.ok() ? Status::Internal("batch completion answered a different count")
                              : reply.status();
      Report(why);
      std::lock_guard<std::mutex> lock(mu);
      for (const JobPtr& job : jobs) {
        LoseLocked(job);
        RetireLocked(job);
      }
      return;
    }
    // The request as a whole was refused (e.g. too large): one by one, so
    // that each job gets its own answer.
    for (const JobPtr& job : jobs)
      CompleteOne(client, job);
    return;
  }
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const auto& item = (*reply)[i];
    Settle(client, jobs[i], item.ok() ? Status::Ok() : item.status(), true);
  }
}

void Worker::State::CompleteOne(Client& client, const JobPtr& job) {
  auto reply = WithRetries(
      [&] {
        {
          std::lock_guard<std::mutex> lock(mu);
          BumpLocked(&WorkerCounters::complete_requests);
        }
        return client.Complete(job->claimed.lease, job->outcome->result_json());
      },
      *this);
  Settle(client, job, reply.ok() ? Status::Ok() : reply.status(), true);
}

void Worker::State::FailOne(Client& client, const JobPtr& job) {
  const JobResult& o = *job->outcome;
  auto reply = WithRetries(
      [&] {
        return client.Fail(job->claimed.lease, o.code(), o.message(), o.retryable(),
                           o.retry_delay());
      },
      *this);
  Settle(client, job, reply.ok() ? Status::Ok() : reply.status(), false);
}

void Worker::State::Settle(Client& client, const JobPtr& job, const Status& status, bool success) {
  std::unique_lock<std::mutex> lock(mu);
  if (status.ok()) {
    BumpLocked(success ? &WorkerCounters::completed : &WorkerCounters::failed);
  } else if (status.code() == ErrorCode::kStaleLease) {
    // Someone else ended this attempt (the reaper, a cancel past its grace):
    // nothing was written, and a resend would change nothing either.
    LoseLocked(job);
  } else if (success && status.code() != ErrorCode::kUnavailable) {
    // The server refused the result itself (too large, ...): fail the job
    // rather than leave it to the lease, which would re-run it for nothing.
    job->outcome = JobResult::Failure("complete_rejected", status.ToString(), false);
    lock.unlock();
    return FailOne(client, job);
  } else {
    LoseLocked(job);
  }
  RetireLocked(job);
  if (!status.ok() && status.code() != ErrorCode::kStaleLease) {
    lock.unlock();
    Report(status);
  }
}

}  // namespace jobtape::client
