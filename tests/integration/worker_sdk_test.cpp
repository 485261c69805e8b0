// The C++ worker SDK (src/client/worker.hpp) against the real `jobtape serve`
// binary: handlers by kind, the concurrency bound, tape order of progress,
// logs and results, retries, cancel and lost leases (R2), heartbeats during
// finalization (R5), and graceful Stop.
//
// Tests wait on the worker's counters (Worker::WaitFor), on gates the
// handlers open, and on tapes; every wait is bounded by kGuard so that a bug
// fails the test instead of hanging it. Nothing sleeps.
#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <stdexcept>
#include <stop_token>

#include "api_fixture.hpp"
#include "client/client.hpp"
#include "client/worker.hpp"

namespace jobtape::integration {
namespace {

using client::JobContext;
using client::JobResult;
using client::StopReason;
using client::Worker;
using client::WorkerCounters;
using client::WorkerOptions;
using std::chrono::milliseconds;

constexpr char kQueue[] = "sdk";

// A one-shot signal with a bounded wait.
class Gate {
 public:
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  bool Wait(milliseconds guard = kGuard) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, guard, [&] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// Waits (bounded) until the handler's stop token is requested.
bool WaitForStop(const JobContext& ctx, milliseconds guard = kGuard) {
  std::mutex mu;
  std::condition_variable_any cv;
  std::unique_lock<std::mutex> lock(mu);
  std::stop_token token = ctx.stop_token();
  cv.wait_for(lock, token, guard, [] { return false; });
  return token.stop_requested();
}

// Run() on a thread of its own; stopped and joined on destruction.
class RunningWorker {
 public:
  explicit RunningWorker(Worker& worker)
      : worker_(worker),
        done_(std::async(std::launch::async, [&worker] { return worker.Run(); })) {}
  ~RunningWorker() {
    worker_.Stop();
    if (done_.valid()) done_.wait();
  }
  bool Returned() { return done_.wait_for(milliseconds(0)) == std::future_status::ready; }
  // Waits for Run() to return; its status, or kInternal after `guard`.
  Status Wait(milliseconds guard = kGuard) {
    if (done_.wait_for(guard) != std::future_status::ready) {
      return Status::Internal("Run() did not return in time");
    }
    return done_.get();
  }
  Status StopAndWait(milliseconds guard = kGuard) {
    worker_.Stop();
    return Wait(guard);
  }

 private:
  Worker& worker_;
  std::future<Status> done_;
};

class WorkerSdkTest : public ServerTest {
 protected:
  void SetUp() override {
    StartServer();
    client_ = std::make_unique<client::Client>(ClientOptions());
  }

  client::ClientOptions ClientOptions() const {
    client::ClientOptions o;
    o.server.host = "127.0.0.1";
    o.server.port = port();
    return o;
  }

  static WorkerOptions Options(int concurrency = 2) {
    WorkerOptions o;
    o.queues = {kQueue};
    o.concurrency = concurrency;
    o.worker_id = "sdk-test";
    return o;
  }

  JobId Submit(const std::string& kind, const std::string& payload = "{}", int max_attempts = 3) {
    client::SubmitSpec spec;
    spec.kind = kind;
    spec.queue = kQueue;
    spec.payload = payload;
    spec.max_attempts = max_attempts;
    spec.backoff = Backoff{Duration::zero(), Duration::zero(), 2.0, 0.0};
    return SubmitSpec(spec);
  }
  JobId SubmitSpec(const client::SubmitSpec& spec) {
    auto submitted = client_->Submit(spec);
    EXPECT_TRUE(submitted.ok()) << submitted.status().ToString();
    return submitted.ok() ? submitted->id : 0;
  }

  std::vector<Event> Tape(JobId id) {
    auto page = client_->Events(id, 0, 1000);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    return page.ok() ? page->events : std::vector<Event>{};
  }

  Job Get(JobId id) {
    auto job = client_->Get(id);
    EXPECT_TRUE(job.ok()) << job.status().ToString();
    return job.ok() ? *job : Job{};
  }

  // Follows the job's tape until its final event (bounded).
  std::optional<client::WatchResult> WaitForFinal(JobId id) {
    std::stop_source guard;
    auto watch = std::async(std::launch::async, [&] {
      client::Client watcher(ClientOptions());
      client::WatchOptions options;
      options.stop = guard.get_token();
      return watcher.Watch(
          id, 0, [](const Event&) {}, options);
    });
    if (watch.wait_for(kGuard) != std::future_status::ready) guard.request_stop();
    auto result = watch.get();
    if (!result.ok()) return std::nullopt;
    return *result;
  }

