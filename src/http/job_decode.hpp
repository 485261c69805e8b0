// Decoding the body of POST /v1/jobs (DESIGN §3) into JobSpecs.
//
// A body is one job object, or {"jobs": [job, ...]} for several (POST
// /v1/batches has its own body, DecodeBatchSubmission). Job fields:
//   kind (required string), queue, payload (any JSON; stored byte for byte as
//   sent), priority, run_at (RFC 3339) or delay_ms (not both), max_attempts,
//   backoff {initial_ms, max_ms, multiplier, jitter}, timeout_ms,
//   concurrency_key, concurrency_limit, idempotency_key, batch_id (refused by
//   validation: only POST /v1/batches sets it), tags.
// Unknown fields are refused (json_fields.hpp gives the conventions).
//
// Decoding checks syntax and types only; every error is Phase::kDecode (400),
// with the field path ("priority", "jobs[3].backoff.jitter"). Ranges and the
// name alphabet are checked afterwards by ValidateJobSpec (Phase::kApply, 422),
// the same rules the store applies.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "core/clock.hpp"
#include "core/job.hpp"
#include "core/status.hpp"
#include "http/kind_policy.hpp"

namespace jobtape::http {

// `value` is the parsed job object and `raw` the exact text it was parsed from
// (the payload is taken from there). `now` turns delay_ms into run_at.
Result<JobSpec> DecodeJobSpec(const boost::json::value& value, std::string_view raw, TimePoint now);
// Which of the fields a kind may default were present in the job object.
SubmittedFields FieldsPresent(const boost::json::value& value);

struct Submission {
  std::vector<JobSpec> jobs;
  std::vector<SubmittedFields> fields;  // per job: which optional fields were sent
  bool batch = false;                   // the body was {"jobs": [...]}: answer with a list
};

// Decodes a whole POST /v1/jobs body. Besides DecodeJobSpec's errors:
// invalid_argument for an empty "jobs" array or other members beside it,
// limit_exceeded (413) for more than `max_batch` jobs.
Result<Submission> DecodeSubmission(const boost::json::value& value, std::string_view raw,
                                    TimePoint now, std::size_t max_batch);

// The body of POST /v1/batches: {"jobs": [job, ...], "on_complete": job,
// "idempotency_key": "..."}; only "jobs" is required.
struct BatchSubmission {
  Submission members;
  std::optional<JobSpec> on_complete;
  SubmittedFields on_complete_fields;
  std::string idempotency_key;
};
// DecodeSubmission's errors, with "jobs[i]." and "on_complete." paths;
// limit_exceeded (413) for more than `max_members` jobs.
Result<BatchSubmission> DecodeBatchSubmission(const boost::json::value& value, std::string_view raw,
                                              TimePoint now, std::size_t max_members);

}  // namespace jobtape::http
