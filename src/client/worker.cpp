// The worker SDK's life cycle (Run/Stop), the claimer and the handler threads.
// Heartbeats and finishes are in worker_leases.cpp, the handler's context in
// worker_context.cpp.
#include "client/worker.hpp"

#include <algorithm>

#include "client/wire.hpp"
#include "client/worker_internal.hpp"

namespace jobtape::client {
namespace {

// Retry pacing of a claim that failed for a reason that may pass (the server
// restarting, a dropped connection): quick at first, gentle when it persists.
constexpr std::chrono::milliseconds kClaimInitialBackoff{100};
constexpr std::chrono::milliseconds kClaimMaxBackoff{5'000};
// A long poll may legitimately take its whole wait; the reply needs time on top.
constexpr std::chrono::milliseconds kLongPollMargin{10'000};
// Server rules (docs/openapi.yaml, ClaimRequest).
constexpr std::size_t kMaxQueues = 32;
constexpr std::chrono::milliseconds kMinLease{1'000};
constexpr std::chrono::milliseconds kMaxLease{3'600'000};
constexpr int kMaxConcurrency = 1'000;
// A failure's message is for humans; a handler that puts a whole stack or
// output in it would hit the server's string limit and lose the failure.
constexpr std::size_t kMaxErrorMessage = 8'192;

// The server's name alphabet for error codes: [A-Za-z0-9_.:-]{1,128}.
bool IsValidCode(std::string_view code) {
  if (code.empty() || code.size() > 128) return false;
  return std::all_of(code.begin(), code.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == ':' || c == '-';
  });
}

// Errors a retry cannot fix: the worker stops and Run() returns them.
bool IsPermanent(ErrorCode code) {
  return code == ErrorCode::kUnauthenticated || code == ErrorCode::kPermissionDenied ||
         code == ErrorCode::kInvalidArgument || code == ErrorCode::kFailedPrecondition;
}

Status CheckOptions(WorkerOptions& o) {
  if (o.queues.empty() || o.queues.size() > kMaxQueues) {
    return Status::InvalidArgument("queues: 1 to 32 queue names", "queues");
  }
  if (o.concurrency < 1 || o.concurrency > kMaxConcurrency) {
    return Status::InvalidArgument("concurrency must be 1..1000", "concurrency");
  }
  if (o.claim_batch < 0 || o.claim_batch > kMaxClaimBatch) {
    return Status::InvalidArgument("claim_batch must be 0..1000", "claim_batch");
  }
  if (o.lease_ttl < kMinLease || o.lease_ttl > kMaxLease) {
    return Status::InvalidArgument("lease_ttl must be 1 s .. 1 h", "lease_ttl");
  }
  if (o.heartbeat_interval.count() == 0) o.heartbeat_interval = o.lease_ttl / 3;
  if (o.heartbeat_interval.count() < 0 || o.heartbeat_interval >= o.lease_ttl) {
    return Status::InvalidArgument("heartbeat_interval must be shorter than lease_ttl",
                                   "heartbeat_interval");
  }
  if (o.claim_wait.count() < 0 || o.shutdown_grace.count() < 0) {
    return Status::InvalidArgument("claim_wait and shutdown_grace must not be negative");
  }
  if (o.worker_id.empty()) o.worker_id = DefaultWorkerId();
  return Status::Ok();
}

}  // namespace

Worker::State::State(ClientOptions c, WorkerOptions o)
    : client_options(std::move(c)),
      options(std::move(o)),
      claim_transport(std::make_unique<HttpTransport>(client_options)) {}

Worker::Worker(ClientOptions client, WorkerOptions options)
    : state_(std::make_unique<State>(std::move(client), std::move(options))) {}

Worker::~Worker() = default;

void Worker::Register(std::string kind, Handler handler) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->handlers[std::move(kind)] = std::move(handler);
}

void Worker::RegisterDefault(Handler handler) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->default_handler = std::move(handler);
}

WorkerCounters Worker::counters() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->counters;
}

bool Worker::WaitFor(const std::function<bool(const WorkerCounters&)>& done,
                     std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(state_->mu);
  return state_->counters_cv.wait_for(lock, timeout, [&] { return done(state_->counters); });
}

void Worker::Stop() {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->StopLocked();
  }
  // Closes a parked long poll at once (sticky: the claimer never claims again).
  state_->claim_transport->Interrupt();
}

void Worker::State::StopLocked() {
  stop_requested = true;
  stop_cv.notify_all();
  claim_cv.notify_all();
}

