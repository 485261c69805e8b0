// Encoding the core types as API JSON (DESIGN §3).
//
// Times appear twice: as RFC 3339 UTC text ("created_at") and as epoch
// milliseconds ("created_at_ms"); absent times are null. Payloads, results,
// errors and event data are stored JSON texts and are written as JSON, byte
// for byte, never as strings. Every field is always present (null when
// unset), so clients see one shape.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/event.hpp"
#include "core/job.hpp"
#include "http/json_writer.hpp"
#include "store/store.hpp"

namespace jobtape::http {

// {"id":1,"kind":"...","queue":"...","state":"queued","priority":0,"payload":{...},
//  "attempt":0,"max_attempts":3,"backoff":{...},"timeout_ms":null,...,"tags":[],
//  "created_at":"...","created_at_ms":...,...,"error":null,"result":null}
// "<name>":"<rfc3339>","<name>_ms":<epoch ms>, or both null.
void WriteTime(JsonWriter& w, std::string_view name, std::optional<TimePoint> t);

void WriteJob(JsonWriter& w, const Job& job);
// A job template (a batch's on_complete) in the form a submission takes:
// {"kind","queue","priority","payload","max_attempts","backoff","timeout_ms",
//  "concurrency_key","concurrency_limit","tags"}.
void WriteJobTemplate(JsonWriter& w, const JobSpec& spec);
// {"job_id":1,"seq":2,"type":"progress","at":"...","at_ms":...,"attempt":1,"data":{...}}
void WriteEvent(JsonWriter& w, const Event& event);
// {"job_id":1,"attempt":1,"lease_token":"...","expires_at":"...","expires_at_ms":...}
void WriteLease(JsonWriter& w, const Lease& lease);
// {"name":"default","paused":false,"max_concurrent":null,
//  "counts":{"scheduled":0,"queued":0,"running":0,"succeeded":0,"failed":0,"cancelled":0}}
// What the reaper did to one queue's attempts since the server started
// (store::ReapResult defines deferrals and races); kept by Metrics.
struct QueueReaperTotals {
  uint64_t lease_expired = 0;     // expired leases reclaimed
  uint64_t runtime_backstop = 0;  // attempts ended past their timeout
  uint64_t cancel_grace = 0;      // cancelled attempts ended after their grace
  uint64_t deferred = 0;          // deferrals: per reaper cycle, attempts left running
  uint64_t raced = 0;             // changed by someone else between selection and update
};

// A queue as GET /v1/queues shows it, with its `reaper` totals.
void WriteQueueInfo(JsonWriter& w, const store::QueueInfo& queue,
                    const QueueReaperTotals& reaper = {});
// {"id":1,"state":"queued","duplicate":false}
void WriteEnqueuedJob(JsonWriter& w, const store::EnqueuedJob& job);

// Whole documents, for single-object responses.
std::string EncodeJob(const Job& job);
std::string EncodeEvent(const Event& event);

}  // namespace jobtape::http
