#include "exec/output_limiter.hpp"

#include <gtest/gtest.h>

#include <string>

namespace jobtape::exec {
namespace {

OutputLimits Small() {
  OutputLimits l;
  l.lines_per_second = 10;
  l.burst_lines = 3;
  l.max_total_bytes = 1000;
  l.max_line_bytes = 8;
  return l;
}

TEST(OutputLimiter, KeepsLinesWithinEveryCap) {
  ManualClock clock;
  OutputLimiter lim(clock, Small());
  auto a = lim.Admit("hello");
  EXPECT_TRUE(a.keep);
  EXPECT_EQ(a.text, "hello");
  EXPECT_FALSE(a.truncated);
  EXPECT_TRUE(a.notices.empty());
  EXPECT_EQ(lim.total_bytes(), 5u);
  EXPECT_TRUE(lim.Finish().empty());
}

TEST(OutputLimiter, RateCapDropsThenReportsOneNoticeWithCounts) {
  ManualClock clock;
  OutputLimiter lim(clock, Small());
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(lim.Admit("burst").keep);
  for (int i = 0; i < 5; ++i) {
    auto a = lim.Admit("dropped");  // 7 bytes each
    EXPECT_FALSE(a.keep);
    EXPECT_TRUE(a.notices.empty());  // no notice per dropped line
  }
  clock.Advance(std::chrono::milliseconds(100));  // one token at 10 lines/s
  auto a = lim.Admit("back");
  EXPECT_TRUE(a.keep);
  ASSERT_EQ(a.notices.size(), 1u);
  EXPECT_EQ(a.notices[0].cap, OutputCap::kLineRate);
  EXPECT_EQ(a.notices[0].lines, 5u);
  EXPECT_EQ(a.notices[0].bytes, 35u);
  EXPECT_FALSE(lim.Admit("again").keep);  // the bucket is empty again
  clock.Advance(std::chrono::milliseconds(99));
  EXPECT_FALSE(lim.Admit("again").keep);  // 0.99 tokens is not a token
  auto end = lim.Finish();
  ASSERT_EQ(end.size(), 1u);  // the second hit, still open at the end
  EXPECT_EQ(end[0].lines, 2u);
}

TEST(OutputLimiter, BucketRefillIsCappedAtBurst) {
  ManualClock clock;
  OutputLimiter lim(clock, Small());
  clock.Advance(std::chrono::hours(1));
  int kept = 0;
  for (int i = 0; i < 10; ++i)
    kept += lim.Admit("x").keep ? 1 : 0;
  EXPECT_EQ(kept, 3);
}

TEST(OutputLimiter, LongLinesAreCutAndEachRunReportedOnce) {
  ManualClock clock;
  OutputLimits l = Small();
  l.burst_lines = 100;
  OutputLimiter lim(clock, l);
  auto a = lim.Admit("0123456789ab");  // 12 bytes, cap 8
  EXPECT_TRUE(a.keep);
  EXPECT_TRUE(a.truncated);
  EXPECT_EQ(a.text, "01234567");
  EXPECT_TRUE(a.notices.empty());
  EXPECT_TRUE(lim.Admit("abcdefghij").truncated);  // same run
  auto b = lim.Admit("short");
  ASSERT_EQ(b.notices.size(), 1u);
  EXPECT_EQ(b.notices[0].cap, OutputCap::kLineLength);
  EXPECT_EQ(b.notices[0].lines, 2u);
  EXPECT_EQ(b.notices[0].bytes, 6u);
  EXPECT_TRUE(lim.Finish().empty());
}

TEST(OutputLimiter, CutNeverSplitsAUtf8Character) {
  ManualClock clock;
  OutputLimiter lim(clock, Small());
  // "abcdef" + U+00E9 (2 bytes) crosses the 8-byte cap at byte 7.
  auto a = lim.Admit("abcdefg\xC3\xA9xyz");
  EXPECT_EQ(a.text, "abcdefg");
}

TEST(OutputLimiter, UpstreamCutCountsAsTruncated) {
  ManualClock clock;
  OutputLimiter lim(clock, Small());
  auto a = lim.Admit("abc", /*cut_upstream=*/true);
  EXPECT_TRUE(a.keep);
  EXPECT_TRUE(a.truncated);
  auto end = lim.Finish();
  ASSERT_EQ(end.size(), 1u);
  EXPECT_EQ(end[0].cap, OutputCap::kLineLength);
}

TEST(OutputLimiter, TotalByteCapDropsTheRestAndReportsAtFinish) {
  ManualClock clock;
  OutputLimits l = Small();
  l.burst_lines = 100;
  l.max_total_bytes = 10;
  OutputLimiter lim(clock, l);
  EXPECT_TRUE(lim.Admit("12345678").keep);
  EXPECT_FALSE(lim.Admit("abc").keep);  // would make 11 bytes: dropped whole
  EXPECT_FALSE(lim.Admit("a").keep);    // the budget never comes back
  clock.Advance(std::chrono::hours(1));
  auto late = lim.Admit("z");
  EXPECT_FALSE(late.keep);
  EXPECT_TRUE(late.notices.empty());
  EXPECT_EQ(lim.total_bytes(), 8u);
  auto end = lim.Finish();
  ASSERT_EQ(end.size(), 1u);
  EXPECT_EQ(end[0].cap, OutputCap::kTotalBytes);
  EXPECT_EQ(end[0].lines, 3u);
  EXPECT_EQ(end[0].bytes, 5u);
  EXPECT_EQ(OutputCapName(end[0].cap), "total_bytes");
}

}  // namespace
}  // namespace jobtape::exec
