#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "client/wire.hpp"
#include "json_text/raw_text.hpp"

namespace jobtape::client {
namespace json = boost::json;
using json_text::RawArrayElements;
using json_text::RawMemberValue;
namespace {

Status Unexpected(std::string_view what) {
  return Status::Internal("unexpected reply from the server: " + std::string(what));
}

Result<json::value> Parse(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec) return Unexpected("not JSON (" + ec.message() + ")");
  return v;
}

// The member, or nullptr when absent or null.
const json::value* Member(const json::object& o, std::string_view key) {
  auto it = o.find(json::string_view(key.data(), key.size()));
  if (it == o.end() || it->value().is_null()) return nullptr;
  return &it->value();
}

std::optional<int64_t> Int(const json::object& o, std::string_view key) {
  const json::value* v = Member(o, key);
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  if (v->is_double()) return static_cast<int64_t>(v->get_double());
  return std::nullopt;
}

std::string Str(const json::object& o, std::string_view key) {
  const json::value* v = Member(o, key);
  if (v == nullptr || !v->is_string()) return {};
  return std::string(v->get_string());
}

bool Bool(const json::object& o, std::string_view key, bool fallback = false) {
  const json::value* v = Member(o, key);
  return v != nullptr && v->is_bool() ? v->get_bool() : fallback;
}

double Double(const json::object& o, std::string_view key, double fallback) {
  const json::value* v = Member(o, key);
  if (v == nullptr) return fallback;
  if (v->is_double()) return v->get_double();
  if (auto i = Int(o, key)) return static_cast<double>(*i);
  return fallback;
}

// "<name>_ms" as a TimePoint.
std::optional<TimePoint> Time(const json::object& o, std::string_view name) {
  auto ms = Int(o, std::string(name) + "_ms");
  if (!ms) return std::nullopt;
  return FromMicros(*ms * 1000);
}

Duration Millis(const json::object& o, std::string_view key, Duration fallback) {
  auto ms = Int(o, key);
  return ms ? Duration(std::chrono::milliseconds(*ms)) : fallback;
}

// The member's JSON text exactly as in `raw` (the text `o` was parsed
// from); "" when absent or null.
std::string Raw(std::string_view raw, const json::object& o, std::string_view key) {
  const json::value* v = Member(o, key);
  if (v == nullptr) return {};
  if (auto text = RawMemberValue(raw, key)) return std::string(*text);
  return json::serialize(*v);  // no text to slice (cannot happen for a parsed reply)
}

std::optional<JobState> State(const json::object& o, std::string_view key = "state") {
  return ParseJobState(Str(o, key));
}

const json::array* Array(const json::object& o, std::string_view key) {
  const json::value* v = Member(o, key);
  return v != nullptr && v->is_array() ? &v->get_array() : nullptr;
}

// The JobSpec members of a job object (a job, or a schedule's template).
void SpecFrom(const json::object& o, std::string_view raw, JobSpec& s) {
  s.kind = Str(o, "kind");
  s.queue = Str(o, "queue");
  s.priority = static_cast<int>(Int(o, "priority").value_or(0));
  s.payload = Raw(raw, o, "payload");
  if (s.payload.empty()) s.payload = "null";
  s.max_attempts = static_cast<int>(Int(o, "max_attempts").value_or(s.max_attempts));
  if (const json::value* b = Member(o, "backoff"); b != nullptr && b->is_object()) {
    const json::object& bo = b->get_object();
    s.backoff.initial = Millis(bo, "initial_ms", s.backoff.initial);
    s.backoff.max = Millis(bo, "max_ms", s.backoff.max);
    s.backoff.multiplier = Double(bo, "multiplier", s.backoff.multiplier);
    s.backoff.jitter = Double(bo, "jitter", s.backoff.jitter);
  }
  if (auto t = Int(o, "timeout_ms")) s.timeout = std::chrono::milliseconds(*t);
  s.concurrency_key = Str(o, "concurrency_key");
  s.concurrency_limit = static_cast<int>(Int(o, "concurrency_limit").value_or(1));
  s.idempotency_key = Str(o, "idempotency_key");
  s.batch_id = Str(o, "batch_id");
  if (const json::array* tags = Array(o, "tags")) {
    for (const json::value& t : *tags) {
      if (t.is_string()) s.tags.emplace_back(t.get_string());
    }
  }
  if (auto r = Int(o, "retry_of")) s.retry_of = *r;
}

Result<Job> JobFrom(const json::value& v, std::string_view raw) {
  if (!v.is_object()) return Unexpected("a job is not an object");
  const json::object& o = v.get_object();
  auto id = Int(o, "id");
  auto state = State(o);
  if (!id || !state) return Unexpected("a job without id or state");
  Job job;
  job.id = *id;
  job.state = *state;
  SpecFrom(o, raw, job.spec);
  job.attempt = static_cast<int>(Int(o, "attempt").value_or(0));
  job.created_at = Time(o, "created_at").value_or(TimePoint{});
  job.updated_at = Time(o, "updated_at").value_or(TimePoint{});
  job.run_at = Time(o, "run_at").value_or(TimePoint{});
  job.started_at = Time(o, "started_at");
  job.finished_at = Time(o, "finished_at");
  job.lease_expires_at = Time(o, "lease_expires_at");
  job.worker_id = Str(o, "worker_id");
  job.node_id = Str(o, "node_id");
  job.cancel_requested = Bool(o, "cancel_requested");
  job.last_seq = Int(o, "last_seq").value_or(0);
  job.error = Raw(raw, o, "error");
  job.result = Raw(raw, o, "result");
  return job;
}

Result<Event> EventFrom(const json::value& v, std::string_view raw) {
  if (!v.is_object()) return Unexpected("an event is not an object");
  const json::object& o = v.get_object();
  auto seq = Int(o, "seq");
  auto type = ParseEventType(Str(o, "type"));
  if (!seq || !type) return Unexpected("an event without seq or type");
  Event e;
  e.job_id = Int(o, "job_id").value_or(0);
  e.seq = *seq;
  e.type = *type;
  e.at = Time(o, "at").value_or(TimePoint{});
  e.attempt = static_cast<int>(Int(o, "attempt").value_or(0));
  e.data = Raw(raw, o, "data");
  if (e.data.empty()) e.data = "{}";
  return e;
}

Result<Submitted> SubmittedFrom(const json::value& v, std::string_view) {
  if (!v.is_object()) return Unexpected("a submitted job is not an object");
  const json::object& o = v.get_object();
  auto id = Int(o, "id");
  auto state = State(o);
  if (!id || !state) return Unexpected("a submitted job without id or state");
  return Submitted{*id, *state, Bool(o, "duplicate")};
}

Result<QueueInfo> QueueFrom(const json::value& v, std::string_view) {
  if (!v.is_object()) return Unexpected("a queue is not an object");
  const json::object& o = v.get_object();
  QueueInfo q;
  q.name = Str(o, "name");
  if (q.name.empty()) return Unexpected("a queue without a name");
  q.paused = Bool(o, "paused");
  if (auto m = Int(o, "max_concurrent")) q.max_concurrent = static_cast<int>(*m);
  if (const json::value* c = Member(o, "counts"); c != nullptr && c->is_object()) {
    for (int i = 0; i < kJobStateCount; ++i) {
      q.counts[i] = Int(c->get_object(), JobStateName(static_cast<JobState>(i))).value_or(0);
    }
  }
  return q;
}

Result<Schedule> ScheduleFrom(const json::value& v, std::string_view raw) {
  if (!v.is_object()) return Unexpected("a schedule is not an object");
  const json::object& o = v.get_object();
  Schedule s;
  s.name = Str(o, "name");
  s.cron = Str(o, "cron");
  if (s.name.empty() || s.cron.empty()) return Unexpected("a schedule without name or cron");
  s.timezone = Str(o, "timezone");
  s.misfire = Str(o, "misfire");
  s.paused = Bool(o, "paused");
  if (const json::value* job = Member(o, "job"); job != nullptr && job->is_object()) {
    SpecFrom(job->get_object(), RawMemberValue(raw, "job").value_or(""), s.job);
  }
  s.next_fire_at = Time(o, "next_fire_at");
  s.last_fire_at = Time(o, "last_fire_at");
  s.last_job_id = Int(o, "last_job_id");
  s.created_at = Time(o, "created_at").value_or(TimePoint{});
  s.updated_at = Time(o, "updated_at").value_or(TimePoint{});
  return s;
}

Result<Lease> LeaseFrom(const json::object& o, const Job& job) {
  Lease lease;
  lease.job_id = Int(o, "job_id").value_or(job.id);
  lease.attempt = static_cast<int>(Int(o, "attempt").value_or(job.attempt));
  lease.token = Str(o, "lease_token");
  lease.expires_at = Time(o, "expires_at").value_or(TimePoint{});
  if (lease.token.empty()) return Unexpected("a lease without lease_token");
  return lease;
}

// The items of the array `doc` (or of its member `key`), each decoded by
// `from(value, text)`; `raw` is the text `doc` was parsed from.
template <typename T, typename F>
Result<std::vector<T>> ListOf(const json::value& doc, std::string_view raw, std::string_view key,
                              F from) {
  const json::array* items = nullptr;
  std::optional<std::string_view> array_text;
  if (doc.is_array()) {
    items = &doc.get_array();
    array_text = raw;
  } else if (doc.is_object()) {
    items = Array(doc.get_object(), key);
    array_text = RawMemberValue(raw, key);
  }
  if (items == nullptr) return Unexpected("no \"" + std::string(key) + "\" array");
  std::optional<std::vector<std::string_view>> texts;
  if (array_text) texts = RawArrayElements(*array_text);
  if (!texts || texts->size() != items->size()) return Unexpected("array text mismatch");
  std::vector<T> out;
  out.reserve(items->size());
  for (std::size_t i = 0; i < items->size(); ++i) {
    auto one = from((*items)[i], (*texts)[i]);
    if (!one.ok()) return one.status();
    out.push_back(std::move(one).value());
  }
  return out;
}

Result<const json::object*> ObjectDoc(const Result<json::value>& doc) {
  if (!doc.ok()) return doc.status();
  if (!doc->is_object()) return Unexpected("not a JSON object");
  return &doc->get_object();
}

}  // namespace

