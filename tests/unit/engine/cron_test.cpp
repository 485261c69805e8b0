// Cron parsing and next-fire time arithmetic (engine/cron.hpp), including the
// DST rules in two zones with different transitions (America/New_York,
// Europe/Berlin) and Australia/Lord_Howe's 30-minute shift.
#include "engine/cron.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace jobtape::engine {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

// A UTC instant from calendar fields.
TimePoint Utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0) {
  const std::chrono::sys_days day{std::chrono::year{y} / std::chrono::month{mo} /
                                  std::chrono::day{d}};
  return TimePoint{day.time_since_epoch() + hours{h} + minutes{mi}};
}

CronExpr Parse(std::string_view text) {
  auto e = ParseCron(text);
  EXPECT_TRUE(e.ok()) << text << ": " << e.status().ToString();
  return e.ok() ? *e : CronExpr{};
}

// The next fire time, or a far-past sentinel that makes the comparison fail.
TimePoint Next(std::string_view expr, const std::string& tz, TimePoint after) {
  auto next = NextFire(Parse(expr), tz, after);
  EXPECT_TRUE(next.ok()) << next.status().ToString();
  if (!next.ok() || !next->has_value()) {
    ADD_FAILURE() << expr << " in " << tz << " after " << FormatTime(after) << ": no fire";
    return TimePoint{};
  }
  return **next;
}

// Every fire in (from, to], in order.
std::vector<TimePoint> Fires(std::string_view expr, const std::string& tz, TimePoint from,
                             TimePoint to) {
  const CronExpr e = Parse(expr);
  std::vector<TimePoint> out;
  TimePoint t = from;
  while (true) {
    auto next = NextFire(e, tz, t);
    if (!next.ok() || !next->has_value()) {
      ADD_FAILURE() << expr << ": " << next.status().ToString();
      break;
    }
    if (**next <= t) {
      ADD_FAILURE() << expr << ": fire " << FormatTime(**next) << " not after " << FormatTime(t);
      break;
    }
    if (**next > to) break;
    out.push_back(**next);
    t = **next;
  }
  return out;
}

std::vector<std::string> Fmt(const std::vector<TimePoint>& ts) {
  std::vector<std::string> out;
  for (TimePoint t : ts)
    out.push_back(FormatTime(t));
  return out;
}

template <std::size_t N>
std::bitset<N> Bits(std::initializer_list<int> values) {
  std::bitset<N> b;
  for (int v : values)
    b.set(static_cast<std::size_t>(v));
  return b;
}

void ExpectParseError(std::string_view text, const std::vector<std::string>& fragments) {
  auto e = ParseCron(text);
  ASSERT_FALSE(e.ok()) << "parsed: \"" << text << "\"";
  EXPECT_EQ(e.status().code(), ErrorCode::kInvalidArgument) << text;
  for (const auto& f : fragments) {
    EXPECT_NE(e.status().message().find(f), std::string::npos)
        << "\"" << text << "\" -> \"" << e.status().message() << "\" lacks \"" << f << "\"";
  }
}

// ---------------------------------------------------------------- parsing

TEST(CronParse, StarMatchesEveryValueAndSetsStarFlags) {
  const CronExpr e = Parse("* * * * *");
  EXPECT_TRUE(e.minutes().all());
  EXPECT_TRUE(e.hours().all());
  EXPECT_EQ(e.days_of_month().count(), 31u);
  EXPECT_FALSE(e.days_of_month()[0]);
  EXPECT_EQ(e.months().count(), 12u);
  EXPECT_FALSE(e.months()[0]);
  EXPECT_TRUE(e.days_of_week().all());
  EXPECT_TRUE(e.minute_star() && e.hour_star() && e.day_of_month_star() && e.day_of_week_star());
  EXPECT_FALSE(e.IsFixedTime());
}

TEST(CronParse, SingleNumbers) {
  const CronExpr e = Parse("5 4 3 2 1");
  EXPECT_EQ(e.minutes(), Bits<60>({5}));
  EXPECT_EQ(e.hours(), Bits<24>({4}));
  EXPECT_EQ(e.days_of_month(), Bits<32>({3}));
  EXPECT_EQ(e.months(), Bits<13>({2}));
  EXPECT_EQ(e.days_of_week(), Bits<7>({1}));
  EXPECT_FALSE(e.minute_star() || e.hour_star() || e.day_of_month_star() || e.day_of_week_star());
  EXPECT_TRUE(e.IsFixedTime());
}

