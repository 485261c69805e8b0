// The client's view of the v1 API documents (docs/openapi.yaml): what it
// sends (SubmitSpec, ListFilter, ClaimRequest) and what it gets back. Jobs,
// events and leases arrive as core's Job, Event and Lease; payload, result,
// error and event data stay JSON texts.
//
// Thread-safety: plain value types.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/event.hpp"
#include "core/job.hpp"
#include "core/job_state.hpp"

namespace jobtape::client {

// A job to submit; every unset field takes the server's default.
struct SubmitSpec {
  std::string kind;
  std::optional<std::string> queue;
  std::optional<std::string> payload;  // a JSON text, sent byte for byte
  std::optional<int> priority;
  std::optional<std::chrono::milliseconds> delay;  // delay_ms
  std::optional<TimePoint> run_at;                 // not together with delay
  std::optional<int> max_attempts;
  std::optional<Backoff> backoff;
  std::optional<std::chrono::milliseconds> timeout;  // timeout_ms
  std::optional<std::string> concurrency_key;
  std::optional<int> concurrency_limit;
  std::optional<std::string> idempotency_key;
  std::vector<std::string> tags;
};

// One job of a POST /v1/jobs answer.
struct Submitted {
  JobId id = 0;
  JobState state = JobState::kQueued;
  bool duplicate = false;  // an idempotency key matched: this is the original job
};

struct ListFilter {
  std::optional<std::string> queue;
  std::optional<JobState> state;
  std::optional<std::string> kind;
  std::optional<int64_t> batch;  // members of this batch
  std::optional<int> limit;
  std::optional<JobId> cursor;  // from JobPage::next_cursor
};

struct JobPage {
  std::vector<Job> jobs;
  std::optional<JobId> next_cursor;  // absent on the last page
};

struct TapePage {
  std::vector<Event> events;
  std::optional<JobState> state;  // the job's state when read
  Seq last_seq = 0;               // the job's newest seq when read
};

struct CancelReply {
  JobState state = JobState::kCancelled;  // the job's state after the call
  bool changed = true;                    // false: already terminal (a no-op)
  bool cancel_requested = false;          // true: running, the attempt was asked to stop
};

struct QueueInfo {
  std::string name;
  bool paused = false;
  std::optional<int> max_concurrent;  // absent = unlimited
  int64_t counts[kJobStateCount] = {};
};

struct QueuePatch {
  std::optional<std::optional<int>> max_concurrent;  // outer: change; inner nullopt: unlimited
  std::optional<bool> paused;
};

struct HealthReport {
  int http_status = 0;  // 200 healthy, 503 not
  std::string status;   // "ok", "degraded", ... as the server says; "" if none
};

// ---- schedules (cron) ----

// PUT /v1/schedules/{name}: a whole definition (a replace does not merge).
struct ScheduleSpec {
  std::string name;
  std::string cron;                     // 5 fields or a macro (@daily, ...)
  std::optional<std::string> timezone;  // IANA zone; the server's default is UTC
  std::optional<std::string> misfire;   // "skip" (the server's default) or "run_once"
  bool paused = false;
  // The job each fire enqueues; delay/run_at and idempotency_key must be
  // unset (each fire sets them).
  SubmitSpec job;
};

// A schedule as the server reports it. `job` is the template (payload a JSON text).
struct Schedule {
  std::string name;
  std::string cron;
  std::string timezone;
  std::string misfire;
  bool paused = false;
  JobSpec job;
  std::optional<TimePoint> next_fire_at;  // absent: paused, or never fires again
  std::optional<TimePoint> last_fire_at;
  std::optional<JobId> last_job_id;
  TimePoint created_at;
  TimePoint updated_at;
  bool created = false;  // PutSchedule only: true when it was new (201)
};

struct SchedulePage {
  std::vector<Schedule> schedules;
  std::optional<std::string> next_cursor;  // absent on the last page
};

// ---- batches ----

// A batch as the server reports it (GET /v1/batches/{id}).
struct BatchInfo {
  std::string id;
  std::string state;  // "running" or "done"
  int64_t total = 0;
  int64_t done = 0;      // members in a terminal state
  int64_t progress = 0;  // whole percent of members done
  int64_t counts[kJobStateCount] = {};
  std::optional<JobId> on_complete_job_id;
};

struct BatchCreated {
  BatchInfo batch;
  bool duplicate = false;  // the batch's idempotency key matched: this is that batch
  std::vector<JobId> job_ids;
};

struct BatchCancelReply {
  int64_t cancelled = 0;         // waiting members cancelled at once
  int64_t cancel_requested = 0;  // running members asked to stop
};

// ---- worker side (the lease protocol) ----

struct ClaimRequest {
  std::vector<std::string> queues;
  int max = 1;
  std::string worker_id;                          // empty: the server names the worker
  std::optional<std::chrono::milliseconds> wait;  // long-poll for up to this long
  std::optional<std::chrono::milliseconds> lease;
};

struct ClaimedJob {
  Job job;
  Lease lease;
};

struct HeartbeatReply {
  std::optional<TimePoint> expires_at;
  bool cancel_requested = false;  // stop working and report (complete/fail) soon
};

struct FinishReply {
  JobState state = JobState::kSucceeded;  // kScheduled/kQueued when a retry follows
  std::optional<TimePoint> retry_at;
  Seq last_seq = 0;
};

// The terminal outcome a watch ends with.
struct WatchResult {
  JobState state = JobState::kSucceeded;  // from the final event
  Seq last_seq = 0;
  Event final_event;
};

}  // namespace jobtape::client