Result<Job> ParseJob(std::string_view text) {
  auto doc = Parse(text);
  if (!doc.ok()) return doc.status();
  return JobFrom(*doc, text);
}

Result<Event> ParseEvent(std::string_view text) {
  auto doc = Parse(text);
  if (!doc.ok()) return doc.status();
  return EventFrom(*doc, text);
}

Result<std::vector<Submitted>> ParseSubmitted(std::string_view text) {
  auto doc = Parse(text);
  if (!doc.ok()) return doc.status();
  if (doc->is_object() && doc->get_object().contains("jobs")) {
    return ListOf<Submitted>(*doc, text, "jobs", SubmittedFrom);
  }
  auto one = SubmittedFrom(*doc, text);
  if (!one.ok()) return one.status();
  return std::vector<Submitted>{*one};
}

Result<Submitted> ParseOneSubmitted(std::string_view text) {
  auto all = ParseSubmitted(text);
  if (!all.ok()) return all.status();
  if (all->size() != 1) return Unexpected("expected one job");
  return all->front();
}

Result<JobPage> ParseJobPage(std::string_view text) {
  auto doc = Parse(text);
  auto o = ObjectDoc(doc);
  if (!o.ok()) return o.status();
  auto jobs = ListOf<Job>(*doc, text, "jobs", JobFrom);
  if (!jobs.ok()) return jobs.status();
  JobPage page;
  page.jobs = std::move(jobs).value();
  page.next_cursor = Int(**o, "next_cursor");
  return page;
}