TEST(CronParse, FieldBounds) {
  const CronExpr e = Parse("0,59 0,23 1,31 1,12 0,6");
  EXPECT_EQ(e.minutes(), Bits<60>({0, 59}));
  EXPECT_EQ(e.hours(), Bits<24>({0, 23}));
  EXPECT_EQ(e.days_of_month(), Bits<32>({1, 31}));
  EXPECT_EQ(e.months(), Bits<13>({1, 12}));
  EXPECT_EQ(e.days_of_week(), Bits<7>({0, 6}));
}

TEST(CronParse, RangesListsAndSteps) {
  EXPECT_EQ(Parse("1-5 * * * *").minutes(), Bits<60>({1, 2, 3, 4, 5}));
  EXPECT_EQ(Parse("1,3,5 * * * *").minutes(), Bits<60>({1, 3, 5}));
  EXPECT_EQ(Parse("*/15 * * * *").minutes(), Bits<60>({0, 15, 30, 45}));
  EXPECT_EQ(Parse("10-30/10 * * * *").minutes(), Bits<60>({10, 20, 30}));
  EXPECT_EQ(Parse("0 */6 * * *").hours(), Bits<24>({0, 6, 12, 18}));
  EXPECT_EQ(Parse("0 0 */10 * *").days_of_month(), Bits<32>({1, 11, 21, 31}));
  EXPECT_EQ(Parse("0 0 1 */4 *").months(), Bits<13>({1, 5, 9}));
  EXPECT_EQ(Parse("1-3,7,50-59/5 * * * *").minutes(), Bits<60>({1, 2, 3, 7, 50, 55}));
  EXPECT_EQ(Parse("*/60 * * * *").minutes(), Bits<60>({0}));
  EXPECT_EQ(Parse("5-5 * * * *").minutes(), Bits<60>({5}));
}

TEST(CronParse, NamesAreCaseInsensitive) {
  EXPECT_EQ(Parse("0 0 1 JAN-mar *").months(), Bits<13>({1, 2, 3}));
  EXPECT_EQ(Parse("0 0 1 jan,Jul,DEC *").months(), Bits<13>({1, 7, 12}));
  EXPECT_EQ(Parse("0 0 1 feb-dec/2 *").months(), Bits<13>({2, 4, 6, 8, 10, 12}));
  EXPECT_EQ(Parse("0 0 * * Mon-FRI").days_of_week(), Bits<7>({1, 2, 3, 4, 5}));
  EXPECT_EQ(Parse("0 0 * * sun,sat").days_of_week(), Bits<7>({0, 6}));
  EXPECT_EQ(Parse("0 0 * * mon-5").days_of_week(), Bits<7>({1, 2, 3, 4, 5}));
}

TEST(CronParse, SevenIsSunday) {
  EXPECT_EQ(Parse("0 0 * * 7"), Parse("0 0 * * 0"));
  EXPECT_EQ(Parse("0 0 * * 7").days_of_week(), Bits<7>({0}));
  EXPECT_EQ(Parse("0 0 * * 5-7").days_of_week(), Bits<7>({0, 5, 6}));
  EXPECT_EQ(Parse("0 0 * * 0-7").days_of_week(), Bits<7>({0, 1, 2, 3, 4, 5, 6}));
  // `*` spans 0-7, so a step of 7 hits 0 and 7: Sunday only.
  EXPECT_EQ(Parse("0 0 * * */7").days_of_week(), Bits<7>({0}));
}

TEST(CronParse, StarFlagFollowsTheFirstCharacterLikeVixie) {
  const CronExpr stepped = Parse("*/5 */2 */2 * */2");
  EXPECT_TRUE(stepped.minute_star());
  EXPECT_TRUE(stepped.hour_star());
  EXPECT_TRUE(stepped.day_of_month_star());
  EXPECT_TRUE(stepped.day_of_week_star());
  const CronExpr full_ranges = Parse("0-59 0-23 1-31 1-12 0-6");
  EXPECT_FALSE(full_ranges.minute_star());
  EXPECT_FALSE(full_ranges.hour_star());
  EXPECT_FALSE(full_ranges.day_of_month_star());
  EXPECT_FALSE(full_ranges.day_of_week_star());
  EXPECT_TRUE(full_ranges.IsFixedTime());
  EXPECT_FALSE(Parse("30 * * * *").IsFixedTime());
  EXPECT_FALSE(Parse("* 2 * * *").IsFixedTime());
}

TEST(CronParse, WhitespaceBetweenAndAroundFields) {
  EXPECT_EQ(Parse("  0   9 * *\tmon  "), Parse("0 9 * * 1"));
}

