#include "cli/commands_worker_job.hpp"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "exec/attempt.hpp"
#include "exec/executor_events.hpp"
#include "exec/protocol.hpp"

namespace jobtape::cli {
namespace {

using client::JobResult;
using client::StopReason;

// What the runner's supervisor thread hands to the handler thread. Shared by
// both (the callbacks may in principle outlive the handler call).
struct ChildOutput {
  explicit ChildOutput(const exec::OutputLimits& limits)
      : limiter(SystemClock::Instance(), limits) {}

  exec::OutputLimiter limiter;  // used on the supervisor thread only

  std::mutex mu;
  std::condition_variable cv;
  std::vector<NewEvent> events;        // GUARDED_BY(mu): not yet handed to the SDK
  std::string result;                  // GUARDED_BY(mu): the last `::result`
  pid_t pid = 0;                       // GUARDED_BY(mu): the leader, once it started
  std::optional<exec::ExitInfo> exit;  // GUARDED_BY(mu): set last, by on_exit

  void Push(std::vector<NewEvent> more, std::optional<std::string> new_result) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (new_result) result = std::move(*new_result);
      for (NewEvent& e : more)
        events.push_back(std::move(e));
    }
    cv.notify_one();
  }

  // On the supervisor thread, as the executor's OnLine does.
  void OnLine(exec::Stream stream, std::string_view line, bool cut) {
    exec::OutputLine out = exec::ParseOutputLine(stream, line);
    if (out.type == exec::OutputLine::Type::kResult) {
      Push({}, std::string(out.text));
      return;
    }
    const bool progress = out.type == exec::OutputLine::Type::kProgress;
    exec::Admission adm = limiter.Admit(progress ? out.text : line, cut);
    std::vector<NewEvent> more;
    for (const exec::TruncationNotice& n : adm.notices)
      more.push_back(exec::TruncationEvent(n));
    if (adm.keep) {
      more.push_back(
          progress ? exec::ProgressEvent(out.percent, adm.text)
                   : exec::LogEvent(stream, adm.text, adm.truncated, out.malformed_directive));
    }
    if (!more.empty()) Push(std::move(more), std::nullopt);
  }

  void OnExit(const exec::ExitInfo& info) {
    std::vector<exec::TruncationNotice> notices = limiter.Finish();
    {
      std::lock_guard<std::mutex> lock(mu);
      for (const exec::TruncationNotice& n : notices)
        events.push_back(exec::TruncationEvent(n));
      exit = info;
    }
    cv.notify_one();
  }
};

JobResult FromOutcome(Outcome outcome) {
  if (outcome.kind == Outcome::Kind::kSucceeded)
    return JobResult::Success(std::move(outcome.result));
  std::optional<std::chrono::milliseconds> delay;
  if (outcome.retry_delay) {
    delay = std::chrono::duration_cast<std::chrono::milliseconds>(*outcome.retry_delay);
  }
  return JobResult::Failure(std::move(outcome.error_code), std::move(outcome.error_message),
                            outcome.retryable, delay);
}

// How the attempt ends, given why (if at all) its stop token fired. A command
// that finished before the stop reached it keeps its own outcome (a failure
// after a cancel request still ends the job cancelled: the SDK's rule).
JobResult Decide(const CommandJobSpec& spec, StopReason why, const exec::ExitInfo& exit,
                 std::string result) {
  switch (why) {
    case StopReason::kLeaseLost:
      // Never sent: the SDK drops the finish of a lost lease.
      return JobResult::Failure("lease_lost", "the lease was lost; the command was killed");
    case StopReason::kCancelRequested:
      if (exit.terminated) {
        return JobResult::Failure("cancelled", "cancelled: the command " + exit.message, false);
      }
      break;
    case StopReason::kShutdown:
      if (exit.terminated) {
        return JobResult::Failure("worker_shutdown",
                                  "the worker stopped: the command " + exit.message);
      }
      break;
    case StopReason::kNone:
      break;
  }
  return FromOutcome(exec::AttemptOutcome(spec.kind, exit, std::move(result)));
}