Status Worker::Run() {
  State& s = *state_;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.run_called) return Status::FailedPrecondition("Worker::Run may be called only once");
    s.run_called = true;
    JT_RETURN_IF_ERROR(CheckOptions(s.options));
  }
  std::thread heartbeater([&s] { s.HeartbeatLoop(); });
  std::thread completer([&s] { s.CompleteLoop(); });
  std::vector<std::thread> handlers;
  handlers.reserve(static_cast<std::size_t>(s.options.concurrency));
  for (int i = 0; i < s.options.concurrency; ++i)
    handlers.emplace_back([&s] { s.HandlerLoop(); });
  std::thread claimer([&s] { s.ClaimLoop(); });

  {
    std::unique_lock<std::mutex> lock(s.mu);
    s.stop_cv.wait(lock, [&] { return s.stop_requested; });
  }
  // 1. No more claims (Stop() interrupted a parked poll).
  s.claim_transport->Interrupt();
  claimer.join();
  {
    std::unique_lock<std::mutex> lock(s.mu);
    // 2. Claimed jobs that no handler started go back at once.
    while (!s.queue.empty()) {
      JobPtr job = std::move(s.queue.front());
      s.queue.pop_front();
      s.FinishLocked(
          job,
          JobResult::Failure("worker_shutdown", "the worker stopped before the job started", true),
          false);
    }
    // 3. Handlers in flight get the grace; then their stop tokens.
    s.stop_cv.wait_for(lock, s.options.shutdown_grace, [&] { return s.running == 0; });
    for (auto& [id, job] : s.active) {
      if (job->phase == ActiveJob::Phase::kRunning) job->RequestStop(StopReason::kShutdown);
    }
    s.handlers_exit = true;
  }
  s.work_cv.notify_all();
  for (std::thread& t : handlers)
    t.join();
  // 4. Every finish is sent, then heartbeats end.
  {
    std::lock_guard<std::mutex> lock(s.mu);
    s.completer_exit = true;
  }
  s.finish_cv.notify_all();
  completer.join();
  {
    std::lock_guard<std::mutex> lock(s.mu);
    s.heartbeater_exit = true;
  }
  s.beat_cv.notify_all();
  heartbeater.join();
  std::lock_guard<std::mutex> lock(s.mu);
  return s.fatal;
}

void Worker::State::Report(const Status& s) const {
  if (options.on_error) options.on_error(s);
}

void Worker::State::BumpLocked(int64_t WorkerCounters::*field, int64_t n) {
  counters.*field += n;
  counters_cv.notify_all();
}

// ---- the claimer ----

Result<std::vector<ClaimedJob>> Worker::State::ClaimOnce(int max) {
  ClaimRequest request;
  request.queues = options.queues;
  request.max = max;
  request.worker_id = options.worker_id;
  // The worker counts a new lease from when its claim was sent (the server
  // grants it at some moment of the long poll): a poll longer than
  // lease_ttl - heartbeat_interval could bring back leases whose local
  // deadline had passed, and they would be lost before their first renewal.
  const auto wait = std::min(options.claim_wait, options.lease_ttl - options.heartbeat_interval);
  request.wait = wait;
  request.lease = options.lease_ttl;
  HttpRequest http;
  http.method = "POST";
  http.target = BuildTarget(client_options.server, "/v1/claims");
  http.body = EncodeClaim(request);
  http.timeout = client_options.request_timeout + wait + kLongPollMargin;
  auto reply = claim_transport->RoundTrip(http);
  if (!reply.ok()) return reply.status();
  if (reply->status != 200) return StatusFromReply(reply->status, reply->body);
  return ParseClaims(reply->body);
}

void Worker::State::ClaimLoop() {
  std::chrono::milliseconds backoff = kClaimInitialBackoff;
  while (true) {
    int want = 0;
    {
      std::unique_lock<std::mutex> lock(mu);
      claim_cv.wait(lock, [&] { return stop_requested || held < options.concurrency; });
      if (stop_requested) return;
      want = options.concurrency - held;
      if (options.claim_batch > 0) want = std::min(want, options.claim_batch);
      want = std::min(want, kMaxClaimBatch);
    }
    const auto sent = SteadyClock::now();
    auto claimed = ClaimOnce(want);
    if (claimed.ok()) {
      backoff = kClaimInitialBackoff;
      Admit(std::move(claimed).value(), sent);
      continue;
    }
    std::unique_lock<std::mutex> lock(mu);
    if (stop_requested) return;
    if (IsPermanent(claimed.status().code())) {
      fatal = claimed.status();
      StopLocked();
      return;
    }
    lock.unlock();
    Report(claimed.status());
    lock.lock();
    claim_cv.wait_for(lock, backoff, [&] { return stop_requested; });
    backoff = std::min(backoff * 2, kClaimMaxBackoff);
  }
}