TEST(CronParse, Macros) {
  EXPECT_EQ(Parse("@yearly"), Parse("0 0 1 1 *"));
  EXPECT_EQ(Parse("@annually"), Parse("0 0 1 1 *"));
  EXPECT_EQ(Parse("@monthly"), Parse("0 0 1 * *"));
  EXPECT_EQ(Parse("@weekly"), Parse("0 0 * * 0"));
  EXPECT_EQ(Parse("@daily"), Parse("0 0 * * *"));
  EXPECT_EQ(Parse("@midnight"), Parse("0 0 * * *"));
  EXPECT_EQ(Parse("@hourly"), Parse("0 * * * *"));
  EXPECT_EQ(Parse(" @Daily "), Parse("0 0 * * *"));
  // The expansions differ from each other.
  EXPECT_NE(Parse("@weekly"), Parse("@daily"));
  EXPECT_NE(Parse("@monthly"), Parse("@yearly"));
}

TEST(CronParse, RejectsWrongFieldCounts) {
  ExpectParseError("", {"empty"});
  ExpectParseError(" \t ", {"empty"});
  ExpectParseError("* * * *", {"4 fields", "expected 5"});
  ExpectParseError("* * * * * * * *", {"8 fields", "expected 5"});
  ExpectParseError("0 * * * * *", {"6 fields", "seconds"});
  ExpectParseError("0 0 * * * * 2030", {"7 fields", "seconds"});
}

TEST(CronParse, RejectsRebootAndUnknownMacros) {
  ExpectParseError("@reboot", {"@reboot", "not supported"});
  ExpectParseError("@every_5m", {"unknown cron macro", "@every_5m"});
  ExpectParseError("@daily 0", {"@daily", "no other fields"});
}

TEST(CronParse, RejectsOutOfRangeValuesNamingFieldAndToken) {
  ExpectParseError("60 * * * *", {"minute field", "\"60\"", "out of range 0-59"});
  ExpectParseError("0 24 * * *", {"hour field", "\"24\"", "0-23"});
  ExpectParseError("0 0 0 * *", {"day-of-month field", "\"0\"", "1-31"});
  ExpectParseError("0 0 32 * *", {"day-of-month field", "\"32\""});
  ExpectParseError("0 0 * 13 *", {"month field", "\"13\"", "1-12"});
  ExpectParseError("0 0 * 0 *", {"month field", "\"0\""});
  ExpectParseError("0 0 * * 8", {"day-of-week field", "\"8\"", "0-7"});
  ExpectParseError("99999999999999999999 * * * *", {"minute field", "out of range"});
  ExpectParseError("1,2,70-80 * * * *", {"minute field", "\"70-80\""});
}

TEST(CronParse, RejectsBadNames) {
  ExpectParseError("0 0 * foo *", {"month field", "\"foo\"", "jan..dec"});
  ExpectParseError("0 0 * * mon-funday", {"day-of-week field", "\"mon-funday\"", "sun..sat"});
  ExpectParseError("0 0 * * january", {"day-of-week field", "\"january\""});
  ExpectParseError("0 mon * * *", {"hour field", "\"mon\"", "not a number"});
  ExpectParseError("0 0 * sun *", {"month field", "\"sun\""});
  ExpectParseError("5x * * * *", {"minute field", "\"5x\"", "not a number"});
}

TEST(CronParse, RejectsBadRangesAndSteps) {
  ExpectParseError("0 0 * * fri-mon", {"day-of-week field", "\"fri-mon\"", "after its end"});
  ExpectParseError("30-10 * * * *", {"minute field", "\"30-10\"", "after its end"});
  ExpectParseError("*/0 * * * *", {"minute field", "\"*/0\"", "step"});
  ExpectParseError("*/61 * * * *", {"minute field", "\"*/61\"", "step"});
  ExpectParseError("*/x * * * *", {"minute field", "\"*/x\"", "step"});
  ExpectParseError("*/ * * * *", {"minute field", "\"*/\"", "step"});
  ExpectParseError("1-10/2/3 * * * *", {"minute field", "\"1-10/2/3\"", "step"});
  ExpectParseError("5/10 * * * *", {"minute field", "\"5/10\"", "5-59/10"});
  ExpectParseError("-5 * * * *", {"minute field", "\"-5\"", "missing value"});
  ExpectParseError("1- * * * *", {"minute field", "\"1-\"", "missing value"});
  ExpectParseError("1-2-3 * * * *", {"minute field", "\"1-2-3\""});
  ExpectParseError("1,,2 * * * *", {"minute field", "\"1,,2\"", "empty list element"});
  ExpectParseError("1, * * * *", {"minute field", "\"1,\"", "empty list element"});
  ExpectParseError("0 0 ? * mon", {"day-of-month field", "\"?\""});
  ExpectParseError("0 0 L * *", {"day-of-month field", "\"L\""});
  ExpectParseError("0 0 * * 5#3", {"day-of-week field", "\"5#3\""});
}

