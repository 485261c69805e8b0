// The client's JSON against the server's own codecs: what the client sends
// decodes with src/http/job_decode.cpp, and what src/http/job_encode.cpp
// writes parses back into the same values.
#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include "client/client.hpp"
#include "client/wire.hpp"
#include "http/errors.hpp"
#include "http/job_decode.hpp"
#include "http/job_encode.hpp"
#include "json_text/raw_text.hpp"

namespace jobtape::client {
namespace {

const TimePoint kNow = FromMicros(1'700'000'000'123'000);

Job SampleJob() {
  Job job;
  job.id = 42;
  job.state = JobState::kRunning;
  job.attempt = 2;
  job.spec.kind = "resize";
  job.spec.queue = "images";
  job.spec.payload = R"({"w":0.1,"big":123456789012345678901234567890})";
  job.spec.priority = -5;
  job.spec.max_attempts = 7;
  job.spec.backoff.initial = std::chrono::milliseconds(250);
  job.spec.backoff.multiplier = 1.5;
  job.spec.timeout = std::chrono::seconds(90);
  job.spec.concurrency_key = "user:1";
  job.spec.concurrency_limit = 2;
  job.spec.idempotency_key = "once";
  job.spec.tags = {"a", "b"};
  job.spec.retry_of = 41;
  job.created_at = kNow;
  job.updated_at = kNow + std::chrono::seconds(1);
  job.run_at = kNow;
  job.started_at = kNow + std::chrono::seconds(2);
  job.lease_expires_at = kNow + std::chrono::seconds(32);
  job.worker_id = "w1";
  job.cancel_requested = true;
  job.last_seq = 9;
  job.error = R"({"code":"exit_status","message":"exit 3"})";
  return job;
}

TEST(Wire, ServerJobEncodingParsesBack) {
  Job in = SampleJob();
  auto out = ParseJob(http::EncodeJob(in));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->id, 42);
  EXPECT_EQ(out->state, JobState::kRunning);
  EXPECT_EQ(out->attempt, 2);
  EXPECT_EQ(out->spec.kind, "resize");
  EXPECT_EQ(out->spec.queue, "images");
  EXPECT_EQ(out->spec.priority, -5);
  EXPECT_EQ(out->spec.max_attempts, 7);
  EXPECT_EQ(out->spec.backoff.initial, in.spec.backoff.initial);
  EXPECT_DOUBLE_EQ(out->spec.backoff.multiplier, 1.5);
  EXPECT_EQ(out->spec.timeout, in.spec.timeout);
  EXPECT_EQ(out->spec.concurrency_key, "user:1");
  EXPECT_EQ(out->spec.concurrency_limit, 2);
  EXPECT_EQ(out->spec.idempotency_key, "once");
  EXPECT_EQ(out->spec.tags, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(out->spec.retry_of, 41);
  EXPECT_EQ(out->created_at, kNow);
  EXPECT_EQ(out->started_at, in.started_at);
  EXPECT_FALSE(out->finished_at.has_value());
  EXPECT_EQ(out->lease_expires_at, in.lease_expires_at);
  EXPECT_EQ(out->worker_id, "w1");
  EXPECT_EQ(out->node_id, "");
  EXPECT_TRUE(out->cancel_requested);
  EXPECT_EQ(out->last_seq, 9);
  EXPECT_EQ(boost::json::parse(out->error), boost::json::parse(in.error));
  EXPECT_EQ(out->result, "");
  EXPECT_EQ(boost::json::parse(out->spec.payload), boost::json::parse(in.spec.payload));
}

TEST(Wire, ServerEventAndQueueEncodingsParseBack) {
  Event e{7, 3, EventType::kProgress, kNow, 1, R"({"percent":50,"message":"half"})"};
  auto out = ParseEvent(http::EncodeEvent(e));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->job_id, 7);
  EXPECT_EQ(out->seq, 3);
  EXPECT_EQ(out->type, EventType::kProgress);
  EXPECT_EQ(out->at, kNow);
  EXPECT_EQ(out->attempt, 1);
  EXPECT_EQ(boost::json::parse(out->data), boost::json::parse(e.data));

  store::QueueInfo q;
  q.name = "images";
  q.paused = true;
  q.max_concurrent = 4;
  q.counts[static_cast<int>(JobState::kRunning)] = 3;
  http::JsonWriter w;
  w.BeginObject().Key("queues").BeginArray();
  http::WriteQueueInfo(w, q);
  w.EndArray().EndObject();
  auto queues = ParseQueues(w.str());
  ASSERT_TRUE(queues.ok()) << queues.status().ToString();
  ASSERT_EQ(queues->size(), 1u);
  EXPECT_EQ((*queues)[0].name, "images");
  EXPECT_TRUE((*queues)[0].paused);
  EXPECT_EQ((*queues)[0].max_concurrent, 4);
  EXPECT_EQ((*queues)[0].counts[static_cast<int>(JobState::kRunning)], 3);
}

TEST(Wire, SubmitBodyDecodesOnTheServerWithThePayloadByteForByte) {
  SubmitSpec s;
  s.kind = "resize";
  s.queue = "images";
  s.payload = "  {\"w\": 0.1, \"e\": 1e400, \"s\": \"\\u00e9\"}\n";
  s.priority = 10;
  s.delay = std::chrono::milliseconds(1500);
  s.max_attempts = 5;
  s.timeout = std::chrono::seconds(60);
  s.concurrency_key = "k";
  s.idempotency_key = "id\"quoted";
  s.tags = {"x", "y"};
  auto body = EncodeSubmit(s);
  ASSERT_TRUE(body.ok()) << body.status().ToString();
  auto spec = http::DecodeJobSpec(boost::json::parse(*body), *body, kNow);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString() << "\n" << *body;
  EXPECT_EQ(spec->kind, "resize");
  EXPECT_EQ(spec->queue, "images");
  EXPECT_EQ(spec->payload, "{\"w\": 0.1, \"e\": 1e400, \"s\": \"\\u00e9\"}");  // as typed
  EXPECT_EQ(spec->priority, 10);
  EXPECT_EQ(spec->run_at, kNow + std::chrono::milliseconds(1500));
  EXPECT_EQ(spec->max_attempts, 5);
  EXPECT_EQ(spec->timeout, Duration(std::chrono::seconds(60)));
  EXPECT_EQ(spec->concurrency_key, "k");
  EXPECT_EQ(spec->idempotency_key, "id\"quoted");
  EXPECT_EQ(spec->tags, (std::vector<std::string>{"x", "y"}));
}

TEST(Wire, MinimalAndBatchSubmitBodies) {
  SubmitSpec s;
  s.kind = "noop";
  auto one = EncodeSubmit(s);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(*one, R"({"kind":"noop"})");
  auto batch = EncodeSubmitBatch({s, s});
  ASSERT_TRUE(batch.ok());
  auto sub = http::DecodeSubmission(boost::json::parse(*batch), *batch, kNow, 1000);
  ASSERT_TRUE(sub.ok()) << sub.status().ToString();
  EXPECT_TRUE(sub->batch);
  EXPECT_EQ(sub->jobs.size(), 2u);
}

TEST(Wire, InvalidJsonIsRefusedBeforeSending) {
  SubmitSpec s;
  s.kind = "noop";
  s.payload = "{nope";
  auto body = EncodeSubmit(s);
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(body.status().field(), "payload");
  auto batch = EncodeSubmitBatch({SubmitSpec{.kind = "ok"}, s});
  ASSERT_FALSE(batch.ok());
  EXPECT_EQ(batch.status().field(), "jobs[1].payload");
  Lease lease{1, 1, "t", kNow};
  EXPECT_FALSE(EncodeAppend(lease, {NewEvent{EventType::kLog, "[1"}}).ok());
  EXPECT_FALSE(EncodeComplete(lease, "nan").ok());
}

TEST(Wire, LeaseBodies) {
  Lease lease{5, 2, "abc", kNow};
  EXPECT_EQ(EncodeHeartbeat(lease, std::chrono::milliseconds(30000)),
            R"({"lease_token":"abc","lease_ms":30000})");
  auto append = EncodeAppend(lease, {NewEvent{EventType::kProgress, R"({"percent":5})"}});
  ASSERT_TRUE(append.ok());
  EXPECT_EQ(*append,
            R"({"lease_token":"abc","events":[{"type":"progress","data":{"percent":5}}]})");
  auto complete = EncodeComplete(lease, "0.1");
  ASSERT_TRUE(complete.ok());
  EXPECT_EQ(*complete, R"({"lease_token":"abc","result":0.1})");
  EXPECT_EQ(EncodeFail(lease, "boom", "it \"broke\"", false, std::chrono::milliseconds(10)),
            R"({"lease_token":"abc","error":{"code":"boom","message":"it \"broke\""},)"
            R"("retryable":false,"retry_delay_ms":10})");
  ClaimRequest claim;
  claim.queues = {"a", "b"};
  claim.max = 10;
  claim.wait = std::chrono::milliseconds(5000);
  EXPECT_EQ(EncodeClaim(claim), R"({"queues":["a","b"],"max":10,"wait_ms":5000})");
  QueuePatch patch;
  patch.max_concurrent = std::optional<int>();
  patch.paused = true;
  EXPECT_EQ(EncodeQueuePatch(patch), R"({"max_concurrent":null,"paused":true})");
}

