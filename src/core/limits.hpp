// Input limits (R9) and the validation of everything a client can send to the
// store. Each default is a named constant with the reason for its value; every
// limit is configurable through Limits.
//
// Thread-safety: pure functions over value types.
#pragma once

#include <cstddef>
#include <string_view>

#include "core/event.hpp"
#include "core/job.hpp"
#include "core/status.hpp"

namespace jobtape {

// Names of queues, kinds and keys share one alphabet so they are safe in URLs,
// metrics labels, file names and logs without escaping.
inline constexpr std::size_t kMaxNameLength = 128;
// A payload travels in every claim and is kept with the job: 256 KiB fits any
// reasonable parameter set while keeping a 1,000-job batch under the 1 MiB body.
// (Large inputs belong in object storage, referenced from the payload.)
inline constexpr std::size_t kDefaultMaxPayloadBytes = 256 * 1024;
// Per-event data: a progress message or a log line, not a file.
inline constexpr std::size_t kDefaultMaxEventBytes = 64 * 1024;
// A page of jobs (GET /v1/jobs) or of a tape (GET .../events) stops early once
// its payloads, results and event data reach this, so `limit=1000` of 256 KiB
// payloads or `limit=10000` of 64 KiB events cannot build a reply of hundreds
// of megabytes; the reader continues from the cursor / the last seq.
inline constexpr std::size_t kMaxReadPageBytes = 4 * 1024 * 1024;
// Batch submission size (DESIGN §3).
inline constexpr std::size_t kDefaultMaxBatch = 1000;
// Members of one batch (POST /v1/batches, DESIGN §3): a batch is created in
// one transaction, which 10,000 small jobs keep to a fraction of a second on
// the single writer.
inline constexpr std::size_t kDefaultMaxBatchMembers = 10'000;
inline constexpr std::size_t kDefaultMaxEventsPerAppend = 1000;
inline constexpr std::size_t kDefaultMaxClaim = 1000;
inline constexpr std::size_t kMaxTags = 32;
// Queues one claim may name: each costs the claim transaction a few statements
// on the single writer, so a claim naming thousands would stall every write.
inline constexpr std::size_t kMaxClaimQueues = 32;
inline constexpr std::size_t kMaxKeyLength = 256;  // idempotency and concurrency keys
inline constexpr int kMinPriority = -100;
inline constexpr int kMaxPriority = 100;
inline constexpr int kMinAttempts = 1;
inline constexpr int kMaxAttempts = 100;
inline constexpr int kMaxConcurrencyLimit = 10'000;
// Leases between 1 s and 1 h: shorter cannot survive a GC pause on the worker,
// longer makes a dead worker's job wait too long to be retried.
inline constexpr Duration kMinLeaseTtl = std::chrono::seconds(1);
inline constexpr Duration kMaxLeaseTtl = std::chrono::hours(1);
// How far ahead a job may be scheduled (about ten years).
inline constexpr Duration kMaxScheduleAhead = std::chrono::hours(24 * 3660);
inline constexpr Duration kMaxTimeout = std::chrono::hours(24 * 7);
inline constexpr Duration kMaxBackoff = std::chrono::hours(24 * 7);
// A cancelled attempt's grace before the reaper ends it regardless.
inline constexpr Duration kMaxCancelGrace = std::chrono::hours(1);

struct Limits {
  std::size_t max_payload_bytes = kDefaultMaxPayloadBytes;
  std::size_t max_event_bytes = kDefaultMaxEventBytes;
  std::size_t max_batch = kDefaultMaxBatch;
  std::size_t max_batch_members = kDefaultMaxBatchMembers;
  std::size_t max_events_per_append = kDefaultMaxEventsPerAppend;
  std::size_t max_claim = kDefaultMaxClaim;
  std::size_t max_read_page_bytes = kMaxReadPageBytes;
};

// True if `name` matches [A-Za-z0-9_.:-]{1,128}.
bool IsValidName(std::string_view name);

// Checks everything but JSON well-formedness (the store checks that too, with a
// JSON parser). `now` bounds run_at. Errors carry the offending field.
Status ValidateJobSpec(const JobSpec& spec, const Limits& limits, TimePoint now);
Status ValidateNewEvent(const NewEvent& event, const Limits& limits);
Status ValidateLeaseTtl(Duration ttl);

}  // namespace jobtape