void LogEnd(const client::JobContext& ctx, const JobResult& r) {
  if (r.succeeded()) {
    spdlog::info("job {} attempt {} succeeded", ctx.id(), ctx.attempt());
  } else {
    spdlog::info("job {} attempt {} failed: {}: {} ({})", ctx.id(), ctx.attempt(), r.code(),
                 r.message(), r.retryable() ? "retryable" : "not retryable");
  }
}

}  // namespace

JobResult RunCommandJob(const CommandJobSpec& spec, exec::ProcessRunner& runner,
                        client::JobContext& ctx) {
  auto out = std::make_shared<ChildOutput>(spec.limits);
  const exec::AttemptContext attempt{ctx.id(), ctx.attempt(), ctx.queue(), ctx.kind()};
  exec::SpawnRequest req =
      exec::MakeSpawnRequest(spec.kind, attempt, ctx.payload(), ctx.job().spec.timeout);
  req.on_start = [out](pid_t pid) {
    {
      std::lock_guard<std::mutex> lock(out->mu);
      out->pid = pid;
    }
    out->cv.notify_one();
  };
  req.on_line = [out](exec::Stream stream, std::string_view line, bool cut) {
    out->OnLine(stream, line, cut);
  };
  req.on_exit = [out](const exec::ExitInfo& info) { out->OnExit(info); };
  auto child = runner.Spawn(std::move(req));
  if (!child.ok()) {
    JobResult r = JobResult::Failure("spawn_failed", child.status().message());
    LogEnd(ctx, r);
    return r;
  }

  // Runs on whichever thread requests the stop (the SDK's heartbeater, or
  // Run() at the end of the shutdown grace), possibly under the SDK's lock:
  // it only queues a signal with the runner, which never blocks.
  const exec::ChildId id = *child;
  std::stop_callback stop(ctx.stop_token(), [&runner, &spec, &ctx, id] {
    if (ctx.stop_reason() == StopReason::kLeaseLost) {
      runner.Kill(id);
    } else {
      runner.Terminate(id, spec.kind.cancel_grace);
    }
  });

  bool start_logged = false;
  exec::ExitInfo exit;
  std::string result;
  for (bool done = false; !done;) {
    std::vector<NewEvent> batch;
    pid_t pid = 0;
    {
      std::unique_lock<std::mutex> lock(out->mu);
      out->cv.wait(lock, [&] {
        return !out->events.empty() || out->exit || (!start_logged && out->pid != 0);
      });
      batch.swap(out->events);
      pid = out->pid;
      if (out->exit) {
        done = true;
        exit = *out->exit;
        result = std::move(out->result);
      }
    }
    if (!start_logged && pid != 0) {
      start_logged = true;
      spdlog::info("job {} attempt {} started (kind {}, queue {}): pid {}", ctx.id(), ctx.attempt(),
                   ctx.kind(), ctx.queue(), pid);
    }
    // After a lost lease the output is dropped (the SDK would refuse it too).
    if (batch.empty() || ctx.stop_reason() == StopReason::kLeaseLost) continue;
    for (NewEvent& e : batch)
      ctx.Append(std::move(e));
    // Sent now, not when a later line comes: a command may print one line
    // and then work quietly for an hour. Lines that arrive meanwhile form the
    // next batch.
    Status sent = ctx.Flush();
    if (!sent.ok() && sent.code() != ErrorCode::kStaleLease) {
      spdlog::warn("job {} attempt {}: output dropped: {}", ctx.id(), ctx.attempt(),
                   sent.ToString());
    }
  }
  if (exit.kind == exec::ExitInfo::Kind::kSpawnFailed) {
    spdlog::warn("job {} attempt {}: {}", ctx.id(), ctx.attempt(), exit.message);
  }
  JobResult r = Decide(spec, ctx.stop_reason(), exit, std::move(result));
  LogEnd(ctx, r);
  return r;
}

}  // namespace jobtape::cli
