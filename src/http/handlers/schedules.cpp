// The schedules resource (cron, issue 5): PUT /v1/schedules/{name} (create
// or replace), GET /v1/schedules/{name}, GET /v1/schedules (by name, in
// pages), DELETE /v1/schedules/{name}. Pausing is the `paused` member of PUT,
// as for queues (PATCH /v1/queues/{name}); the store keeps the pending next
// fire of an update that leaves cron, zone and pause state alone.
//
// PUT body: {"cron", "timezone"? (default UTC), "misfire"? ("skip" default |
// "run_once"), "paused"? (false), "job": {the fields of a POST /v1/jobs job,
// decoded by DecodeJobSpec, except run_at/delay_ms/idempotency_key, which
// each fire sets itself}}. A replace is a whole new definition: members left
// out take their defaults. Errors name the field ("cron", "timezone",
// "job.priority"); a bad expression or zone is 422 invalid_argument.
//
// After a successful PUT the server's ctx.schedules_changed (Scheduler::Wake)
// runs, so a new or earlier next fire is not left to the loop's interval.
#include <limits>
#include <string>

#include "http/handlers/handler_util.hpp"
#include "http/handlers/routes.hpp"
#include "http/job_decode.hpp"
#include "http/job_encode.hpp"
#include "http/json_fields.hpp"
#include "http/store_await.hpp"
#include "json_text/raw_text.hpp"
#include "store/schedule_rules.hpp"

