#include "client/client.hpp"

#include "client/http_transport.hpp"
#include "client/wire.hpp"

namespace jobtape::client {

Client::Client(ClientOptions options)
    : options_(std::move(options)), transport_(std::make_unique<HttpTransport>(options_)) {}

Client::~Client() = default;

std::string Client::Target(std::string_view path, const QueryParams& query) const {
  return BuildTarget(options_.server, path, query);
}

Result<std::string> Client::Call(std::string method, std::string target, std::string body,
                                 bool replayable, std::string* json,
                                 std::chrono::milliseconds timeout) {
  HttpRequest request;
  request.method = std::move(method);
  request.target = std::move(target);
  request.body = std::move(body);
  request.replayable = replayable;
  request.timeout = timeout;
  auto reply = transport_->RoundTrip(request);
  if (!reply.ok()) return reply.status();
  if (reply->status < 200 || reply->status >= 300) {
    return StatusFromReply(reply->status, reply->body);
  }
  if (json != nullptr) *json = reply->body;
  return std::move(reply->body);
}

Result<Submitted> Client::Submit(const SubmitSpec& spec, std::string* json) {
  auto body = EncodeSubmit(spec);
  if (!body.ok()) return body.status();
  // A submission with an idempotency key may be repeated: the server answers
  // the original job the second time.
  bool replayable = spec.idempotency_key.has_value();
  auto text = Call("POST", Target("/v1/jobs"), std::move(body).value(), replayable, json);
  if (!text.ok()) return text.status();
  return ParseOneSubmitted(*text);
}

Result<std::vector<Submitted>> Client::SubmitRaw(std::string body, std::string* json) {
  auto text = Call("POST", Target("/v1/jobs"), std::move(body), false, json);
  if (!text.ok()) return text.status();
  return ParseSubmitted(*text);
}

Result<Job> Client::Get(JobId id, std::string* json) {
  auto text = Call("GET", Target("/v1/jobs/" + std::to_string(id)), {}, true, json);
  if (!text.ok()) return text.status();
  return ParseJob(*text);
}

Result<JobPage> Client::List(const ListFilter& f, std::string* json) {
  QueryParams q;
  if (f.queue) q.emplace_back("queue", *f.queue);
  if (f.state) q.emplace_back("state", std::string(JobStateName(*f.state)));
  if (f.kind) q.emplace_back("kind", *f.kind);
  if (f.batch) q.emplace_back("batch", std::to_string(*f.batch));
  if (f.limit) q.emplace_back("limit", std::to_string(*f.limit));
  if (f.cursor) q.emplace_back("cursor", std::to_string(*f.cursor));
  auto text = Call("GET", Target("/v1/jobs", q), {}, true, json);
  if (!text.ok()) return text.status();
  return ParseJobPage(*text);
}

Result<TapePage> Client::Events(JobId id, Seq after, int limit, std::string* json) {
  QueryParams q;
  q.emplace_back("after", std::to_string(after));
  if (limit > 0) q.emplace_back("limit", std::to_string(limit));
  auto text = Call("GET", Target("/v1/jobs/" + std::to_string(id) + "/events", q), {}, true, json);
  if (!text.ok()) return text.status();
  return ParseTapePage(*text);
}

Result<CancelReply> Client::Cancel(JobId id, const std::string& reason, std::string* json) {
  // Cancel is idempotent: a second one on a cancelled job changes nothing.
  auto text = Call("POST", Target("/v1/jobs/" + std::to_string(id) + "/cancel"),
                   EncodeCancel(reason), true, json);
  if (!text.ok()) return text.status();
  return ParseCancelReply(*text);
}

Result<Submitted> Client::Retry(JobId id, std::string* json) {
  auto text = Call("POST", Target("/v1/jobs/" + std::to_string(id) + "/retry"), {}, false, json);
  if (!text.ok()) return text.status();
  return ParseOneSubmitted(*text);
}

Result<std::vector<QueueInfo>> Client::Queues(std::string* json) {
  auto text = Call("GET", Target("/v1/queues"), {}, true, json);
  if (!text.ok()) return text.status();
  return ParseQueues(*text);
}

Result<QueueInfo> Client::PatchQueue(const std::string& name, const QueuePatch& patch,
                                     std::string* json) {
  auto text = Call("PATCH", Target("/v1/queues/" + PercentEncode(name)), EncodeQueuePatch(patch),
                   true, json);
  if (!text.ok()) return text.status();
  return ParseQueueInfo(*text);
}

Result<Schedule> Client::PutSchedule(const ScheduleSpec& spec, std::string* json) {
  auto body = EncodeSchedulePut(spec);
  if (!body.ok()) return body.status();
  HttpRequest request;
  request.method = "PUT";
  request.target = Target("/v1/schedules/" + PercentEncode(spec.name));
  request.body = std::move(body).value();
  request.replayable = true;  // a PUT of the same definition is idempotent
  auto reply = transport_->RoundTrip(request);
  if (!reply.ok()) return reply.status();
  if (reply->status != 200 && reply->status != 201) {
    return StatusFromReply(reply->status, reply->body);
  }
  if (json != nullptr) *json = reply->body;
  auto schedule = ParseSchedule(reply->body);
  if (schedule.ok()) schedule->created = reply->status == 201;
  return schedule;
}

Result<Schedule> Client::GetSchedule(const std::string& name, std::string* json) {
  auto text = Call("GET", Target("/v1/schedules/" + PercentEncode(name)), {}, true, json);
  if (!text.ok()) return text.status();
  return ParseSchedule(*text);
}

Result<SchedulePage> Client::ListSchedules(int limit, const std::string& cursor,
                                           std::string* json) {
  QueryParams q;
  if (limit > 0) q.emplace_back("limit", std::to_string(limit));
  if (!cursor.empty()) q.emplace_back("cursor", cursor);
  auto text = Call("GET", Target("/v1/schedules", q), {}, true, json);
  if (!text.ok()) return text.status();
  return ParseSchedulePage(*text);
}

Status Client::DeleteSchedule(const std::string& name) {
  // Not replayed: a repeat after a lost reply would answer 404 for a delete
  // that worked.
  auto text = Call("DELETE", Target("/v1/schedules/" + PercentEncode(name)), {}, false, nullptr);
  return text.ok() ? Status::Ok() : text.status();
}

ScheduleSpec SpecOf(const Schedule& schedule) {
  ScheduleSpec spec;
  spec.name = schedule.name;
  spec.cron = schedule.cron;
  spec.timezone = schedule.timezone;
  spec.misfire = schedule.misfire;
  spec.paused = schedule.paused;
  const JobSpec& t = schedule.job;
  SubmitSpec& job = spec.job;
  job.kind = t.kind;
  job.queue = t.queue;
  job.payload = t.payload;
  job.priority = t.priority;
  job.max_attempts = t.max_attempts;
  job.backoff = t.backoff;
  if (t.timeout) job.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*t.timeout);
  if (!t.concurrency_key.empty()) job.concurrency_key = t.concurrency_key;
  job.concurrency_limit = t.concurrency_limit;
  job.tags = t.tags;
  return spec;
}

Result<Schedule> Client::SetSchedulePaused(const std::string& name, bool paused,
                                           std::string* json) {
  auto current = GetSchedule(name, json);
  if (!current.ok() || current->paused == paused) return current;
  ScheduleSpec spec = SpecOf(*current);
  spec.paused = paused;
  return PutSchedule(spec, json);
}

Result<HealthReport> Client::Health(std::string* json) {
  HttpRequest request;
  request.target = Target("/health");
  request.replayable = true;
  auto reply = transport_->RoundTrip(request);
  if (!reply.ok()) return reply.status();
  if (reply->status != 200 && reply->status != 503) {
    return StatusFromReply(reply->status, reply->body);
  }
  if (json != nullptr) *json = reply->body;
  return ParseHealth(reply->status, reply->body);
}

}  // namespace jobtape::client
