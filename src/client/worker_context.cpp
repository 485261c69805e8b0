// The handler's side of the worker SDK: JobResult and JobContext (progress
// and log output through the handler thread's own Client).
#include <unistd.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "client/worker_internal.hpp"

namespace jobtape::client {

JobResult JobResult::Success(std::string result_json) {
  JobResult r;
  r.result_json_ = std::move(result_json);
  return r;
}

JobResult JobResult::Failure(std::string code, std::string message, bool retryable,
                             std::optional<std::chrono::milliseconds> retry_delay) {
  JobResult r;
  r.succeeded_ = false;
  r.code_ = std::move(code);
  r.message_ = std::move(message);
  r.retryable_ = retryable;
  r.retry_delay_ = retry_delay;
  return r;
}

bool IsJsonText(std::string_view text) {
  boost::system::error_code ec;
  boost::json::parse(text, ec);
  return !ec;
}

std::string DefaultWorkerId() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0')
    std::snprintf(host, 8, "worker");
  // The server's name alphabet is [A-Za-z0-9_.:-]{1,128}.
  std::string id = host;
  for (char& c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == ':' || c == '-';
    if (!ok) c = '_';
  }
  std::string pid = "-" + std::to_string(::getpid());
  if (id.size() + pid.size() > 128) id.resize(128 - pid.size());
  return id + pid;
}

JobContext::JobContext(std::shared_ptr<ActiveJob> job, Client& client)
    : job_(std::move(job)), client_(client) {}

JobContext::~JobContext() = default;

const Job& JobContext::job() const {
  return job_->claimed.job;
}

const Lease& JobContext::lease() const {
  return job_->claimed.lease;
}

std::stop_token JobContext::stop_token() const {
  return job_->stop.get_token();
}

StopReason JobContext::stop_reason() const {
  return job_->reason.load();
}

bool JobContext::cancel_requested() const {
  return job_->cancel_requested.load();
}

Status JobContext::Send(std::vector<NewEvent> events) {
  if (job_->lost.load()) return Status::StaleLease("the lease of this job was lost");
  if (events.empty()) return Status::Ok();
  auto seq = client_.AppendEvents(job_->claimed.lease, events);
  if (seq.ok()) return Status::Ok();
  if (seq.status().code() == ErrorCode::kStaleLease) job_->owner.MarkLost(job_);
  return seq.status();
}

Status JobContext::Progress(int percent, const std::string& message) {
  boost::json::object data;
  data["percent"] = std::clamp(percent, 0, 100);
  if (!message.empty()) data["message"] = message;
  std::vector<NewEvent> events = std::move(pending_);
  pending_.clear();
  events.push_back({EventType::kProgress, boost::json::serialize(data)});
  return Send(std::move(events));
}

void JobContext::Log(std::string line) {
  boost::json::object data;
  data["line"] = std::move(line);
  Append({EventType::kLog, boost::json::serialize(data)});
}

void JobContext::Append(NewEvent event) {
  if (job_->lost.load()) return;
  auto now = SteadyClock::now();
  if (pending_.empty()) oldest_pending_ = now;
  pending_.push_back(std::move(event));
  if (pending_.size() >= kLogFlushLines || now - oldest_pending_ >= kLogFlushInterval) {
    Status s = Flush();
    if (!s.ok() && s.code() != ErrorCode::kStaleLease) job_->owner.Report(s);
  }
}

Status JobContext::Flush() {
  std::vector<NewEvent> events = std::move(pending_);
  pending_.clear();
  return Send(std::move(events));
}

}  // namespace jobtape::client
