#include "http/rfc3339.hpp"

#include <gtest/gtest.h>

namespace jobtape::http {
namespace {

int64_t Micros(std::string_view text) {
  auto t = ParseRfc3339(text);
  EXPECT_TRUE(t.has_value()) << text;
  return t ? ToMicros(*t) : -1;
}

TEST(Rfc3339Test, ParsesUtcAndOffsets) {
  EXPECT_EQ(Micros("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(Micros("2023-11-14T22:13:20Z"), 1'700'000'000'000'000);
  EXPECT_EQ(Micros("2023-11-14t22:13:20z"), 1'700'000'000'000'000);
  EXPECT_EQ(Micros("2023-11-14 22:13:20Z"), 1'700'000'000'000'000);
  EXPECT_EQ(Micros("2023-11-14T23:13:20+01:00"), 1'700'000'000'000'000);
  EXPECT_EQ(Micros("2023-11-14T17:43:20-04:30"), 1'700'000'000'000'000);
  EXPECT_EQ(Micros("2023-11-14T22:13:20+00:00"), 1'700'000'000'000'000);
}

TEST(Rfc3339Test, FractionsToMicroseconds) {
  EXPECT_EQ(Micros("2023-11-14T22:13:20.5Z"), 1'700'000'000'500'000);
  EXPECT_EQ(Micros("2023-11-14T22:13:20.123Z"), 1'700'000'000'123'000);
  EXPECT_EQ(Micros("2023-11-14T22:13:20.123456789Z"), 1'700'000'000'123'456);
}

TEST(Rfc3339Test, LeapYears) {
  EXPECT_TRUE(ParseRfc3339("2024-02-29T00:00:00Z").has_value());
  EXPECT_TRUE(ParseRfc3339("2000-02-29T00:00:00Z").has_value());
  EXPECT_FALSE(ParseRfc3339("2023-02-29T00:00:00Z").has_value());
  EXPECT_FALSE(ParseRfc3339("2100-02-29T00:00:00Z").has_value());
}

TEST(Rfc3339Test, RejectsMalformed) {
  for (const char* text :
       {"", "2023-11-14", "2023-11-14T22:13:20", "2023-11-14T22:13Z", "2023-13-01T00:00:00Z",
        "2023-04-31T00:00:00Z", "2023-11-14T24:00:00Z", "2023-11-14T22:60:00Z",
        "2023-11-14T22:13:60Z", "2023-11-14T22:13:20.Z", "2023-11-14T22:13:20+0100",
        "2023-11-14T22:13:20+01", "2023-11-14T22:13:20Z ", " 2023-11-14T22:13:20Z",
        "1969-12-31T23:59:59Z", "20231114T221320Z", "2023-11-14T22:13:20.1x2Z",
        "+2023-11-14T22:13:20Z"}) {
    EXPECT_FALSE(ParseRfc3339(text).has_value()) << text;
  }
}

TEST(Rfc3339Test, RoundTripsFormatTime) {
  TimePoint t = FromMicros(1'234'567'890'123'000);
  EXPECT_EQ(ParseRfc3339(FormatTime(t)), t);
}

}  // namespace
}  // namespace jobtape::http
