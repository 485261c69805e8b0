#include "core/limits.hpp"

#include <gtest/gtest.h>

namespace jobtape {
namespace {

JobSpec Valid() {
  JobSpec s;
  s.kind = "email.send";
  return s;
}

const TimePoint kNow = FromMicros(1'700'000'000'000'000);

TEST(Limits, NameAlphabet) {
  EXPECT_TRUE(IsValidName("a"));
  EXPECT_TRUE(IsValidName("Queue_1.high:x-y"));
  EXPECT_FALSE(IsValidName(""));
  EXPECT_FALSE(IsValidName("has space"));
  EXPECT_FALSE(IsValidName("semi;colon"));
  EXPECT_FALSE(IsValidName(std::string(129, 'a')));
  EXPECT_TRUE(IsValidName(std::string(128, 'a')));
}

TEST(Limits, ValidSpecPasses) {
  EXPECT_TRUE(ValidateJobSpec(Valid(), Limits{}, kNow).ok());
}

TEST(Limits, RangesAreChecked) {
  struct Case {
    void (*mutate)(JobSpec&);
    const char* field;
  } cases[] = {
      {[](JobSpec& s) { s.kind = ""; }, "kind"},
      {[](JobSpec& s) { s.queue = "a/b"; }, "queue"},
      {[](JobSpec& s) { s.priority = 101; }, "priority"},
      {[](JobSpec& s) { s.priority = -101; }, "priority"},
      {[](JobSpec& s) { s.max_attempts = 0; }, "max_attempts"},
      {[](JobSpec& s) { s.max_attempts = 101; }, "max_attempts"},
      {[](JobSpec& s) { s.concurrency_limit = 0; }, "concurrency_limit"},
      {[](JobSpec& s) { s.backoff.jitter = 2; }, "backoff.jitter"},
      {[](JobSpec& s) { s.timeout = Duration(0); }, "timeout_ms"},
      {[](JobSpec& s) {
         s.tags = {"ok", "not ok"};
       },
       "tags[1]"},
  };
  for (const auto& c : cases) {
    JobSpec s = Valid();
    c.mutate(s);
    Status st = ValidateJobSpec(s, Limits{}, kNow);
    EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument) << c.field;
    EXPECT_EQ(st.field(), c.field);
  }
}

TEST(Limits, PayloadSizeIsCapped) {
  Limits limits;
  limits.max_payload_bytes = 10;
  JobSpec s = Valid();
  s.payload = "\"0123456789\"";
  Status st = ValidateJobSpec(s, limits, kNow);
  EXPECT_EQ(st.code(), ErrorCode::kPayloadTooLarge);
  EXPECT_EQ(st.field(), "payload");
}

TEST(Limits, OnlyProgressAndLogComeFromAttempts) {
  EXPECT_TRUE(ValidateNewEvent({EventType::kProgress, "{}"}, Limits{}).ok());
  EXPECT_TRUE(ValidateNewEvent({EventType::kLog, "{}"}, Limits{}).ok());
  EXPECT_FALSE(ValidateNewEvent({EventType::kFinal, "{}"}, Limits{}).ok());
  EXPECT_FALSE(ValidateNewEvent({EventType::kStarted, "{}"}, Limits{}).ok());
}

TEST(Backoff, GrowsAndCaps) {
  Backoff b;
  b.initial = std::chrono::seconds(1);
  b.max = std::chrono::seconds(10);
  b.multiplier = 2;
  b.jitter = 0;
  EXPECT_EQ(BackoffDelay(b, 1, 0.5), std::chrono::seconds(1));
  EXPECT_EQ(BackoffDelay(b, 2, 0.5), std::chrono::seconds(2));
  EXPECT_EQ(BackoffDelay(b, 4, 0.5), std::chrono::seconds(8));
  EXPECT_EQ(BackoffDelay(b, 9, 0.5), std::chrono::seconds(10));
  b.jitter = 0.5;
  EXPECT_EQ(BackoffDelay(b, 1, 0.0), std::chrono::milliseconds(500));
  EXPECT_EQ(BackoffDelay(b, 1, 1.0), std::chrono::milliseconds(1500));
}

}  // namespace
}  // namespace jobtape