void Worker::State::Admit(std::vector<ClaimedJob> claimed, SteadyClock::time_point sent) {
  std::lock_guard<std::mutex> lock(mu);
  BumpLocked(&WorkerCounters::claim_requests);
  if (claimed.empty()) return;
  BumpLocked(&WorkerCounters::claimed, static_cast<int64_t>(claimed.size()));
  for (ClaimedJob& c : claimed) {
    auto job = std::make_shared<ActiveJob>(*this, std::move(c));
    job->deadline = sent + options.lease_ttl;
    active[KeyOf(*job)] = job;
    ScheduleLocked(job, sent + options.heartbeat_interval);
    ++held;
    if (stop_requested) {
      // Stop() raced with this claim's reply: never start the job.
      FinishLocked(
          job,
          JobResult::Failure("worker_shutdown", "the worker stopped before the job started", true),
          false);
    } else {
      queue.push_back(std::move(job));
      work_cv.notify_one();
    }
  }
}

// ---- the handlers ----

void Worker::State::HandlerLoop() {
  Client client(client_options);
  while (true) {
    JobPtr job;
    {
      std::unique_lock<std::mutex> lock(mu);
      work_cv.wait(lock, [&] { return !queue.empty() || handlers_exit; });
      if (queue.empty()) return;
      job = std::move(queue.front());
      queue.pop_front();
      job->phase = ActiveJob::Phase::kRunning;
      ++running;
    }
    if (options.hooks.before_handler) {
      options.hooks.before_handler(job->claimed, job->stop.get_token());
    }
    if (SkipLocally(job)) continue;
    JobResult outcome = Execute(job, client);
    std::lock_guard<std::mutex> lock(mu);
    FinishLocked(job, std::move(outcome), true);
  }
}

bool Worker::State::SkipLocally(const JobPtr& job) {
  std::lock_guard<std::mutex> lock(mu);
  // Only a cancel request or a lost lease can have stopped a job no handler
  // has seen yet (a shutdown stops running handlers only).
  const StopReason why = job->reason.load();
  if (why != StopReason::kCancelRequested && why != StopReason::kLeaseLost) return false;
  --running;
  // A lost job's outcome is dropped by the completer; a cancelled one's
  // failure ends it cancelled on the server (any failure after a cancel
  // request does), never retried.
  FinishLocked(job, JobResult::Failure("cancelled", "cancelled before its handler started", false),
               false);
  BumpLocked(&WorkerCounters::skipped);
  return true;
}

JobResult Worker::State::Execute(const JobPtr& job, Client& client) {
  const std::string& kind = job->claimed.job.spec.kind;
  // Neither is modified while Run() runs.
  auto it = handlers.find(kind);
  const Handler* handler = it != handlers.end() ? &it->second
                           : default_handler    ? &default_handler
                                                : nullptr;
  if (handler == nullptr) {
    return JobResult::Failure(
        "unknown_kind", "worker " + options.worker_id + " has no handler for kind '" + kind + "'",
        false);
  }
  JobResult outcome;
  {
    JobContext context(job, client);
    try {
      outcome = (*handler)(context);
    } catch (const std::exception& e) {
      outcome = JobResult::Failure("handler_error", e.what(), true);
    } catch (...) {
      outcome = JobResult::Failure("handler_error", "the handler threw a non-exception", true);
    }
    // The handler's last log lines land before its finish (tape order).
    Status flushed = context.Flush();
    if (!flushed.ok() && flushed.code() != ErrorCode::kStaleLease) Report(flushed);
  }
  if (outcome.succeeded() && !outcome.result_json().empty() && !IsJsonText(outcome.result_json())) {
    outcome = JobResult::Failure("invalid_result", "the handler's result is not valid JSON", false);
  }
  if (!outcome.succeeded() && job->reason.load() == StopReason::kShutdown) {
    outcome =
        JobResult::Failure("worker_shutdown", "the worker stopped: " + outcome.message(), true);
  }
  if (!outcome.succeeded() && !IsValidCode(outcome.code())) {
    outcome = JobResult::Failure("handler_error", outcome.code() + ": " + outcome.message(),
                                 outcome.retryable(), outcome.retry_delay());
  }
  if (!outcome.succeeded() && outcome.message().size() > kMaxErrorMessage) {
    std::string message = outcome.message();
    std::size_t cut = kMaxErrorMessage;
    while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80)
      --cut;
    message.resize(cut);
    outcome = JobResult::Failure(outcome.code(), std::move(message), outcome.retryable(),
                                 outcome.retry_delay());
  }
  return outcome;
}

void Worker::State::FinishLocked(const JobPtr& job, JobResult outcome, bool ran) {
  job->outcome = std::move(outcome);
  job->phase = ActiveJob::Phase::kFinishing;
  --held;
  if (ran) {
    --running;
    BumpLocked(&WorkerCounters::handled);
  }
  finished.push_back(job);
  finish_cv.notify_one();
  claim_cv.notify_one();
  if (stop_requested) stop_cv.notify_all();
}

}  // namespace jobtape::client