TEST(CronParse, RejectsOverlongExpressions) {
  std::string list = "0";
  while (list.size() <= kMaxCronExprLength)
    list += ",0";
  ExpectParseError(list + " * * * *", {"longer than"});
}

// ------------------------------------------------------ time zone handling

TEST(CronTimeZone, ValidatesNames) {
  EXPECT_TRUE(ValidateTimeZone("UTC").ok());
  EXPECT_TRUE(ValidateTimeZone("Europe/Berlin").ok());
  EXPECT_TRUE(ValidateTimeZone("America/New_York").ok());
  EXPECT_TRUE(ValidateTimeZone("US/Eastern").ok());  // a link
  EXPECT_TRUE(ValidateTimeZone("Etc/GMT+5").ok());
  for (const std::string bad : {"", "Mars/Olympus_Mons", "europe/berlin", "../../etc/passwd",
                                "/usr/share/zoneinfo/UTC", "Europe/Berlin\n", "right/UTC"}) {
    const Status s = ValidateTimeZone(bad);
    EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument) << "\"" << bad << "\"";
  }
}

TEST(CronTimeZone, NextFireRejectsUnknownZoneAndOutOfRangeTime) {
  auto unknown = NextFire(Parse("@daily"), "Nowhere/Atlantis", Utc(2024, 5, 1));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("Nowhere/Atlantis"), std::string::npos);

  auto too_late = NextFire(Parse("@daily"), "UTC", Utc(10000, 1, 1));
  ASSERT_FALSE(too_late.ok());
  EXPECT_EQ(too_late.status().code(), ErrorCode::kInvalidArgument);
  auto far_future = NextFire(Parse("@daily"), "UTC", TimePoint::max());
  ASSERT_FALSE(far_future.ok());
  auto far_past = NextFire(Parse("@daily"), "UTC", TimePoint::min());
  ASSERT_FALSE(far_past.ok());
}

// ------------------------------------------------------- next fire (UTC)

TEST(CronNextFire, DailyIsStrictlyAfter) {
  EXPECT_EQ(Next("@daily", "UTC", Utc(2024, 5, 1, 10)), Utc(2024, 5, 2));
  EXPECT_EQ(Next("@daily", "UTC", Utc(2024, 5, 2)), Utc(2024, 5, 3));
  EXPECT_EQ(Next("@daily", "UTC", Utc(2024, 5, 2) - Duration(1)), Utc(2024, 5, 2));
  EXPECT_EQ(Next("@daily", "UTC", Utc(2024, 12, 31, 23, 59)), Utc(2025, 1, 1));
}

