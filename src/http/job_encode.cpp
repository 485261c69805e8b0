#include "http/job_encode.hpp"

#include <optional>

namespace jobtape::http {
namespace {

int64_t Millis(Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

void WriteOptionalString(JsonWriter& w, std::string_view name, const std::string& value) {
  w.Key(name);
  if (value.empty()) {
    w.Null();
  } else {
    w.String(value);
  }
}

}  // namespace

void WriteTime(JsonWriter& w, std::string_view name, std::optional<TimePoint> t) {
  std::string ms_key(name);
  ms_key += "_ms";
  if (t) {
    w.Key(name).String(FormatTime(*t));
    w.Key(ms_key).Int(ToMillis(*t));
  } else {
    w.Key(name).Null();
    w.Key(ms_key).Null();
  }
}

static void WriteBackoffAndTimeout(JsonWriter& w, const JobSpec& s) {
  w.Key("backoff").BeginObject();
  w.Key("initial_ms").Int(Millis(s.backoff.initial));
  w.Key("max_ms").Int(Millis(s.backoff.max));
  w.Key("multiplier").Double(s.backoff.multiplier);
  w.Key("jitter").Double(s.backoff.jitter);
  w.EndObject();
  w.Key("timeout_ms");
  if (s.timeout) {
    w.Int(Millis(*s.timeout));
  } else {
    w.Null();
  }
}

void WriteJobTemplate(JsonWriter& w, const JobSpec& s) {
  w.BeginObject();
  w.Key("kind").String(s.kind);
  w.Key("queue").String(s.queue);
  w.Key("priority").Int(s.priority);
  w.Key("payload").Raw(s.payload);
  w.Key("max_attempts").Int(s.max_attempts);
  WriteBackoffAndTimeout(w, s);
  WriteOptionalString(w, "concurrency_key", s.concurrency_key);
  w.Key("concurrency_limit").Int(s.concurrency_limit);
  w.Key("tags").BeginArray();
  for (const std::string& tag : s.tags)
    w.String(tag);
  w.EndArray();
  w.EndObject();
}

void WriteJob(JsonWriter& w, const Job& job) {
  const JobSpec& s = job.spec;
  w.BeginObject();
  w.Key("id").Int(job.id);
  w.Key("kind").String(s.kind);
  w.Key("queue").String(s.queue);
  w.Key("state").String(JobStateName(job.state));
  w.Key("priority").Int(s.priority);
  w.Key("payload").Raw(s.payload);
  w.Key("attempt").Int(job.attempt);
  w.Key("max_attempts").Int(s.max_attempts);
  WriteBackoffAndTimeout(w, s);
  WriteOptionalString(w, "concurrency_key", s.concurrency_key);
  w.Key("concurrency_limit").Int(s.concurrency_limit);
  WriteOptionalString(w, "idempotency_key", s.idempotency_key);
  WriteOptionalString(w, "batch_id", s.batch_id);
  w.Key("tags").BeginArray();
  for (const std::string& tag : s.tags)
    w.String(tag);
  w.EndArray();
  w.Key("retry_of");
  if (s.retry_of) {
    w.Int(*s.retry_of);
  } else {
    w.Null();
  }
  WriteTime(w, "created_at", job.created_at);
  WriteTime(w, "updated_at", job.updated_at);
  WriteTime(w, "run_at", job.run_at);
  WriteTime(w, "started_at", job.started_at);
  WriteTime(w, "finished_at", job.finished_at);
  WriteTime(w, "lease_expires_at", job.lease_expires_at);
  WriteOptionalString(w, "worker_id", job.worker_id);
  WriteOptionalString(w, "node_id", job.node_id);
  w.Key("cancel_requested").Bool(job.cancel_requested);
  w.Key("last_seq").Int(job.last_seq);
  w.Key("error").Raw(job.error);
  w.Key("result").Raw(job.result);
  w.EndObject();
}

void WriteEvent(JsonWriter& w, const Event& event) {
  w.BeginObject();
  w.Key("job_id").Int(event.job_id);
  w.Key("seq").Int(event.seq);
  w.Key("type").String(EventTypeName(event.type));
  WriteTime(w, "at", event.at);
  w.Key("attempt").Int(event.attempt);
  w.Key("data").Raw(event.data);
  w.EndObject();
}

void WriteLease(JsonWriter& w, const Lease& lease) {
  w.BeginObject();
  w.Key("job_id").Int(lease.job_id);
  w.Key("attempt").Int(lease.attempt);
  w.Key("lease_token").String(lease.token);
  WriteTime(w, "expires_at", lease.expires_at);
  w.EndObject();
}

void WriteQueueInfo(JsonWriter& w, const store::QueueInfo& queue, const QueueReaperTotals& reaper) {
  w.BeginObject();
  w.Key("name").String(queue.name);
  w.Key("paused").Bool(queue.paused);
  w.Key("max_concurrent");
  if (queue.max_concurrent) {
    w.Int(*queue.max_concurrent);
  } else {
    w.Null();
  }
  w.Key("counts").BeginObject();
  for (int i = 0; i < kJobStateCount; ++i) {
    w.Key(JobStateName(static_cast<JobState>(i))).Int(queue.counts[i]);
  }
  w.EndObject();
  w.Key("reaper").BeginObject();
  const std::pair<const char*, uint64_t> reaper_totals[] = {
      {"lease_expired", reaper.lease_expired},
      {"runtime_backstop", reaper.runtime_backstop},
      {"cancel_grace", reaper.cancel_grace},
      {"deferred", reaper.deferred},
      {"raced", reaper.raced}};
  for (const auto& [key, total] : reaper_totals) {
    w.Key(key).Int(static_cast<int64_t>(total));
  }
  w.EndObject();
  w.EndObject();
}

void WriteEnqueuedJob(JsonWriter& w, const store::EnqueuedJob& job) {
  w.BeginObject();
  w.Key("id").Int(job.id);
  w.Key("state").String(JobStateName(job.state));
  w.Key("duplicate").Bool(job.duplicate);
  w.EndObject();
}

std::string EncodeJob(const Job& job) {
  JsonWriter w;
  WriteJob(w, job);
  return w.Release();
}

std::string EncodeEvent(const Event& event) {
  JsonWriter w;
  WriteEvent(w, event);
  return w.Release();
}

}  // namespace jobtape::http