Result<TapePage> ParseTapePage(std::string_view text) {
  auto doc = Parse(text);
  auto o = ObjectDoc(doc);
  if (!o.ok()) return o.status();
  auto events = ListOf<Event>(*doc, text, "events", EventFrom);
  if (!events.ok()) return events.status();
  TapePage page;
  page.events = std::move(events).value();
  page.state = State(**o);
  page.last_seq = Int(**o, "last_seq").value_or(page.events.empty() ? 0 : page.events.back().seq);
  return page;
}

Result<CancelReply> ParseCancelReply(std::string_view text) {
  auto doc = Parse(text);
  auto o = ObjectDoc(doc);
  if (!o.ok()) return o.status();
  auto state = State(**o);
  if (!state) return Unexpected("a cancel reply without state");
  CancelReply r;
  r.state = *state;
  r.changed = Bool(**o, "changed", true);
  r.cancel_requested = Bool(**o, "cancel_requested");
  return r;
}

Result<QueueInfo> ParseQueueInfo(std::string_view text) {
  auto doc = Parse(text);
  if (!doc.ok()) return doc.status();
  return QueueFrom(*doc, text);
}

Result<std::vector<QueueInfo>> ParseQueues(std::string_view text) {
  auto doc = Parse(text);
  if (!doc.ok()) return doc.status();
  return ListOf<QueueInfo>(*doc, text, "queues", QueueFrom);
}