TEST(CronNextFire, SubMinuteAfterRoundsToTheNextWholeMinute) {
  const TimePoint t = Utc(2024, 5, 1, 9, 59) + std::chrono::seconds(59) + Duration(999'999);
  EXPECT_EQ(Next("0 10 * * *", "UTC", t), Utc(2024, 5, 1, 10));
  EXPECT_EQ(Next("* * * * *", "UTC", Utc(2024, 5, 1, 10) + Duration(1)), Utc(2024, 5, 1, 10, 1));
}

TEST(CronNextFire, Hourly) {
  EXPECT_EQ(Next("@hourly", "UTC", Utc(2024, 5, 1, 10)), Utc(2024, 5, 1, 11));
  EXPECT_EQ(Next("@hourly", "UTC", Utc(2024, 5, 1, 10, 30)), Utc(2024, 5, 1, 11));
  EXPECT_EQ(Next("@hourly", "UTC", Utc(2024, 5, 1, 23, 30)), Utc(2024, 5, 2, 0));
  EXPECT_EQ(Fires("@hourly", "UTC", Utc(2024, 5, 1), Utc(2024, 5, 2)).size(), 24u);
}

TEST(CronNextFire, EveryFifteenMinutes) {
  EXPECT_EQ(Next("*/15 * * * *", "UTC", Utc(2024, 5, 1, 10, 7)), Utc(2024, 5, 1, 10, 15));
  EXPECT_EQ(Next("*/15 * * * *", "UTC", Utc(2024, 5, 1, 10, 45)), Utc(2024, 5, 1, 11));
  EXPECT_EQ(Fires("*/15 * * * *", "UTC", Utc(2024, 5, 1), Utc(2024, 5, 2)).size(), 96u);
}

TEST(CronNextFire, MinuteAndHourRanges) {
  EXPECT_EQ(Next("1-5 * * * *", "UTC", Utc(2024, 5, 1, 10, 3)), Utc(2024, 5, 1, 10, 4));
  EXPECT_EQ(Next("1-5 * * * *", "UTC", Utc(2024, 5, 1, 10, 5)), Utc(2024, 5, 1, 11, 1));
  EXPECT_EQ(Next("0 1-5 * * *", "UTC", Utc(2024, 5, 1, 5)), Utc(2024, 5, 2, 1));
  EXPECT_EQ(Fires("1-5 * * * *", "UTC", Utc(2024, 5, 1), Utc(2024, 5, 2)).size(), 5u * 24u);
}

TEST(CronNextFire, WeekdaysAtNine) {
  // 2024-05-03 is a Friday.
  EXPECT_EQ(Next("0 9 * * mon-fri", "UTC", Utc(2024, 5, 3, 9)), Utc(2024, 5, 6, 9));
  EXPECT_EQ(Next("0 9 * * mon-fri", "UTC", Utc(2024, 5, 3, 8)), Utc(2024, 5, 3, 9));
  EXPECT_EQ(Fmt(Fires("0 9 * * mon-fri", "UTC", Utc(2024, 5, 4), Utc(2024, 5, 11))),
            Fmt({Utc(2024, 5, 6, 9), Utc(2024, 5, 7, 9), Utc(2024, 5, 8, 9), Utc(2024, 5, 9, 9),
                 Utc(2024, 5, 10, 9)}));
}

TEST(CronNextFire, DayOfMonthOrDayOfWeekWhenBothRestricted) {
  // May 2024: Fridays are 3, 10, 17, 24, 31; the 13th is a Monday.
  EXPECT_EQ(Fmt(Fires("0 0 13 * fri", "UTC", Utc(2024, 5, 1), Utc(2024, 6, 1))),
            Fmt({Utc(2024, 5, 3), Utc(2024, 5, 10), Utc(2024, 5, 13), Utc(2024, 5, 17),
                 Utc(2024, 5, 24), Utc(2024, 5, 31)}));
  // One of them `*`: only the other restricts.
  EXPECT_EQ(Fires("0 0 * * fri", "UTC", Utc(2024, 5, 1), Utc(2024, 6, 1)).size(), 5u);
  EXPECT_EQ(Fmt(Fires("0 0 13 * *", "UTC", Utc(2024, 5, 1), Utc(2024, 6, 1))),
            Fmt({Utc(2024, 5, 13)}));
}

TEST(CronNextFire, StarLedStepDayFieldMeansBothLikeVixie) {
  // `*/2` starts with `*`, so it and Friday must both hold: odd Fridays.
  EXPECT_EQ(Fmt(Fires("0 0 */2 * fri", "UTC", Utc(2024, 5, 1), Utc(2024, 6, 1))),
            Fmt({Utc(2024, 5, 3), Utc(2024, 5, 17), Utc(2024, 5, 31)}));
  // The same days written as a list are "restricted": either matches.
  EXPECT_EQ(Fires("0 0 1-31/2 * fri", "UTC", Utc(2024, 5, 1), Utc(2024, 6, 1)).size(),
            16u + 2u);  // 16 odd days plus the even Fridays 10 and 24
}

TEST(CronNextFire, MonthEndsSkipShortMonths) {
  EXPECT_EQ(Next("0 0 31 * *", "UTC", Utc(2024, 1, 31)), Utc(2024, 3, 31));
  EXPECT_EQ(Next("0 0 31 * *", "UTC", Utc(2024, 3, 31)), Utc(2024, 5, 31));
  EXPECT_EQ(Next("0 0 30 * *", "UTC", Utc(2024, 1, 30)), Utc(2024, 3, 30));
  EXPECT_EQ(Next("0 0 1 1 *", "UTC", Utc(2024, 6, 15)), Utc(2025, 1, 1));
  EXPECT_EQ(Next("@monthly", "UTC", Utc(2024, 12, 15)), Utc(2025, 1, 1));
  EXPECT_EQ(Next("0 12 * 2 *", "UTC", Utc(2023, 2, 28, 12)), Utc(2024, 2, 1, 12));
  EXPECT_EQ(Next("0 12 * 2 *", "UTC", Utc(2024, 2, 28, 12)), Utc(2024, 2, 29, 12));
}

TEST(CronNextFire, LeapDay) {
  EXPECT_EQ(Next("0 0 29 2 *", "UTC", Utc(2024, 2, 29)), Utc(2028, 2, 29));
  EXPECT_EQ(Next("0 0 29 2 *", "UTC", Utc(2023, 3, 1)), Utc(2024, 2, 29));
  // 2100 is not a leap year.
  EXPECT_EQ(Next("0 0 29 2 *", "UTC", Utc(2096, 3, 1)), Utc(2104, 2, 29));
  // The longest wait a satisfiable expression has: Feb 29 on a Sunday
  // (`*/7` starts with `*`, so both day fields must hold), 2088 -> 2128.
  EXPECT_EQ(Next("0 0 29 2 */7", "UTC", Utc(2088, 3, 1)), Utc(2128, 2, 29));
}

TEST(CronNextFire, NeverMatchingExpressionsReturnNullopt) {
  for (const char* expr : {"0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 31 2 */2"}) {
    auto next = NextFire(Parse(expr), "UTC", Utc(2024, 1, 1));
    ASSERT_TRUE(next.ok()) << expr;
    EXPECT_FALSE(next->has_value()) << expr << " fired at " << FormatTime(**next);
    auto berlin = NextFire(Parse(expr), "Europe/Berlin", Utc(2024, 1, 1));
    ASSERT_TRUE(berlin.ok()) << expr;
    EXPECT_FALSE(berlin->has_value()) << expr;
  }
  // Near the end of the supported range the search stops at year 9999.
  auto last = NextFire(Parse("0 0 29 2 *"), "UTC", Utc(9996, 3, 1));
  ASSERT_TRUE(last.ok());
  EXPECT_FALSE(last->has_value());
}

TEST(CronNextFire, FixedOffsetZone) {
  // Asia/Tokyo is UTC+9 all year.
  EXPECT_EQ(Next("0 9 * * *", "Asia/Tokyo", Utc(2024, 5, 1, 1)), Utc(2024, 5, 2, 0));
  // Tokyo's Monday 08:00 is Sunday 23:00 UTC.
  EXPECT_EQ(Next("0 8 * * mon", "Asia/Tokyo", Utc(2024, 5, 1)), Utc(2024, 5, 5, 23));
}

// ------------------------------------------------------------------- DST
//
// America/New_York 2024: spring forward Sun Mar 10 02:00 EST -> 03:00 EDT
// (07:00Z); fall back Sun Nov 3 02:00 EDT -> 01:00 EST (06:00Z), so
// 01:00-01:59 occurs twice.
// Europe/Berlin 2024: spring forward Sun Mar 31 02:00 CET -> 03:00 CEST
// (01:00Z); fall back Sun Oct 27 03:00 CEST -> 02:00 CET (01:00Z), so
// 02:00-02:59 occurs twice.
// Australia/Lord_Howe 2024: fall back Sun Apr 7 02:00 +11 -> 01:30 +10:30
// (15:00Z on Apr 6); spring forward Sun Oct 6 02:00 +10:30 -> 02:30 +11
// (15:30Z on Oct 5).

const std::string kNewYork = "America/New_York";
const std::string kBerlin = "Europe/Berlin";
const std::string kLordHowe = "Australia/Lord_Howe";

TEST(CronDst, NewYorkDailyInTheSpringGapFiresAtTheEndOfTheGap) {
  EXPECT_EQ(Fmt(Fires("30 2 * * *", kNewYork, Utc(2024, 3, 9), Utc(2024, 3, 12))),
            Fmt({Utc(2024, 3, 9, 7, 30),      // 02:30 EST
                 Utc(2024, 3, 10, 7, 0),      // 02:30 does not exist: 03:00 EDT
                 Utc(2024, 3, 11, 6, 30)}));  // 02:30 EDT
  // Several wall times in one gap fire once.
  EXPECT_EQ(Fmt(Fires("0,30 2 10 3 *", kNewYork, Utc(2024, 3, 9), Utc(2024, 3, 11))),
            Fmt({Utc(2024, 3, 10, 7, 0)}));
  // The gap's catch-up and the 03:00 fire are the same instant: one fire.
  EXPECT_EQ(Fmt(Fires("30 2,3 10 3 *", kNewYork, Utc(2024, 3, 9), Utc(2024, 3, 11))),
            Fmt({Utc(2024, 3, 10, 7, 0), Utc(2024, 3, 10, 7, 30)}));
  EXPECT_EQ(Fmt(Fires("0 2,3 10 3 *", kNewYork, Utc(2024, 3, 9), Utc(2024, 3, 11))),
            Fmt({Utc(2024, 3, 10, 7, 0)}));
}

TEST(CronDst, NewYorkDailyInTheRepeatedHourFiresOnceAtTheFirstOccurrence) {
  EXPECT_EQ(Fmt(Fires("30 1 * * *", kNewYork, Utc(2024, 11, 2), Utc(2024, 11, 5))),
            Fmt({Utc(2024, 11, 2, 5, 30),     // 01:30 EDT
                 Utc(2024, 11, 3, 5, 30),     // 01:30 EDT, first of two
                 Utc(2024, 11, 4, 6, 30)}));  // 01:30 EST
  // From inside the repetition (01:10 EST) the repeated 01:30 does not fire.
  EXPECT_EQ(Next("30 1 * * *", kNewYork, Utc(2024, 11, 3, 6, 10)), Utc(2024, 11, 4, 6, 30));
  // 02:30 exists once on the fall-back day (in EST).
  EXPECT_EQ(Fmt(Fires("30 2 * * *", kNewYork, Utc(2024, 11, 2), Utc(2024, 11, 5))),
            Fmt({Utc(2024, 11, 2, 6, 30), Utc(2024, 11, 3, 7, 30), Utc(2024, 11, 4, 7, 30)}));
}

TEST(CronDst, BerlinDailyAtTwoThirtyAcrossBothTransitions) {
  EXPECT_EQ(Fmt(Fires("30 2 * * *", kBerlin, Utc(2024, 3, 30), Utc(2024, 4, 2))),
            Fmt({Utc(2024, 3, 30, 1, 30),    // 02:30 CET
                 Utc(2024, 3, 31, 1, 0),     // gap: 03:00 CEST
                 Utc(2024, 4, 1, 0, 30)}));  // 02:30 CEST
  EXPECT_EQ(Fmt(Fires("30 2 * * *", kBerlin, Utc(2024, 10, 26), Utc(2024, 10, 29))),
            Fmt({Utc(2024, 10, 26, 0, 30),     // 02:30 CEST
                 Utc(2024, 10, 27, 0, 30),     // 02:30 CEST, first of two
                 Utc(2024, 10, 28, 1, 30)}));  // 02:30 CET
  EXPECT_EQ(Next("30 2 * * *", kBerlin, Utc(2024, 10, 27, 0, 30)), Utc(2024, 10, 28, 1, 30));
}

// Fires of `expr` during one local calendar day, given its UTC bounds.
std::size_t FiresOnDay(std::string_view expr, const std::string& tz, TimePoint day_start,
                       TimePoint next_day_start) {
  return Fires(expr, tz, day_start - Duration(1), next_day_start - Duration(1)).size();
}

TEST(CronDst, NewYorkHourlyAcrossBothTransitions) {
  // Mar 10 has 23 hours (05:00Z..04:00Z); 02:00 does not exist and a
  // wildcard-hour job does not catch it up.
  const auto spring = Fires("@hourly", kNewYork, Utc(2024, 3, 10, 5, 0) - Duration(1),
                            Utc(2024, 3, 11, 4, 0) - Duration(1));
  EXPECT_EQ(spring.size(), 23u);
  EXPECT_EQ(Next("@hourly", kNewYork, Utc(2024, 3, 10, 6, 0)), Utc(2024, 3, 10, 7, 0));
  EXPECT_EQ(Next("@hourly", kNewYork, Utc(2024, 3, 10, 7, 0)), Utc(2024, 3, 10, 8, 0));
  EXPECT_EQ(FiresOnDay("30 * * * *", kNewYork, Utc(2024, 3, 10, 5), Utc(2024, 3, 11, 4)), 23u);
  EXPECT_EQ(FiresOnDay("*/15 * * * *", kNewYork, Utc(2024, 3, 10, 5), Utc(2024, 3, 11, 4)), 92u);

  // Nov 3 has 25 hours (04:00Z..05:00Z); 01:00 fires once, in EDT.
  EXPECT_EQ(FiresOnDay("@hourly", kNewYork, Utc(2024, 11, 3, 4), Utc(2024, 11, 4, 5)), 24u);
  EXPECT_EQ(Next("@hourly", kNewYork, Utc(2024, 11, 3, 4, 30)), Utc(2024, 11, 3, 5, 0));
  EXPECT_EQ(Next("@hourly", kNewYork, Utc(2024, 11, 3, 5, 0)), Utc(2024, 11, 3, 7, 0));
  EXPECT_EQ(FiresOnDay("*/15 * * * *", kNewYork, Utc(2024, 11, 3, 4), Utc(2024, 11, 4, 5)), 96u);
  EXPECT_EQ(Next("*/15 * * * *", kNewYork, Utc(2024, 11, 3, 5, 45)), Utc(2024, 11, 3, 7, 0));
  EXPECT_EQ(Next("* * * * *", kNewYork, Utc(2024, 11, 3, 6, 0)), Utc(2024, 11, 3, 7, 0));
}

TEST(CronDst, BerlinHourlyAcrossBothTransitions) {
  // Mar 31: 23:00Z..22:00Z, 23 hours; Oct 27: 22:00Z..23:00Z, 25 hours.
  EXPECT_EQ(FiresOnDay("@hourly", kBerlin, Utc(2024, 3, 30, 23), Utc(2024, 3, 31, 22)), 23u);
  EXPECT_EQ(Next("@hourly", kBerlin, Utc(2024, 3, 31, 0, 0)), Utc(2024, 3, 31, 1, 0));
  EXPECT_EQ(FiresOnDay("@hourly", kBerlin, Utc(2024, 10, 26, 22), Utc(2024, 10, 27, 23)), 24u);
  // 02:00 CEST (00:00Z) fires; 02:00 CET (01:00Z) does not; 03:00 CET does.
  EXPECT_EQ(Next("@hourly", kBerlin, Utc(2024, 10, 26, 23, 30)), Utc(2024, 10, 27, 0, 0));
  EXPECT_EQ(Next("@hourly", kBerlin, Utc(2024, 10, 27, 0, 0)), Utc(2024, 10, 27, 2, 0));
  EXPECT_EQ(FiresOnDay("*/15 * * * *", kBerlin, Utc(2024, 10, 26, 22), Utc(2024, 10, 27, 23)), 96u);
}

TEST(CronDst, FixedTimeJobsCatchUpButWildcardJobsSkipTheGap) {
  // Fixed hours 1-3 at :30: 02:30 is caught up at 03:00 EDT.
  EXPECT_EQ(Fmt(Fires("30 1-3 10 3 *", kNewYork, Utc(2024, 3, 10), Utc(2024, 3, 11))),
            Fmt({Utc(2024, 3, 10, 6, 30), Utc(2024, 3, 10, 7, 0), Utc(2024, 3, 10, 7, 30)}));
  // The same wall times with a wildcard hour: 02:30 is skipped.
  EXPECT_EQ(Fmt(Fires("30 * 10 3 *", kNewYork, Utc(2024, 3, 10, 6), Utc(2024, 3, 10, 8))),
            Fmt({Utc(2024, 3, 10, 6, 30), Utc(2024, 3, 10, 7, 30)}));
  // A wildcard minute in a fixed hour is skipped too: the whole 02:xx hour.
  EXPECT_EQ(Fmt(Fires("* 2 10 3 *", kNewYork, Utc(2024, 3, 9), Utc(2024, 3, 11))), Fmt({}));
  auto next = NextFire(Parse("* 2 10 3 *"), kNewYork, Utc(2024, 3, 9));
  ASSERT_TRUE(next.ok());
  ASSERT_TRUE(next->has_value());
  EXPECT_EQ(**next, Utc(2025, 3, 10, 6, 0));  // 02:00 EDT a year later
}

TEST(CronDst, LordHoweHalfHourShift) {
  // Spring forward: 02:00-02:29 do not exist. 02:15 is caught up at 02:30.
  EXPECT_EQ(Fmt(Fires("15 2 * * *", kLordHowe, Utc(2024, 10, 4), Utc(2024, 10, 7))),
            Fmt({Utc(2024, 10, 4, 15, 45),     // 02:15 +10:30
                 Utc(2024, 10, 5, 15, 30),     // gap: 02:30 +11
                 Utc(2024, 10, 6, 15, 15)}));  // 02:15 +11
  // Oct 6 lasts 23.5 hours: 02:00 is lost; 02:30 and 02:45 exist.
  EXPECT_EQ(FiresOnDay("@hourly", kLordHowe, Utc(2024, 10, 5, 13, 30), Utc(2024, 10, 6, 13)), 23u);
  EXPECT_EQ(FiresOnDay("*/15 * * * *", kLordHowe, Utc(2024, 10, 5, 13, 30), Utc(2024, 10, 6, 13)),
            94u);
  // Fall back: 01:30-01:59 occur twice. 01:45 fires at +11 only.
  EXPECT_EQ(Fmt(Fires("45 1 * * *", kLordHowe, Utc(2024, 4, 5), Utc(2024, 4, 8))),
            Fmt({Utc(2024, 4, 5, 14, 45), Utc(2024, 4, 6, 14, 45), Utc(2024, 4, 7, 15, 15)}));
  // Apr 7 lasts 24.5 hours; each wall time fires once.
  EXPECT_EQ(FiresOnDay("@hourly", kLordHowe, Utc(2024, 4, 6, 13), Utc(2024, 4, 7, 13, 30)), 24u);
  EXPECT_EQ(FiresOnDay("*/15 * * * *", kLordHowe, Utc(2024, 4, 6, 13), Utc(2024, 4, 7, 13, 30)),
            96u);
}

TEST(CronDst, UtcHasNoTransitions) {
  EXPECT_EQ(FiresOnDay("@hourly", "UTC", Utc(2024, 3, 10), Utc(2024, 3, 11)), 24u);
  EXPECT_EQ(FiresOnDay("@hourly", "UTC", Utc(2024, 11, 3), Utc(2024, 11, 4)), 24u);
  EXPECT_EQ(Next("30 2 * * *", "UTC", Utc(2024, 3, 31)), Utc(2024, 3, 31, 2, 30));
}

}  // namespace
}  // namespace jobtape::engine
