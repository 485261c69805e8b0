// Store-independent rules shared by every Store implementation, so SQLite and
// PostgreSQL cannot drift apart: input validation (R9), how an attempt ends
// (retry, backoff, terminal state), and the JSON data of store-written events.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.hpp"
#include "core/job.hpp"
#include "core/limits.hpp"
#include "core/status.hpp"
#include "store/store.hpp"

namespace jobtape::store {

// ---- validation (runs before any transaction; an error writes nothing) ----
Status ValidateEnqueue(const EnqueueParams& p, const Limits& limits);
Status ValidateClaim(const ClaimParams& p, const Limits& limits);
Status ValidateAppend(const AppendParams& p, const Limits& limits);
Status ValidateFinish(const FinishParams& p, const Limits& limits);
Status ValidateCancel(const CancelParams& p);
Status ValidateList(const ListParams& p);
Status ValidateTapeRead(const TapeReadParams& p);
Status ValidateQueueUpdate(const QueueUpdateParams& p);
// A job template (a schedule's job, a batch's on_complete): a JobSpec as
// ValidateEnqueue takes it, except that run_at, idempotency_key and retry_of
// are set by whoever enqueues it (`set_by`, for the message) and must be
// empty, and one tag must stay free for the one it adds. Field names are the
// template's own ("tags", "payload"); callers prefix them.
Status ValidateJobTemplate(const JobSpec& job, const Limits& limits, TimePoint now,
                           std::string_view set_by);
// The job a template enqueues: the template with `tag` added, idempotency key
// "<tag>:<key_suffix>" (so enqueueing it twice is a no-op), and no run_at,
// retry_of or batch: those belong to the template's owner, not to the job.
JobSpec JobFromTemplate(const JobSpec& tmpl, std::string tag, std::string_view key_suffix);
// True if `text` is well-formed JSON (any value).
bool IsValidJson(std::string_view text);
// True if `text` is a well-formed JSON object.
bool IsJsonObject(std::string_view text);

// ---- how an attempt ends ----

// What a store needs to know about the attempt being ended.
struct AttemptView {
  int attempt = 0;
  int max_attempts = 1;
  Backoff backoff;
  bool cancel_requested = false;
};

struct AttemptEnd {
  JobState state = JobState::kSucceeded;  // terminal, or kScheduled/kQueued for a retry
  TimePoint run_at;                       // retries only
  EventType event = EventType::kFinal;    // kFinal or kAttemptFailed
  std::string event_data;                 // JSON object text
  std::string error;                      // JSON text stored on the job, empty if none
  std::string result;                     // JSON text stored on the job, empty if none
};

// Decides the next state of a running job whose attempt ends with `outcome`.
// A failure after a cancel request ends the job cancelled (never retried); a
// success stands even after a cancel request (the work was done).
// `unit_random` in [0, 1) picks the backoff jitter.
AttemptEnd DecideAttemptEnd(const AttemptView& view, const Outcome& outcome, TimePoint now,
                            double unit_random);

// ---- data of store-written events ----
// The `created` event's data depends only on the job's queue and kind, so
// the SQLite store serves that event from the job row (it is not stored).
std::string CreatedData(std::string_view queue, std::string_view kind);
std::string CreatedData(const JobSpec& spec);
std::string StartedData(int attempt, std::string_view worker_id, TimePoint lease_expires_at);
std::string CancelRequestedData(std::string_view reason, Duration grace);
std::string CancelledFinalData(std::string_view reason);
std::string ErrorJson(std::string_view code, std::string_view message);

// `n` fresh 128-bit lease tokens from the OS CSPRNG (one system call), each
// as 32 hex digits.
std::vector<std::string> NewLeaseTokens(std::size_t n);

// Constant-time comparison, so a lease token cannot be guessed byte by byte.
bool TokensEqual(std::string_view a, std::string_view b);

}  // namespace jobtape::store