  // The value of an unlabelled metric, or -1.
  double Metric(const std::string& name) {
    Api api(port());
    ApiReply r = api.Get("/metrics");
    std::size_t at = r.body.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stod(r.body.substr(at + name.size() + 2));
  }

  static int CountType(const std::vector<Event>& tape, EventType type) {
    int n = 0;
    for (const Event& e : tape)
      n += e.type == type ? 1 : 0;
    return n;
  }

  std::unique_ptr<client::Client> client_;
};

// Fails if handlers were not looked up by kind, if an unknown kind were
// retried or left running, or if results were not sent.
TEST_F(WorkerSdkTest, EachKindRunsItsHandlerAndAnUnknownKindFailsForGood) {
  Worker worker(ClientOptions(), Options());
  for (std::string kind : {"sdk.a", "sdk.b"}) {
    worker.Register(kind, [kind](JobContext& ctx) {
      return JobResult::Success(R"({"by":")" + kind + R"(","payload":)" + ctx.payload() + "}");
    });
  }
  std::vector<std::pair<JobId, std::string>> jobs;
  for (int i = 0; i < 4; ++i) {
    std::string kind = i % 2 == 0 ? "sdk.a" : "sdk.b";
    jobs.emplace_back(Submit(kind, R"({"n":)" + std::to_string(i) + "}"), kind);
  }
  JobId unknown = Submit("sdk.nobody");
  RunningWorker running(worker);
  ASSERT_TRUE(worker.WaitFor(
      [](const WorkerCounters& c) { return c.completed == 4 && c.failed == 1; }, kGuard));
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    Job job = Get(jobs[i].first);
    EXPECT_EQ(job.state, JobState::kSucceeded);
    EXPECT_EQ(job.result,
              R"({"by":")" + jobs[i].second + R"(","payload":{"n":)" + std::to_string(i) + "}}");
  }
  Job job = Get(unknown);
  EXPECT_EQ(job.state, JobState::kFailed);
  EXPECT_EQ(job.attempt, 1);  // not retried although max_attempts is 3
  EXPECT_NE(job.error.find("unknown_kind"), std::string::npos) << job.error;
  EXPECT_TRUE(running.StopAndWait().ok());
}

// Fails if more than N jobs ran at once, if more than N were claimed at once
// (the first claim would take more), or if fewer ran (the N handlers would
// never meet).
TEST_F(WorkerSdkTest, ConcurrencyRunsExactlyNJobsAtOnce) {
  constexpr int kN = 3;
  std::mutex mu;
  std::condition_variable cv;
  int now_running = 0, most = 0, arrived = 0;
  int64_t claimed_when_met = -1;
  bool met = true;
  Worker worker(ClientOptions(), Options(kN));
  worker.Register("sdk.meet", [&](JobContext&) {
    std::unique_lock<std::mutex> lock(mu);
    most = std::max(most, ++now_running);
    // The last of the first N to arrive: no handler has returned, so no slot
    // was free for a further claim.
    if (++arrived == kN) claimed_when_met = worker.counters().claimed;
    cv.notify_all();
    // The first N wait for each other: only N running at once can meet.
    if (!cv.wait_for(lock, kGuard, [&] { return arrived >= kN; })) met = false;
    --now_running;
    return JobResult::Success();
  });
  for (int i = 0; i < 2 * kN; ++i)
    Submit("sdk.meet");
  RunningWorker running(worker);
  ASSERT_TRUE(
      worker.WaitFor([](const WorkerCounters& c) { return c.completed == 2 * kN; }, kGuard));
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_TRUE(met);
  EXPECT_EQ(most, kN);
  EXPECT_EQ(claimed_when_met, kN);  // never claims more than it can run
  EXPECT_EQ(arrived, 2 * kN);
}

// Fails if log lines were reordered around progress, sent after the finish,
// or lost at the handler's return, or if the result did not reach the tape.
TEST_F(WorkerSdkTest, ProgressLogsAndResultLandOnTheTapeInOrder) {
  Worker worker(ClientOptions(), Options());
  worker.Register("sdk.talk", [](JobContext& ctx) {
    EXPECT_TRUE(ctx.Progress(10, "start").ok());
    ctx.Log("one");
    ctx.Log("two");
    EXPECT_TRUE(ctx.Progress(50, "half").ok());
    ctx.Log("three");  // still buffered when the handler returns
    return JobResult::Success(R"({"answer":42})");
  });
  JobId id = Submit("sdk.talk");
  RunningWorker running(worker);
  ASSERT_TRUE(worker.WaitFor([](const WorkerCounters& c) { return c.completed == 1; }, kGuard));
  std::vector<Event> tape = Tape(id);
  std::vector<std::string> seen;
  for (const Event& e : tape) {
    std::string what(EventTypeName(e.type));
    if (e.type == EventType::kProgress || e.type == EventType::kLog) what += " " + e.data;
    seen.push_back(what);
  }
  std::vector<std::string> want = {"created",
                                   "started",
                                   R"(progress {"percent":10,"message":"start"})",
                                   R"(log {"line":"one"})",
                                   R"(log {"line":"two"})",
                                   R"(progress {"percent":50,"message":"half"})",
                                   R"(log {"line":"three"})",
                                   "final"};
  EXPECT_EQ(seen, want);
  ASSERT_FALSE(tape.empty());
  EXPECT_NE(tape.back().data.find(R"("result":{"answer":42})"), std::string::npos)
      << tape.back().data;
  for (std::size_t i = 0; i < tape.size(); ++i)
    EXPECT_EQ(tape[i].seq, static_cast<Seq>(i + 1));
}

// Fails if an exception escaped the worker or were not a retryable failure,
// if a retryable failure were not retried, or a non-retryable one were.
TEST_F(WorkerSdkTest, FailuresAreRetriedUnlessNotRetryable) {
  Worker worker(ClientOptions(), Options());
  worker.Register("sdk.flaky", [](JobContext& ctx) {
    if (ctx.attempt() == 1) throw std::runtime_error("boom");
    if (ctx.attempt() == 2) return JobResult::Failure("flaky", "again", true, milliseconds(0));
    return JobResult::Success(R"({"attempt":)" + std::to_string(ctx.attempt()) + "}");
  });
  worker.Register("sdk.fatal", [](JobContext&) {
    return JobResult::Failure("bad_input", "cannot be done", false);
  });
  JobId flaky = Submit("sdk.flaky");
  JobId fatal = Submit("sdk.fatal");
  RunningWorker running(worker);
  ASSERT_TRUE(worker.WaitFor(
      [](const WorkerCounters& c) { return c.completed == 1 && c.failed == 3; }, kGuard));
  Job job = Get(flaky);
  EXPECT_EQ(job.state, JobState::kSucceeded);
  EXPECT_EQ(job.attempt, 3);
  EXPECT_EQ(job.result, R"({"attempt":3})");
  std::vector<std::string> errors;
  for (const Event& e : Tape(flaky)) {
    if (e.type == EventType::kAttemptFailed) errors.push_back(e.data);
  }
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_NE(errors[0].find(R"("code":"handler_error","message":"boom")"), std::string::npos)
      << errors[0];
  EXPECT_NE(errors[1].find(R"("code":"flaky")"), std::string::npos) << errors[1];
  job = Get(fatal);
  EXPECT_EQ(job.state, JobState::kFailed);
  EXPECT_EQ(job.attempt, 1);
  EXPECT_NE(job.error.find("bad_input"), std::string::npos) << job.error;
}

// Fails if the heartbeat's cancel_requested did not reach the stop token
// (the handler would wait out its guard), or if output followed the final.
TEST_F(WorkerSdkTest, CancelWhileRunningStopsTheHandlerAndEndsCancelled) {
  WorkerOptions options = Options();
  options.heartbeat_interval = milliseconds(100);
  Worker worker(ClientOptions(), options);
  Gate started;
  std::promise<std::pair<bool, StopReason>> stopped;
  worker.Register("sdk.long", [&](JobContext& ctx) {
    EXPECT_TRUE(ctx.Progress(10, "working").ok());
    started.Open();
    bool fired = WaitForStop(ctx);
    stopped.set_value({fired && ctx.cancel_requested(), ctx.stop_reason()});
    ctx.Log("stopping");
    return JobResult::Failure("stopped", "cancel honoured", true);
  });
  JobId id = Submit("sdk.long");
  RunningWorker running(worker);
  ASSERT_TRUE(started.Wait());
  auto cancel = client_->Cancel(id, "test");
  ASSERT_TRUE(cancel.ok()) << cancel.status().ToString();
  EXPECT_TRUE(cancel->cancel_requested);
  auto result = stopped.get_future().get();
  EXPECT_TRUE(result.first);
  EXPECT_EQ(result.second, StopReason::kCancelRequested);
  ASSERT_TRUE(worker.WaitFor([](const WorkerCounters& c) { return c.failed == 1; }, kGuard));
  EXPECT_TRUE(running.StopAndWait().ok());

  EXPECT_EQ(Get(id).state, JobState::kCancelled);
  std::vector<Event> tape = Tape(id);
  ASSERT_GE(tape.size(), 3u);
  EXPECT_EQ(CountType(tape, EventType::kFinal), 1);
  EXPECT_EQ(tape.back().type, EventType::kFinal);
  EXPECT_NE(tape.back().data.find(R"("state":"cancelled")"), std::string::npos) << tape.back().data;
  EXPECT_EQ(tape[tape.size() - 2].type, EventType::kLog);  // "stopping", before the final
  EXPECT_EQ(tape[tape.size() - 2].data, R"({"line":"stopping"})");
}

// A cancel that reaches a job after its claim but before a handler took it
// from the local queue (the hook holds it there until the worker has learnt
// of the cancel): with a grace, from the heartbeat's cancel_requested; with
// none, possibly as a lost lease once the reaper ended it. Fails if either
// handler ran, or a tape does not end in exactly one final = cancelled.
TEST_F(WorkerSdkTest, JobCancelledWhileQueuedLocallyNeverReachesItsHandler) {
  WorkerOptions options = Options(1);
  options.lease_ttl = milliseconds(1'000);  // a heartbeat every ~333 ms
  std::atomic<int> learnt{0};
  options.hooks.before_handler = [&](const client::ClaimedJob& job, std::stop_token stop) {
    Api api(port());
    // The payload is the cancel request's body.
    ApiReply r =
        api.Post("/v1/jobs/" + std::to_string(job.lease.job_id) + "/cancel", job.job.spec.payload);
    EXPECT_EQ(r.status, 200) << r.body;
    std::mutex mu;
    std::condition_variable_any cv;
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, stop, kGuard, [] { return false; });
    if (stop.stop_requested()) ++learnt;
  };
  Worker worker(ClientOptions(), options);
  std::atomic<int> called{0};
  worker.Register("sdk.queued", [&](JobContext&) {
    ++called;
    return JobResult::Success();
  });
  const JobId with_grace = Submit("sdk.queued", R"({"grace_ms":60000})");
  const JobId without = Submit("sdk.queued", R"({"grace_ms":0})");
  RunningWorker running(worker);
  for (JobId id : {with_grace, without}) {
    ASSERT_TRUE(WaitForFinal(id).has_value()) << id;
    EXPECT_EQ(Get(id).state, JobState::kCancelled) << id;
    std::vector<Event> tape = Tape(id);
    ASSERT_FALSE(tape.empty());
    EXPECT_EQ(CountType(tape, EventType::kFinal), 1) << id;
    EXPECT_EQ(tape.back().type, EventType::kFinal) << id;
    EXPECT_EQ(CountType(tape, EventType::kAttemptFailed), 0) << id;
  }
  ASSERT_TRUE(worker.WaitFor([](const WorkerCounters& c) { return c.skipped == 2; }, kGuard));
  EXPECT_TRUE(running.StopAndWait().ok());
  EXPECT_EQ(learnt.load(), 2);
  EXPECT_EQ(called.load(), 0);
  EXPECT_EQ(worker.counters().handled, 0);
}

// The server's runtime backstop reaps a live attempt (R5). Fails if the
// heartbeat's 409 did not stop the handler, if its later output were sent,
// or if its late success were completed.
TEST_F(WorkerSdkTest, LeaseReapedByTheServerStopsTheHandlerAndDropsItsOutput) {
  WorkerOptions options = Options();
  options.heartbeat_interval = milliseconds(100);
  Worker worker(ClientOptions(), options);
  std::promise<Status> late_progress;
  std::promise<StopReason> reason;
  worker.Register("sdk.overrun", [&](JobContext& ctx) {
    bool fired = WaitForStop(ctx);
    reason.set_value(fired ? ctx.stop_reason() : StopReason::kNone);
    late_progress.set_value(ctx.Progress(99, "late"));
    ctx.Log("late");
    return JobResult::Success(R"({"late":true})");
  });
  client::SubmitSpec spec;
  spec.kind = "sdk.overrun";
  spec.queue = kQueue;
  spec.max_attempts = 1;
  spec.timeout = milliseconds(1);
  JobId id = SubmitSpec(spec);
  RunningWorker running(worker);
  EXPECT_EQ(reason.get_future().get(), StopReason::kLeaseLost);
  EXPECT_EQ(late_progress.get_future().get().code(), ErrorCode::kStaleLease);
  ASSERT_TRUE(worker.WaitFor([](const WorkerCounters& c) { return c.handled == 1; }, kGuard));
  EXPECT_TRUE(running.StopAndWait().ok());  // every finish has been dealt with

  WorkerCounters c = worker.counters();
  EXPECT_EQ(c.lost_leases, 1);
  EXPECT_EQ(c.completed, 0);
  EXPECT_EQ(c.complete_requests, 0);
  // The heartbeat that found out was refused before the reaper's cycle ended it.
  ASSERT_TRUE(WaitForFinal(id).has_value());
  EXPECT_EQ(Metric("jobtape_stale_lease_total"), 1);
  Job job = Get(id);
  EXPECT_EQ(job.state, JobState::kFailed);
  EXPECT_TRUE(job.result.empty());
  std::vector<Event> tape = Tape(id);
  EXPECT_EQ(CountType(tape, EventType::kFinal), 1);
  EXPECT_EQ(tape.back().type, EventType::kFinal);
  EXPECT_EQ(CountType(tape, EventType::kProgress) + CountType(tape, EventType::kLog), 0);
}

// Someone else ends the attempt (a forged finish with the worker's own lease,
// as a second finalizer would). Fails if the worker retried its 409'd
// completion or counted it completed.
TEST_F(WorkerSdkTest, LateCompleteOfAStolenLeaseIsNotRetriedAndWritesNothing) {
  Worker worker(ClientOptions(), Options());  // heartbeats every 10 s: none in this test
  std::promise<Lease> lease;
  Gate release;
  worker.Register("sdk.slow", [&](JobContext& ctx) {
    lease.set_value(ctx.lease());
    EXPECT_TRUE(release.Wait());
    return JobResult::Success(R"({"by":"worker"})");
  });
  JobId id = Submit("sdk.slow");
  RunningWorker running(worker);
  Lease stolen = lease.get_future().get();
  auto forged = client_->Complete(stolen, R"({"by":"test"})");
  ASSERT_TRUE(forged.ok()) << forged.status().ToString();
  release.Open();
  ASSERT_TRUE(worker.WaitFor([](const WorkerCounters& c) { return c.lost_leases == 1; }, kGuard));
  EXPECT_TRUE(running.StopAndWait().ok());

  WorkerCounters c = worker.counters();
  EXPECT_EQ(c.completed, 0);
  EXPECT_EQ(c.complete_requests, 1);
  EXPECT_EQ(Metric("jobtape_stale_lease_total"), 1);
  Job job = Get(id);
  EXPECT_EQ(job.state, JobState::kSucceeded);
  EXPECT_EQ(job.result, R"({"by":"test"})");
  std::vector<Event> tape = Tape(id);
  EXPECT_EQ(CountType(tape, EventType::kFinal), 1);
  EXPECT_EQ(tape.back().type, EventType::kFinal);
}

// R5: a job that reported its work done and then finalizes for several lease
// lengths — first in its handler, then waiting for the completer — is not
// reaped. Fails if heartbeats stopped at Progress(100) or at the handler's
// return (the reaper would end the attempt; the completion would be stale).
TEST_F(WorkerSdkTest, LongFinalizationKeepsTheLeaseAlive) {
  WorkerOptions options = Options();
  options.lease_ttl = milliseconds(1'500);
  options.heartbeat_interval = milliseconds(150);
  // Each phase outlasts a lease plus the reaper's 1 s cycle twice over.
  constexpr int kBeatsPerPhase = 24;  // 3.6 s
  Worker* self = nullptr;
  options.hooks.before_finish = [&self](std::size_t) {
    self->WaitFor(
        [](const WorkerCounters& c) {
          return c.heartbeats >= 2 * kBeatsPerPhase || c.lost_leases > 0;
        },
        kGuard);
  };
  Worker worker(ClientOptions(), options);
  self = &worker;
  worker.Register("sdk.finalize", [&](JobContext& ctx) {
    EXPECT_TRUE(ctx.Progress(100, "work done; uploading").ok());
    worker.WaitFor(
        [](const WorkerCounters& c) { return c.heartbeats >= kBeatsPerPhase || c.lost_leases > 0; },
        kGuard);
    return JobResult::Success(R"({"uploaded":true})");
  });
  JobId id = Submit("sdk.finalize");
  RunningWorker running(worker);
  ASSERT_TRUE(worker.WaitFor(
      [](const WorkerCounters& c) { return c.completed + c.lost_leases > 0; }, kGuard));
  WorkerCounters c = worker.counters();
  EXPECT_EQ(c.lost_leases, 0);
  EXPECT_EQ(c.completed, 1);
  EXPECT_GE(c.heartbeats, 2 * kBeatsPerPhase);
  Job job = Get(id);
  EXPECT_EQ(job.state, JobState::kSucceeded);
  EXPECT_EQ(job.attempt, 1);
  EXPECT_EQ(CountType(Tape(id), EventType::kAttemptFailed), 0);
}

// Fails if Stop() cut the handler short (within its grace), lost its
// completion, or waited for the parked long poll (55 s) to end.
TEST_F(WorkerSdkTest, GracefulStopLetsTheRunningHandlerFinish) {
  WorkerOptions options = Options(2);
  options.claim_wait = milliseconds(55'000);
  // A lease long enough that the whole 55 s poll is used (the poll is capped
  // at lease_ttl - heartbeat_interval), so a Stop() that waited for it would
  // show.
  options.lease_ttl = milliseconds(120'000);
  options.shutdown_grace = kGuard;
  Worker worker(ClientOptions(), options);
  Gate started, release;
  std::atomic<bool> token_fired{false};
  worker.Register("sdk.slow", [&](JobContext& ctx) {
    started.Open();
    EXPECT_TRUE(release.Wait());
    token_fired = ctx.stop_token().stop_requested();
    return JobResult::Success(R"({"finished":true})");
  });
  JobId id = Submit("sdk.slow");
  RunningWorker running(worker);
  ASSERT_TRUE(started.Wait());
  // The other slot's claim is parked (nothing more is queued).
  worker.Stop();
  EXPECT_FALSE(running.Returned());  // the handler is still in flight
  release.Open();
  EXPECT_TRUE(running.Wait(milliseconds(30'000)).ok());
  EXPECT_FALSE(token_fired.load());
  EXPECT_EQ(worker.counters().completed, 1);
  Job job = Get(id);
  EXPECT_EQ(job.state, JobState::kSucceeded);
  EXPECT_EQ(job.result, R"({"finished":true})");
}

// Fails if the stop token were not requested after the grace, or if the
// interrupted job were failed for good instead of handed back for a retry.
TEST_F(WorkerSdkTest, StopPastTheGraceStopsTheHandlerAndHandsTheJobBack) {
  WorkerOptions options = Options(1);
  options.shutdown_grace = milliseconds(100);
  Worker worker(ClientOptions(), options);
  Gate started;
  std::atomic<StopReason> reason{StopReason::kNone};
  worker.Register("sdk.stubborn", [&](JobContext& ctx) {
    started.Open();
    if (WaitForStop(ctx)) reason = ctx.stop_reason();
    return JobResult::Failure("interrupted", "stopped early", false);
  });
  JobId id = Submit("sdk.stubborn");
  RunningWorker running(worker);
  ASSERT_TRUE(started.Wait());
  EXPECT_TRUE(running.StopAndWait().ok());
  EXPECT_EQ(reason.load(), StopReason::kShutdown);
  EXPECT_EQ(worker.counters().failed, 1);
  Job job = Get(id);
  EXPECT_TRUE(job.state == JobState::kQueued || job.state == JobState::kScheduled)
      << JobStateName(job.state);
  EXPECT_EQ(job.attempt, 1);
  std::vector<Event> tape = Tape(id);
  ASSERT_FALSE(tape.empty());
  EXPECT_EQ(tape.back().type, EventType::kAttemptFailed);
  EXPECT_NE(tape.back().data.find("worker_shutdown"), std::string::npos) << tape.back().data;
  EXPECT_EQ(CountType(tape, EventType::kFinal), 0);
}

}  // namespace
}  // namespace jobtape::integration
