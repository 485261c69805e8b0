// The job model: what a producer submits (JobSpec), what the store keeps (Job),
// the lease an attempt holds (Lease), and how an attempt ends (Outcome).
//
// Payloads, results and event data are JSON texts: core does not parse JSON;
// the HTTP layer validates it and the stores keep it verbatim.
//
// Thread-safety: plain value types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/job_state.hpp"

namespace jobtape {

using JobId = int64_t;
using Seq = int64_t;

// Exponential backoff between attempts: delay(n) = min(initial * multiplier^(n-1), max),
// then +/- jitter (a fraction of the delay, 0..1) so failed jobs do not retry in lockstep.
struct Backoff {
  Duration initial = std::chrono::seconds(1);
  Duration max = std::chrono::minutes(10);
  double multiplier = 2.0;
  double jitter = 0.2;
};

// The delay before attempt `failed_attempt + 1`. `unit_random` in [0, 1) picks the jitter.
Duration BackoffDelay(const Backoff& b, int failed_attempt, double unit_random);

struct JobSpec {
  std::string kind;                 // required; [A-Za-z0-9_.:-]{1,128}
  std::string queue = "default";    // same alphabet
  std::string payload = "null";     // JSON text
  int priority = 0;                 // -100..100, higher first
  std::optional<TimePoint> run_at;  // not before; absent = now
  int max_attempts = 3;             // 1..100
  Backoff backoff;
  std::optional<Duration> timeout;  // per-attempt runtime backstop (R5), absent = none
  std::string concurrency_key;      // empty = none
  int concurrency_limit = 1;        // running jobs allowed per key (R4)
  std::string idempotency_key;      // unique per queue; empty = none
  std::string batch_id;             // empty = none
  std::vector<std::string> tags;
  std::optional<JobId> retry_of;  // set by a manual retry of a terminal job
};

struct Job {
  JobId id = 0;
  JobSpec spec;
  JobState state = JobState::kQueued;
  int attempt = 0;  // attempts started so far (0 before the first claim)
  TimePoint created_at;
  TimePoint updated_at;
  TimePoint run_at;                           // when it is (or was) due
  std::optional<TimePoint> started_at;        // current or last attempt
  std::optional<TimePoint> finished_at;       // set when terminal
  std::optional<TimePoint> lease_expires_at;  // while running
  std::string worker_id;                      // current or last holder
  std::string node_id;  // node whose executor holds it (empty for remote workers)
  bool cancel_requested = false;
  Seq last_seq = 0;    // seq of the newest tape event
  std::string error;   // last error as JSON text, empty if none
  std::string result;  // JSON text set by a successful attempt, empty if none
};

// Proof of holding one attempt of one job (R2). Every lease call presents it.
struct Lease {
  JobId job_id = 0;
  int attempt = 0;
  std::string token;  // 128-bit random, hex
  TimePoint expires_at;
};

struct Outcome {
  enum class Kind : uint8_t { kSucceeded, kFailed, kCancelled };
  Kind kind = Kind::kSucceeded;
  bool retryable = true;                // kFailed only: may another attempt run?
  std::string error_code;               // kFailed: short machine code, e.g. "exit_status"
  std::string error_message;            // kFailed: human text
  std::string result;                   // kSucceeded: JSON text, empty = none
  std::optional<Duration> retry_delay;  // kFailed: overrides the backoff when set

  static Outcome Succeeded(std::string result = {}) {
    Outcome o;
    o.result = std::move(result);
    return o;
  }
  static Outcome Failed(std::string code, std::string message, bool retryable = true) {
    Outcome o;
    o.kind = Kind::kFailed;
    o.error_code = std::move(code);
    o.error_message = std::move(message);
    o.retryable = retryable;
    return o;
  }
  static Outcome Cancelled() {
    Outcome o;
    o.kind = Kind::kCancelled;
    return o;
  }
};

}  // namespace jobtape