namespace jobtape::http {
namespace {

using boost::asio::awaitable;
namespace json = boost::json;
using json_text::RawMemberValue;

void WriteSchedule(JsonWriter& w, const store::Schedule& s) {
  const store::ScheduleSpec& spec = s.spec;
  w.BeginObject();
  w.Key("name").String(spec.name);
  w.Key("cron").String(spec.cron);
  w.Key("timezone").String(spec.timezone);
  w.Key("misfire").String(store::MisfirePolicyName(spec.misfire));
  w.Key("paused").Bool(spec.paused);
  w.Key("job");
  WriteJobTemplate(w, spec.job);
  WriteTime(w, "next_fire_at", s.next_fire_at);
  WriteTime(w, "last_fire_at", s.last_fire_at);
  w.Key("last_job_id");
  if (s.last_job_id) {
    w.Int(*s.last_job_id);
  } else {
    w.Null();
  }
  WriteTime(w, "created_at", s.created_at);
  WriteTime(w, "updated_at", s.updated_at);
  w.EndObject();
}

// The PUT body as a ScheduleSpec (syntax and types: Phase::kDecode).
Status DecodeScheduleBody(const json::object& o, std::string_view raw, TimePoint now,
                          store::ScheduleSpec& spec, SubmittedFields& fields) {
  JT_RETURN_IF_ERROR(CheckKnownFields(o, {"cron", "timezone", "misfire", "paused", "job"}));
  JT_RETURN_IF_ERROR(ReadRequiredString(o, "cron", spec.cron));
  JT_RETURN_IF_ERROR(ReadString(o, "timezone", spec.timezone));
  std::string misfire;
  JT_RETURN_IF_ERROR(ReadString(o, "misfire", misfire));
  if (!misfire.empty()) {
    auto policy = store::ParseMisfirePolicy(misfire);
    if (!policy) return Status::InvalidArgument("must be skip or run_once", "misfire");
    spec.misfire = *policy;
  }
  JT_RETURN_IF_ERROR(ReadBool(o, "paused", spec.paused));
  const json::value* job = FindField(o, "job");
  if (job == nullptr) return Status::InvalidArgument("is required", "job");
  if (const json::object* jo = job->if_object()) {
    // Each fire sets these itself; refusing them here names the field the
    // client sent (delay_ms would otherwise surface as job.run_at).
    for (std::string_view set_by_fire : {"run_at", "delay_ms", "idempotency_key"}) {
      if (FindField(*jo, set_by_fire) != nullptr) {
        return Status::InvalidArgument("set by each fire; must be left out",
                                       "job." + std::string(set_by_fire));
      }
    }
  }
  std::optional<std::string_view> job_text = RawMemberValue(raw, "job");
  if (!job_text) return Status::Internal("job present but not found in the request text");
  auto decoded = DecodeJobSpec(*job, *job_text, now);
  if (!decoded.ok()) return decoded.status().WithFieldPrefix("job");
  spec.job = std::move(decoded).value();
  fields = FieldsPresent(*job);
  return Status::Ok();
}

// PUT /v1/schedules/{name}: 201 created, 200 replaced; the schedule either way.
awaitable<Response> Put(ServerContext& ctx, Request& req) {
  auto body = ParseObjectBody(req, ctx);
  if (!body.ok()) co_return ErrorResponse(body.status(), req, Phase::kDecode);
  const TimePoint now = ctx.clock.Now();
  store::ScheduleUpsertParams p{.now = now};
  p.spec.name = std::string(req.Param("name"));
  SubmittedFields fields;
  Status s = DecodeScheduleBody(body->get_object(), req.body, now, p.spec, fields);
  if (!s.ok()) co_return ErrorResponse(s, req, Phase::kDecode);
  // The store checks the same rules; checking first lets a defined kind fill
  // in its queue and attempts only for a template that is otherwise valid.
  s = store::ValidateScheduleUpsert(p, ctx.store.limits());
  if (s.ok() && ctx.kinds != nullptr) {
    s = ctx.kinds->Apply(p.spec.job, fields);
    if (!s.ok()) s = s.WithFieldPrefix("job");
  }
  if (!s.ok()) co_return ErrorResponse(s, req);
  auto r = co_await AwaitStore<store::ScheduleUpsertResult>(
      [&](store::Done<store::ScheduleUpsertResult> done) {
        ctx.store.ScheduleUpsertAsync(std::move(p), std::move(done));
      });
  if (!r.ok()) co_return ErrorResponse(r.status(), req);
  if (ctx.schedules_changed) ctx.schedules_changed();
  JsonWriter w;
  WriteSchedule(w, r->schedule);
  Response response = JsonReply(r->created ? 201 : 200, w);
  if (r->created) {
    response.SetHeader("Location", "/v1/schedules/" + r->schedule.spec.name);
  }
  co_return response;
}

// GET /v1/schedules/{name}
awaitable<Response> Get(ServerContext& ctx, Request& req) {
  std::string name(req.Param("name"));
  auto r = co_await AwaitStore<store::Schedule>([&](store::Done<store::Schedule> done) {
    ctx.store.ScheduleGetAsync(std::move(name), std::move(done));
  });
  if (!r.ok()) co_return ErrorResponse(r.status(), req);
  JsonWriter w;
  WriteSchedule(w, *r);
  co_return JsonReply(200, w);
}

// GET /v1/schedules?limit=&cursor=: by name; `next_cursor` is the name to
// pass as `cursor` for the next page (null on the last).
awaitable<Response> List(ServerContext& ctx, Request& req) {
  Status s = CheckKnownQuery(req, {"limit", "cursor"});
  std::optional<int64_t> limit;
  if (s.ok()) s = QueryInt(req, "limit", limit);
  if (!s.ok()) co_return ErrorResponse(s, req, Phase::kDecode);
  store::SchedulesListParams p;
  if (limit) {
    // Out of range stays out of range (the store answers 422), never wraps.
    p.limit = *limit > std::numeric_limits<int>::max() || *limit < 0 ? 0 : static_cast<int>(*limit);
  }
  if (auto cursor = req.Query("cursor")) p.after = std::string(*cursor);
  auto r = co_await AwaitStore<store::SchedulePage>([&](store::Done<store::SchedulePage> done) {
    ctx.store.SchedulesListAsync(std::move(p), std::move(done));
  });
  if (!r.ok()) co_return ErrorResponse(r.status(), req);
  JsonWriter w;
  w.BeginObject().Key("schedules").BeginArray();
  for (const store::Schedule& schedule : r->schedules)
    WriteSchedule(w, schedule);
  w.EndArray().Key("next_cursor");
  if (r->next_after) {
    w.String(*r->next_after);
  } else {
    w.Null();
  }
  w.EndObject();
  co_return JsonReply(200, w);
}

// DELETE /v1/schedules/{name}: 204; jobs it enqueued are left alone.
awaitable<Response> Delete(ServerContext& ctx, Request& req) {
  std::string name(req.Param("name"));
  auto r = co_await AwaitStore<store::Schedule>([&](store::Done<store::Schedule> done) {
    ctx.store.ScheduleDeleteAsync(std::move(name), std::move(done));
  });
  if (!r.ok()) co_return ErrorResponse(r.status(), req);
  Response response;
  response.status = 204;
  co_return response;
}

}  // namespace

void AddScheduleRoutes(Router& router, ServerContext& ctx) {
  auto bind = [&ctx](auto fn) {
    return [&ctx, fn](Request& req) -> awaitable<Response> { return fn(ctx, req); };
  };
  router.Add(Method::kGet, "/v1/schedules", Permission::kRead, bind(List));
  router.Add(Method::kGet, "/v1/schedules/{name}", Permission::kRead, bind(Get));
  router.Add(Method::kPut, "/v1/schedules/{name}", Permission::kSchedulesAdmin, bind(Put),
             RequestBody::kJson);
  router.Add(Method::kDelete, "/v1/schedules/{name}", Permission::kSchedulesAdmin, bind(Delete));
}

}  // namespace jobtape::http
