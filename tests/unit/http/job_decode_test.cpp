#include "http/job_decode.hpp"

#include <gtest/gtest.h>

#include "core/limits.hpp"
#include "http/errors.hpp"
#include "http/json_body.hpp"

namespace jobtape::http {
namespace {

const TimePoint kNow = FromMicros(1'700'000'000'000'000);

Result<Submission> Decode(std::string_view text, std::size_t max_batch = 1000) {
  auto value = ParseJson(text, {});
  EXPECT_TRUE(value.ok()) << value.status().ToString();
  if (!value.ok()) return value.status();
  return DecodeSubmission(*value, text, kNow, max_batch);
}

JobSpec DecodeOne(std::string_view text) {
  auto r = Decode(text);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok() || r->jobs.size() != 1) return {};
  return r->jobs[0];
}

// Decoding fails with invalid_argument about `field`.
void ExpectFieldError(std::string_view text, std::string_view field,
                      ErrorCode code = ErrorCode::kInvalidArgument) {
  auto r = Decode(text);
  ASSERT_FALSE(r.ok()) << text;
  EXPECT_EQ(r.status().code(), code) << text << ": " << r.status().ToString();
  EXPECT_EQ(r.status().field(), field) << text << ": " << r.status().ToString();
}

TEST(DecodeJobSpecTest, MinimalJobGetsDefaults) {
  JobSpec s = DecodeOne(R"({"kind":"email.send"})");
  EXPECT_EQ(s.kind, "email.send");
  EXPECT_EQ(s.queue, "default");
  EXPECT_EQ(s.payload, "null");
  EXPECT_EQ(s.priority, 0);
  EXPECT_FALSE(s.run_at.has_value());
  EXPECT_EQ(s.max_attempts, 3);
  EXPECT_FALSE(s.timeout.has_value());
  EXPECT_TRUE(s.tags.empty());
}

TEST(DecodeJobSpecTest, DecodesEveryField) {
  JobSpec s = DecodeOne(R"({
    "kind": "k", "queue": "q", "payload": {"to": "a@b"}, "priority": 7,
    "run_at": "2023-11-14T22:13:20.5Z", "max_attempts": 5,
    "backoff": {"initial_ms": 250, "max_ms": 60000, "multiplier": 3, "jitter": 0.5},
    "timeout_ms": 30000, "concurrency_key": "acct-1", "concurrency_limit": 2,
    "idempotency_key": "idem", "batch_id": "b1", "tags": ["x", "y"]})");
  EXPECT_EQ(s.queue, "q");
  EXPECT_EQ(s.payload, R"({"to": "a@b"})");
  EXPECT_EQ(s.priority, 7);
  ASSERT_TRUE(s.run_at.has_value());
  EXPECT_EQ(ToMicros(*s.run_at), 1'700'000'000'500'000);
  EXPECT_EQ(s.max_attempts, 5);
  EXPECT_EQ(s.backoff.initial, std::chrono::milliseconds(250));
  EXPECT_EQ(s.backoff.max, std::chrono::minutes(1));
  EXPECT_EQ(s.backoff.multiplier, 3.0);
  EXPECT_EQ(s.backoff.jitter, 0.5);
  EXPECT_EQ(s.timeout, std::chrono::seconds(30));
  EXPECT_EQ(s.concurrency_key, "acct-1");
  EXPECT_EQ(s.concurrency_limit, 2);
  EXPECT_EQ(s.idempotency_key, "idem");
  EXPECT_EQ(s.batch_id, "b1");
  EXPECT_EQ(s.tags, (std::vector<std::string>{"x", "y"}));
}

TEST(DecodeJobSpecTest, PayloadIsKeptExactlyAsSent) {
  // Through a parsed value this would become 1E-1, lose digits and print Infinity.
  std::string_view payload =
      R"({ "n": 0.1, "big": 123456789012345678901234567890, "e": 1e400, "s": "\u00e9" })";
  std::string text = R"({"kind":"k","payload":)" + std::string(payload) + "}";
  EXPECT_EQ(DecodeOne(text).payload, payload);
  EXPECT_EQ(DecodeOne(R"({"kind":"k","payload":"text"})").payload, "\"text\"");
  EXPECT_EQ(DecodeOne(R"({"kind":"k","payload":null})").payload, "null");
}

TEST(DecodeJobSpecTest, DelayBecomesRunAt) {
  JobSpec s = DecodeOne(R"({"kind":"k","delay_ms":1500})");
  ASSERT_TRUE(s.run_at.has_value());
  EXPECT_EQ(*s.run_at, kNow + std::chrono::milliseconds(1500));
}

TEST(DecodeJobSpecTest, NullMeansDefault) {
  JobSpec s = DecodeOne(R"({"kind":"k","queue":null,"priority":null,"tags":null})");
  EXPECT_EQ(s.queue, "default");
  EXPECT_EQ(s.priority, 0);
}

TEST(DecodeJobSpecTest, IntegersMayBeWrittenWithZeroFraction) {
  EXPECT_EQ(DecodeOne(R"({"kind":"k","priority":5.0})").priority, 5);
}

TEST(DecodeJobSpecErrorsTest, NotAnObject) {
  ExpectFieldError("[]", "");
  ExpectFieldError("\"job\"", "");
}

TEST(DecodeJobSpecErrorsTest, MissingKind) {
  ExpectFieldError("{}", "kind");
  ExpectFieldError(R"({"kind":null})", "kind");
}

TEST(DecodeJobSpecErrorsTest, WrongTypes) {
  ExpectFieldError(R"({"kind":1})", "kind");
  ExpectFieldError(R"({"kind":"k","queue":["q"]})", "queue");
  ExpectFieldError(R"({"kind":"k","priority":"high"})", "priority");
  ExpectFieldError(R"({"kind":"k","priority":1.5})", "priority");
  ExpectFieldError(R"({"kind":"k","priority":true})", "priority");
  ExpectFieldError(R"({"kind":"k","max_attempts":{}})", "max_attempts");
  ExpectFieldError(R"({"kind":"k","concurrency_limit":"2"})", "concurrency_limit");
  ExpectFieldError(R"({"kind":"k","idempotency_key":7})", "idempotency_key");
  ExpectFieldError(R"({"kind":"k","batch_id":false})", "batch_id");
  ExpectFieldError(R"({"kind":"k","concurrency_key":[]})", "concurrency_key");
}

TEST(DecodeJobSpecErrorsTest, IntegerOverflow) {
  ExpectFieldError(R"({"kind":"k","priority":2147483648})", "priority");
  ExpectFieldError(R"({"kind":"k","max_attempts":-99999999999})", "max_attempts");
}

TEST(DecodeJobSpecErrorsTest, BadDurations) {
  ExpectFieldError(R"({"kind":"k","timeout_ms":-1})", "timeout_ms");
  ExpectFieldError(R"({"kind":"k","timeout_ms":1000000000001})", "timeout_ms");
  ExpectFieldError(R"({"kind":"k","timeout_ms":"10s"})", "timeout_ms");
  ExpectFieldError(R"({"kind":"k","delay_ms":0.5})", "delay_ms");
}

TEST(DecodeJobSpecErrorsTest, BadSchedule) {
  ExpectFieldError(R"({"kind":"k","run_at":"tomorrow"})", "run_at");
  ExpectFieldError(R"({"kind":"k","run_at":1700000000})", "run_at");
  ExpectFieldError(R"({"kind":"k","run_at":"2023-11-14T22:13:20Z","delay_ms":5})", "delay_ms");
}

TEST(DecodeJobSpecErrorsTest, BadBackoff) {
  ExpectFieldError(R"({"kind":"k","backoff":5})", "backoff");
  ExpectFieldError(R"({"kind":"k","backoff":{"jitter":"lots"}})", "backoff.jitter");
  ExpectFieldError(R"({"kind":"k","backoff":{"initial_ms":-5}})", "backoff.initial_ms");
  ExpectFieldError(R"({"kind":"k","backoff":{"factor":2}})", "backoff.factor");
}

TEST(DecodeJobSpecErrorsTest, BadTags) {
  ExpectFieldError(R"({"kind":"k","tags":"a,b"})", "tags");
  ExpectFieldError(R"({"kind":"k","tags":["a",2]})", "tags[1]");
}

TEST(DecodeJobSpecErrorsTest, UnknownFieldsAreRefused) {
  ExpectFieldError(R"({"kind":"k","priorty":5})", "priorty");
  // Set by the server on a manual retry, never by a client.
  ExpectFieldError(R"({"kind":"k","retry_of":5})", "retry_of");
}

TEST(DecodeJobSpecErrorsTest, DecodeErrorsAre400ValidationErrorsAre422) {
  auto bad_type = Decode(R"({"kind":"k","priority":"x"})");
  EXPECT_EQ(HttpStatusFor(bad_type.status().code(), Phase::kDecode), 400);
  // Well-formed but out of range: decodes, then core's validation refuses it.
  JobSpec spec = DecodeOne(R"({"kind":"k","priority":500})");
  Status s = ValidateJobSpec(spec, Limits(), kNow);
  EXPECT_EQ(s.field(), "priority");
  EXPECT_EQ(HttpStatusFor(s.code(), Phase::kApply), 422);
}

TEST(DecodeSubmissionTest, BatchKeepsOrderAndPayloads) {
  auto r = Decode(R"({"jobs":[{"kind":"a","payload":[1, 2]},{"kind":"b","payload":{"x":0.50}}]})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->batch);
  ASSERT_EQ(r->jobs.size(), 2u);
  EXPECT_EQ(r->jobs[0].kind, "a");
  EXPECT_EQ(r->jobs[0].payload, "[1, 2]");
  EXPECT_EQ(r->jobs[1].payload, R"({"x":0.50})");
  EXPECT_FALSE(Decode(R"({"kind":"a"})")->batch);
}

TEST(DecodeSubmissionTest, BatchErrorsNameTheJob) {
  ExpectFieldError(R"({"jobs":[{"kind":"a"},{"kind":"b","priority":"x"}]})", "jobs[1].priority");
  ExpectFieldError(R"({"jobs":[{"kind":"a"},{}]})", "jobs[1].kind");
  ExpectFieldError(R"({"jobs":[{"kind":"a"},7]})", "jobs[1]");
  ExpectFieldError(R"({"jobs":[]})", "jobs");
  ExpectFieldError(R"({"jobs":{"kind":"a"}})", "jobs");
  ExpectFieldError(R"({"jobs":[{"kind":"a"}],"kind":"b"})", "kind");
}

TEST(DecodeSubmissionTest, BatchSizeIsLimited) {
  auto r = Decode(R"({"jobs":[{"kind":"a"},{"kind":"b"},{"kind":"c"}]})", 2);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kLimitExceeded);
  EXPECT_EQ(r.status().field(), "jobs");
  EXPECT_EQ(HttpStatusFor(r.status().code(), Phase::kDecode), 413);
}

}  // namespace
}  // namespace jobtape::http