TEST(Wire, ErrorBodiesBecomeTheServersStatus) {
  std::string body = http::ErrorBody("stale_lease", "lease is stale", "lease_token", "r-1");
  Status s = StatusFromReply(409, body);
  EXPECT_EQ(s.code(), ErrorCode::kStaleLease);
  EXPECT_EQ(s.message(), "lease is stale");
  EXPECT_EQ(s.field(), "lease_token");

  // Every code the server can send maps back to itself.
  for (int c = 1; c <= static_cast<int>(ErrorCode::kInternal); ++c) {
    auto code = static_cast<ErrorCode>(c);
    Status back = StatusFromReply(http::HttpStatusFor(code),
                                  http::ErrorBody(ErrorCodeName(code), "m", "", "r-2"));
    EXPECT_EQ(back.code(), code) << ErrorCodeName(code);
  }
  Status internal = StatusFromReply(500, http::ErrorBody("internal", "oops", "", "r-9"));
  EXPECT_NE(internal.message().find("r-9"), std::string::npos);

  Status method = StatusFromReply(405, http::ErrorBody("method_not_allowed", "no", "", ""));
  EXPECT_EQ(method.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(method.message(), "method_not_allowed: no");

  Status proxy = StatusFromReply(502, "<html>Bad Gateway</html>");
  EXPECT_EQ(proxy.code(), ErrorCode::kUnavailable);
  EXPECT_EQ(proxy.message(), "HTTP 502: <html>Bad Gateway</html>");
}

TEST(Wire, ReplyDocuments) {
  auto page =
      ParseJobPage(R"({"jobs":[)" + http::EncodeJob(SampleJob()) + R"(],"next_cursor":41})");
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->jobs.size(), 1u);
  EXPECT_EQ(page->next_cursor, 41);
  auto last = ParseJobPage(R"({"jobs":[],"next_cursor":null})");
  ASSERT_TRUE(last.ok());
  EXPECT_FALSE(last->next_cursor.has_value());

  auto submitted = ParseSubmitted(R"({"jobs":[{"id":1,"state":"queued","duplicate":false},)"
                                  R"({"id":2,"state":"scheduled","duplicate":true}]})");
  ASSERT_TRUE(submitted.ok());
  ASSERT_EQ(submitted->size(), 2u);
  EXPECT_EQ((*submitted)[1].state, JobState::kScheduled);
  EXPECT_TRUE((*submitted)[1].duplicate);

  auto tape = ParseTapePage(R"({"events":[)" +
                            http::EncodeEvent(Event{1, 1, EventType::kCreated, kNow, 0, "{}"}) +
                            R"(],"state":"queued","last_seq":1})");
  ASSERT_TRUE(tape.ok()) << tape.status().ToString();
  EXPECT_EQ(tape->events.size(), 1u);
  EXPECT_EQ(tape->state, JobState::kQueued);

  auto hb = ParseHeartbeat(R"({"expires_at":"x","expires_at_ms":1700000000000,)"
                           R"("cancel_requested":true})");
  ASSERT_TRUE(hb.ok());
  EXPECT_TRUE(hb->cancel_requested);
  EXPECT_EQ(hb->expires_at, FromMicros(1'700'000'000'000'000));

  EXPECT_EQ(ParseFinalState(R"({"state":"cancelled","reason":"x"})"), JobState::kCancelled);
  EXPECT_FALSE(ParseFinalState(R"({"state":"running"})").has_value());
  EXPECT_FALSE(ParseJob("[1,2]").ok());
  EXPECT_EQ(ParseJob("not json").status().code(), ErrorCode::kInternal);
}

TEST(Wire, ClaimsWithNestedOrFlatLeases) {
  http::JsonWriter w;
  Job job = SampleJob();
  Lease lease{job.id, job.attempt, "tok", kNow};
  w.BeginObject().Key("jobs").BeginArray().BeginObject();
  w.Key("job");
  http::WriteJob(w, job);
  w.Key("lease");
  http::WriteLease(w, lease);
  w.EndObject().EndArray().EndObject();
  auto claims = ParseClaims(w.str());
  ASSERT_TRUE(claims.ok()) << claims.status().ToString();
  ASSERT_EQ(claims->size(), 1u);
  EXPECT_EQ((*claims)[0].job.id, 42);
  EXPECT_EQ((*claims)[0].lease.token, "tok");
  EXPECT_EQ((*claims)[0].lease.attempt, 2);
  EXPECT_EQ((*claims)[0].lease.expires_at, kNow);
}

TEST(Wire, UserJsonReachesTheCallerByteForByte) {
  // Boost.JSON would read these back as 1E-1 and a double.
  Job job = SampleJob();
  job.spec.payload = R"({"w": 0.1, "id": 123456789012345678901234567890})";
  job.result = R"([0.10, 1e2])";
  auto out = ParseJob(http::EncodeJob(job));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->spec.payload, job.spec.payload);
  EXPECT_EQ(out->result, job.result);
  auto page = ParseJobPage(R"({"jobs":[)" + http::EncodeJob(job) + "," + http::EncodeJob(job) +
                           R"(],"next_cursor":1})");
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_EQ(page->jobs[1].spec.payload, job.spec.payload);
  Event e{1, 2, EventType::kProgress, kNow, 1, R"({"percent":12.50})"};
  auto tape = ParseTapePage(R"({"events":[)" + http::EncodeEvent(e) + R"(],"last_seq":2})");
  ASSERT_TRUE(tape.ok());
  EXPECT_EQ(tape->events[0].data, e.data);
}

TEST(Wire, BatchCompletion) {
  Lease a{5, 1, "ta", kNow};
  Lease b{6, 2, "tb", kNow};
  auto body = EncodeCompleteMany({a, b}, {"0.5", ""});
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(*body, R"({"items":[{"job_id":5,"attempt":1,"lease_token":"ta","result":0.5},)"
                   R"({"job_id":6,"attempt":2,"lease_token":"tb"}]})");
  EXPECT_FALSE(EncodeCompleteMany({a}, {"{"}).ok());
  auto results = ParseCompleteMany(
      R"({"results":[{"job_id":5,"state":"succeeded","retry_at":null,"retry_at_ms":null,)"
      R"("last_seq":4},{"job_id":6,"error":{"code":"stale_lease","message":"gone"}}]})");
  ASSERT_TRUE(results.ok()) << results.status().ToString();
  ASSERT_EQ(results->size(), 2u);
  ASSERT_TRUE((*results)[0].ok());
  EXPECT_EQ((*results)[0]->state, JobState::kSucceeded);
  EXPECT_EQ((*results)[0]->last_seq, 4);
  ASSERT_FALSE((*results)[1].ok());
  EXPECT_EQ((*results)[1].status().code(), ErrorCode::kStaleLease);
  EXPECT_EQ(EncodeCancel(""), "");
  EXPECT_EQ(EncodeCancel("no \"need\""), R"({"reason":"no \"need\""})");
}

