// The JSON of the v1 API on the client side: request bodies built from the
// client's structs, reply documents parsed into them (shapes: docs/openapi.yaml,
// produced by src/http/job_encode.cpp and the handlers).
//
// Payloads, results and event data are JSON texts that go out byte for byte
// (a round trip through a parsed value would rewrite numbers such as 0.1);
// they are checked to be well-formed JSON first. Reply parsing reads times
// from the "<name>_ms" epoch-millisecond members and ignores members it does
// not know, so a newer server's additions do not break an older client.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "client/types.hpp"
#include "core/status.hpp"

namespace jobtape::client {

// ---- request bodies ----

// kInvalidArgument (field "payload" etc.) if a JSON text is not valid JSON.
Result<std::string> EncodeSubmit(const SubmitSpec& spec);
Result<std::string> EncodeSubmitBatch(const std::vector<SubmitSpec>& specs);
std::string EncodeClaim(const ClaimRequest& request);
std::string EncodeHeartbeat(const Lease& lease, std::optional<std::chrono::milliseconds> extend);
// Each NewEvent's data must be a JSON object text.
Result<std::string> EncodeAppend(const Lease& lease, const std::vector<NewEvent>& events);
Result<std::string> EncodeComplete(const Lease& lease, std::string_view result_json);
std::string EncodeFail(const Lease& lease, std::string_view code, std::string_view message,
                       bool retryable, std::optional<std::chrono::milliseconds> retry_delay);
std::string EncodeQueuePatch(const QueuePatch& patch);
// {"cron","timezone"?,"misfire"?,"paused","job":{...}}; kInvalidArgument
// (field "job.payload") for a payload that is not JSON.
Result<std::string> EncodeSchedulePut(const ScheduleSpec& spec);
// "" without a reason (the server takes an empty body), else {"reason":...}.
std::string EncodeCancel(const std::string& reason);
// {"items":[{"job_id","attempt","lease_token","result"?},...]}
Result<std::string> EncodeCompleteMany(const std::vector<Lease>& leases,
                                       const std::vector<std::string>& results);

// ---- reply documents ----

// kInternal "unexpected reply" when the text is not the expected document.
Result<Job> ParseJob(std::string_view json);
Result<Event> ParseEvent(std::string_view json);
Result<std::vector<Submitted>> ParseSubmitted(std::string_view json);  // one or a batch
Result<Submitted> ParseOneSubmitted(std::string_view json);
Result<JobPage> ParseJobPage(std::string_view json);
Result<TapePage> ParseTapePage(std::string_view json);
Result<CancelReply> ParseCancelReply(std::string_view json);
Result<QueueInfo> ParseQueueInfo(std::string_view json);
Result<std::vector<QueueInfo>> ParseQueues(std::string_view json);
Result<HealthReport> ParseHealth(int http_status, std::string_view json);
Result<Schedule> ParseSchedule(std::string_view json);
Result<SchedulePage> ParseSchedulePage(std::string_view json);
Result<std::vector<ClaimedJob>> ParseClaims(std::string_view json);
Result<HeartbeatReply> ParseHeartbeat(std::string_view json);
Result<Seq> ParseAppendReply(std::string_view json);
Result<FinishReply> ParseFinishReply(std::string_view json);
// {"results":[{job_id, state, retry_at, last_seq} | {job_id, error:{code,message}}]}
Result<std::vector<Result<FinishReply>>> ParseCompleteMany(std::string_view json);
// The terminal state named by a `final` event's data ({"state":"failed",...}).
std::optional<JobState> ParseFinalState(std::string_view event_data);

// The Status for a non-2xx reply. A JSON error body gives the server's code,
// message and field; a code without an ErrorCode of its own
// (method_not_allowed, unsupported_media_type, ...) maps by HTTP status and
// keeps its name in the message; an internal error's message carries the
// request id. A body that is not ours gives "HTTP <status>: <start of body>".
Status StatusFromReply(int http_status, std::string_view body);
// Errors a reconnect cannot cure (unknown job or batch, bad credentials, a
// malformed request): a watch returns them at once (watch.cpp).
bool IsPermanentError(const Status& s);

// The ErrorCode named `name` ("stale_lease"), or nullopt.
std::optional<ErrorCode> ParseErrorCode(std::string_view name);

}  // namespace jobtape::client