Result<HealthReport> ParseHealth(int http_status, std::string_view text) {
  HealthReport report;
  report.http_status = http_status;
  auto doc = Parse(text);
  if (doc.ok() && doc->is_object()) report.status = Str(doc->get_object(), "status");
  return report;
}

Result<Schedule> ParseSchedule(std::string_view text) {
  auto doc = Parse(text);
  if (!doc.ok()) return doc.status();
  return ScheduleFrom(*doc, text);
}

Result<SchedulePage> ParseSchedulePage(std::string_view text) {
  auto doc = Parse(text);
  auto o = ObjectDoc(doc);
  if (!o.ok()) return o.status();
  auto schedules = ListOf<Schedule>(*doc, text, "schedules", ScheduleFrom);
  if (!schedules.ok()) return schedules.status();
  SchedulePage page;
  page.schedules = std::move(schedules).value();
  if (const json::value* next = Member(**o, "next_cursor"); next != nullptr && next->is_string()) {
    page.next_cursor = std::string(next->get_string());
  }
  return page;
}

Result<std::vector<ClaimedJob>> ParseClaims(std::string_view text) {
  auto doc = Parse(text);
  if (!doc.ok()) return doc.status();
  const char* key = doc->is_object() && doc->get_object().contains("leases") ? "leases" : "jobs";
  return ListOf<ClaimedJob>(
      *doc, text, key, [](const json::value& item, std::string_view raw) -> Result<ClaimedJob> {
        if (!item.is_object()) return Unexpected("a claim is not an object");
        const json::object& o = item.get_object();
        const json::value* job_v = Member(o, "job");
        auto job = job_v != nullptr ? JobFrom(*job_v, RawMemberValue(raw, "job").value_or(""))
                                    : JobFrom(item, raw);
        if (!job.ok()) return job.status();
        const json::value* lease_v = Member(o, "lease");
        const json::object& lo =
            lease_v != nullptr && lease_v->is_object() ? lease_v->get_object() : o;
        auto lease = LeaseFrom(lo, *job);
        if (!lease.ok()) return lease.status();
        return ClaimedJob{std::move(job).value(), std::move(lease).value()};
      });
}

Result<HeartbeatReply> ParseHeartbeat(std::string_view text) {
  auto doc = Parse(text);
  auto o = ObjectDoc(doc);
  if (!o.ok()) return o.status();
  HeartbeatReply r;
  r.expires_at = Time(**o, "expires_at");
  r.cancel_requested = Bool(**o, "cancel_requested");
  return r;
}

Result<Seq> ParseAppendReply(std::string_view text) {
  auto doc = Parse(text);
  auto o = ObjectDoc(doc);
  if (!o.ok()) return o.status();
  return Int(**o, "last_seq").value_or(0);
}

namespace {

Result<FinishReply> FinishFrom(const json::object& o) {
  auto state = State(o);
  if (!state) return Unexpected("a finish reply without state");
  FinishReply r;
  r.state = *state;
  r.retry_at = Time(o, "retry_at");
  r.last_seq = Int(o, "last_seq").value_or(0);
  return r;
}

}  // namespace

Result<FinishReply> ParseFinishReply(std::string_view text) {
  auto doc = Parse(text);
  auto o = ObjectDoc(doc);
  if (!o.ok()) return o.status();
  return FinishFrom(**o);
}

Result<std::vector<Result<FinishReply>>> ParseCompleteMany(std::string_view text) {
  auto doc = Parse(text);
  auto o = ObjectDoc(doc);
  if (!o.ok()) return o.status();
  const json::array* items = Array(**o, "results");
  if (items == nullptr) return Unexpected("no \"results\" array");
  std::vector<Result<FinishReply>> out;
  out.reserve(items->size());
  for (const json::value& item : *items) {
    if (!item.is_object()) return Unexpected("a result is not an object");
    const json::object& io = item.get_object();
    const json::value* error = Member(io, "error");
    if (error != nullptr && error->is_object()) {
      const json::object& e = error->get_object();
      ErrorCode code = ParseErrorCode(Str(e, "code")).value_or(ErrorCode::kInternal);
      out.emplace_back(Status(code, Str(e, "message"), Str(e, "field")));
    } else {
      out.push_back(FinishFrom(io));
    }
  }
  return out;
}

std::optional<JobState> ParseFinalState(std::string_view event_data) {
  auto doc = Parse(event_data);
  if (!doc.ok() || !doc->is_object()) return std::nullopt;
  auto state = State(doc->get_object());
  if (!state || !IsTerminal(*state)) return std::nullopt;
  return state;
}

}  // namespace jobtape::client