TEST(Wire, ScheduleBodyAndReply) {
  ScheduleSpec spec;
  spec.name = "nightly";
  spec.cron = "30 2 * * *";
  spec.timezone = "Europe/Berlin";
  spec.misfire = "run_once";
  spec.job.kind = "report";
  spec.job.queue = "reports";
  spec.job.payload = R"({"a":0.1})";
  spec.job.tags = {"t"};
  auto body = EncodeSchedulePut(spec);
  ASSERT_TRUE(body.ok()) << body.status().ToString();
  EXPECT_EQ(*body, R"({"cron":"30 2 * * *","timezone":"Europe/Berlin","misfire":"run_once",)"
                   R"("paused":false,"job":{"kind":"report","queue":"reports",)"
                   R"("payload":{"a":0.1},"tags":["t"]}})");
  // The job member is what POST /v1/jobs takes, decoded by the server's decoder.
  auto job_text = json_text::RawMemberValue(*body, "job");
  ASSERT_TRUE(job_text.has_value());
  auto decoded = http::DecodeJobSpec(boost::json::parse(*job_text), *job_text, kNow);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->payload, R"({"a":0.1})");

  spec.job.payload = "{nope";
  EXPECT_EQ(EncodeSchedulePut(spec).status().field(), "job.payload");

  const std::string reply =
      R"({"name":"nightly","cron":"30 2 * * *","timezone":"Europe/Berlin","misfire":"run_once",)"
      R"("paused":true,"job":{"kind":"report","queue":"reports","payload":{"a":0.1},"priority":2,)"
      R"("max_attempts":4,"backoff":{"initial_ms":1000,"max_ms":60000,"multiplier":2,"jitter":0},)"
      R"("timeout_ms":60000,"concurrency_key":null,"concurrency_limit":1,)"
      R"("tags":["t"]},"next_fire_at":"2023-11-15T01:30:00.000Z","next_fire_at_ms":1700011800000,)"
      R"("last_fire_at":null,"last_fire_at_ms":null,"last_job_id":null,)"
      R"("created_at":"x","created_at_ms":1700000000123,"updated_at":"x","updated_at_ms":1700000000123})";
  auto parsed = ParseSchedule(reply);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->name, "nightly");
  EXPECT_TRUE(parsed->paused);
  EXPECT_EQ(parsed->job.payload, R"({"a":0.1})");
  EXPECT_EQ(parsed->job.max_attempts, 4);
  EXPECT_EQ(parsed->next_fire_at, FromMicros(1'700'011'800'000'000));
  EXPECT_FALSE(parsed->last_job_id.has_value());
  EXPECT_EQ(parsed->created_at, kNow);

  // SpecOf puts back what GET showed: the same definition, byte for byte.
  ScheduleSpec again = SpecOf(*parsed);
  auto again_body = EncodeSchedulePut(again);
  ASSERT_TRUE(again_body.ok());
  EXPECT_NE(again_body->find(R"("paused":true)"), std::string::npos) << *again_body;
  EXPECT_NE(again_body->find(R"("payload":{"a":0.1},"priority":2,"max_attempts":4)"),
            std::string::npos)
      << *again_body;
  EXPECT_NE(again_body->find(R"("timeout_ms":60000)"), std::string::npos) << *again_body;

  auto page = ParseSchedulePage(R"({"schedules":[)" + reply + R"(],"next_cursor":"nightly"})");
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->schedules.size(), 1u);
  EXPECT_EQ(page->schedules[0].job.payload, R"({"a":0.1})");
  EXPECT_EQ(page->next_cursor, "nightly");
}

}  // namespace
}  // namespace jobtape::client
