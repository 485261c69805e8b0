#include "http/job_encode.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

namespace jobtape::http {
namespace {
namespace json = boost::json;

const TimePoint kT = FromMicros(1'700'000'000'123'456);  // 2023-11-14T22:13:20.123Z

Job SampleJob() {
  Job job;
  job.id = 42;
  job.spec.kind = "email.send";
  job.spec.queue = "mail";
  job.spec.payload = R"({"n": 0.1, "big": 123456789012345678901234567890})";
  job.spec.priority = -3;
  job.spec.max_attempts = 4;
  job.spec.timeout = std::chrono::seconds(9);
  job.spec.concurrency_key = "acct";
  job.spec.tags = {"a", "b"};
  job.state = JobState::kRunning;
  job.attempt = 2;
  job.created_at = kT;
  job.updated_at = kT + std::chrono::seconds(1);
  job.run_at = kT;
  job.started_at = kT + std::chrono::seconds(2);
  job.lease_expires_at = kT + std::chrono::seconds(32);
  job.worker_id = "w1";
  job.last_seq = 3;
  job.error = R"({"code":"exit_status","message":"1"})";
  return job;
}

TEST(EncodeJobTest, PayloadErrorAndResultAreRawJson) {
  std::string text = EncodeJob(SampleJob());
  EXPECT_NE(text.find(R"("payload":{"n": 0.1, "big": 123456789012345678901234567890})"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"("error":{"code":"exit_status","message":"1"})"), std::string::npos);
  EXPECT_NE(text.find(R"("result":null)"), std::string::npos);
}

TEST(EncodeJobTest, FieldsAndTimes) {
  json::object o = json::parse(EncodeJob(SampleJob())).as_object();
  EXPECT_EQ(o.at("id").as_int64(), 42);
  EXPECT_EQ(o.at("kind").as_string(), "email.send");
  EXPECT_EQ(o.at("queue").as_string(), "mail");
  EXPECT_EQ(o.at("state").as_string(), "running");
  EXPECT_EQ(o.at("priority").as_int64(), -3);
  EXPECT_EQ(o.at("attempt").as_int64(), 2);
  EXPECT_EQ(o.at("max_attempts").as_int64(), 4);
  EXPECT_EQ(o.at("timeout_ms").as_int64(), 9000);
  EXPECT_EQ(o.at("backoff").at("initial_ms").as_int64(), 1000);
  EXPECT_EQ(o.at("backoff").at("multiplier").to_number<double>(), 2.0);
  EXPECT_EQ(o.at("concurrency_key").as_string(), "acct");
  EXPECT_TRUE(o.at("idempotency_key").is_null());
  EXPECT_TRUE(o.at("retry_of").is_null());
  EXPECT_EQ(o.at("tags").as_array().size(), 2u);
  EXPECT_EQ(o.at("created_at").as_string(), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(o.at("created_at_ms").as_int64(), 1'700'000'000'123);
  EXPECT_EQ(o.at("started_at_ms").as_int64(), 1'700'000'002'123);
  EXPECT_TRUE(o.at("finished_at").is_null());
  EXPECT_TRUE(o.at("finished_at_ms").is_null());
  EXPECT_EQ(o.at("lease_expires_at").as_string(), "2023-11-14T22:13:52.123Z");
  EXPECT_EQ(o.at("worker_id").as_string(), "w1");
  EXPECT_TRUE(o.at("node_id").is_null());
  EXPECT_FALSE(o.at("cancel_requested").as_bool());
  EXPECT_EQ(o.at("last_seq").as_int64(), 3);
}

TEST(EncodeEventTest, DataIsRawJson) {
  Event e;
  e.job_id = 42;
  e.seq = 5;
  e.type = EventType::kProgress;
  e.at = kT;
  e.attempt = 1;
  e.data = R"({"percent":42.5,"message":"half"})";
  EXPECT_EQ(EncodeEvent(e),
            R"({"job_id":42,"seq":5,"type":"progress","at":"2023-11-14T22:13:20.123Z",)"
            R"("at_ms":1700000000123,"attempt":1,"data":{"percent":42.5,"message":"half"}})");
}

TEST(EncodeLeaseTest, CarriesTokenAndExpiry) {
  Lease lease{42, 3, "00ff", kT};
  JsonWriter w;
  WriteLease(w, lease);
  EXPECT_EQ(
      w.str(),
      R"({"job_id":42,"attempt":3,"lease_token":"00ff","expires_at":"2023-11-14T22:13:20.123Z",)"
      R"("expires_at_ms":1700000000123})");
}

TEST(EncodeQueueInfoTest, CountsPerState) {
  store::QueueInfo q;
  q.name = "default";
  q.paused = true;
  q.counts[static_cast<int>(JobState::kQueued)] = 7;
  JsonWriter w;
  WriteQueueInfo(w, q);
  json::object o = json::parse(w.str()).as_object();
  EXPECT_EQ(o.at("name").as_string(), "default");
  EXPECT_TRUE(o.at("paused").as_bool());
  EXPECT_TRUE(o.at("max_concurrent").is_null());
  EXPECT_EQ(o.at("counts").at("queued").as_int64(), 7);
  EXPECT_EQ(o.at("counts").as_object().size(), static_cast<std::size_t>(kJobStateCount));
  EXPECT_EQ(o.at("reaper").as_object().size(), 5u);  // zeros when the reaper never acted
  EXPECT_EQ(o.at("reaper").at("deferred").as_int64(), 0);
  q.max_concurrent = 4;
  JsonWriter w2;
  WriteQueueInfo(w2, q, {.lease_expired = 3, .runtime_backstop = 2, .deferred = 9});
  json::value v = json::parse(w2.str());
  EXPECT_EQ(v.at("max_concurrent").as_int64(), 4);
  EXPECT_EQ(v.at("reaper"), json::parse(R"({"lease_expired":3,"runtime_backstop":2,)"
                                        R"("cancel_grace":0,"deferred":9,"raced":0})"));
}

TEST(EncodeEnqueuedJobTest, Shape) {
  JsonWriter w;
  WriteEnqueuedJob(w, {7, JobState::kScheduled, true});
  EXPECT_EQ(w.str(), R"({"id":7,"state":"scheduled","duplicate":true})");
}

}  // namespace
}  // namespace jobtape::http
