// Store-independent rules of batches, shared by every Store so they cannot
// drift apart: validation of a new batch (R9), its id's text form (the jobs'
// batch_id), and the job its on_complete template enqueues.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/job.hpp"
#include "core/limits.hpp"
#include "core/status.hpp"
#include "store/store.hpp"

namespace jobtape::store {

// The on_complete job of batch <id> carries the tag "batch:<id>".
inline constexpr std::string_view kBatchTagPrefix = "batch:";

// ---- validation (runs before any transaction; an error writes nothing) ----
// 1..max_batch_members members, each as ValidateEnqueue would take it and
// without idempotency_key; the on_complete template as ValidateJobTemplate;
// the batch's idempotency key as a job's. Errors name the field:
// "jobs[3].priority", "on_complete.queue", "idempotency_key".
Status ValidateBatchCreate(const BatchCreateParams& p, const Limits& limits);
// As ValidateCancel (grace, reason).
Status ValidateBatchCancel(const BatchCancelParams& p);

// ---- ids ----
// A batch id as the members' batch_id holds it (decimal), and back.
std::string BatchIdText(BatchId id);
std::optional<BatchId> ParseBatchId(std::string_view text);

// The job the on_complete template `tmpl` of batch `id` enqueues: the
// template with the tag "batch:<id>" and idempotency key "batch:<id>:on_complete".
JobSpec OnCompleteJobSpec(BatchId id, const JobSpec& tmpl);

}  // namespace jobtape::store
