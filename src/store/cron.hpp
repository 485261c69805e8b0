// Cron schedules: parsing 5-field cron expressions and computing their next
// fire time in an IANA time zone. This is the time arithmetic of the
// Scheduler; it does no I/O beyond reading the system tz database.
//
// Why it lives in the store layer (it was engine/cron.hpp, which now only
// re-exports it): a schedule's fire and its next fire time must commit in
// the same transaction as the job it enqueues, and the next fire time of a
// misfired schedule depends on the `now` of that transaction. So the store
// evaluates the expression itself (store/schedule_rules.hpp), and every Store
// implementation shares this one evaluator. It cannot go into core: reading
// zone files is I/O, and core does none. The engine still depends on the
// Store interface only (engine -> store is the allowed direction).
//
// Hand-written: Debian 12 packages no C++ cron parser. Time zones come from
// Howard Hinnant's date/tz (libhowardhinnant-date-dev) in its USE_OS_TZDB
// mode: it reads the compiled zone files under /usr/share/zoneinfo (package
// tzdata) and never downloads anything.
//
// Syntax (Vixie cron, as in cronie and Debian's cron):
//   minute hour day-of-month month day-of-week
//   0-59   0-23 1-31         1-12  0-7 (0 and 7 are Sunday)
// Each field is a comma-separated list of `*`, `n`, `a-b`, `*/n` or `a-b/n`.
// Months and weekdays also take three-letter English names (`jan`..`dec`,
// `sun`..`sat`), case-insensitive, alone or as range ends (`mon-fri`).
// Macros: @yearly = @annually = "0 0 1 1 *", @monthly = "0 0 1 * *",
// @weekly = "0 0 * * 0", @daily = @midnight = "0 0 * * *", @hourly = "0 * * * *".
// Not supported: @reboot (there is no boot to attach it to), seconds or year
// fields (6 or 7 fields), `a/n` without a range end, and the non-Vixie
// extensions `?`, `L`, `W`, `#`, `~`, `H`.
//
// Day matching, exactly as Vixie cron: if the day-of-month or the
// day-of-week field *starts with* `*` (so `*` and `*/n`), a day must match
// both fields; otherwise (both restricted) a day matches if EITHER field
// matches. So `0 0 13 * fri` fires on every 13th and every Friday, while
// `0 0 */2 * fri` fires only on Fridays with an odd day of month.
//
// Daylight saving time. An expression names wall-clock times in its zone;
// NextFire turns each matching wall time into one instant:
//  * A wall time that occurs once fires at that instant.
//  * A wall time that occurs twice (the clock falls back) fires ONCE, at its
//    first occurrence; its repetition is skipped, whatever the expression. On
//    the fall-back day an hourly job therefore fires 24 times (with a two-hour
//    gap in real time across the repeated hour), never 25.
//  * A wall time that does not exist (the clock springs forward) depends on
//    the expression, as in cronie: a *fixed-time* job (neither the minute nor
//    the hour field starts with `*`, e.g. `30 2 * * *`, `@daily`,
//    `0 1-5 * * *`) fires once at the first instant after the gap (02:30 on
//    the spring-forward day in America/New_York fires at 03:00 EDT), so a
//    daily job never loses a day; several wall times in one gap fire once. A
//    job with a wildcard minute or hour (`0 * * * *`, `*/15 * * * *`) skips
//    the missing wall times: it already fires every hour (or more often) in
//    real time, and catching up would burst. An hourly job fires 23 times on
//    the spring-forward day.
//  Where cronie differs: on fall-back it re-runs wildcard jobs in the
//  repeated hour; jobtape does not (each wall time fires once), and it fires a
//  fixed-time job once per gap rather than once per skipped wall time.
//
// Limits: the tz database's compiled zone files list transitions up to 2037;
// date/tz in USE_OS_TZDB mode does not evaluate the rule that extends them, so
// after 2037 every zone keeps the offset of its last listed transition (no
// DST). NextFire searches at most kCronSearchYears ahead and supports years
// 1..9999.
//
// Thread-safety: CronExpr is an immutable value type. ParseCron, NextFire and
// ValidateTimeZone are safe to call concurrently. The tz database's zone list
// is loaded once, thread-safely, on first use, and each zone's file on its
// first use; a tzdata upgrade on disk takes effect at the next restart.
#pragma once

#include <bitset>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/status.hpp"

namespace jobtape::store {

// Longest cron expression accepted (R9). Real expressions are well under 100
// bytes; long lists of single values still fit.
inline constexpr std::size_t kMaxCronExprLength = 1024;
// How far ahead NextFire looks before it concludes an expression never fires.
// The longest wait for a satisfiable expression is 40 years (Feb 29 on a
// given weekday across the skipped leap day of 2100, e.g. `0 0 29 2 */7`
// from 2089 waits until 2128); 100 years leaves a margin and bounds the
// search at a few tens of thousands of day steps.
inline constexpr int kCronSearchYears = 100;

// A parsed cron expression: one bit per matching value of each field.
class CronExpr {
 public:
  // Bit i is set when value i matches: minute 0-59, hour 0-23, day of month
  // 1-31 (bit 0 unused), month 1-12 (bit 0 unused), weekday 0-6 (0 = Sunday).
  const std::bitset<60>& minutes() const { return minutes_; }
  const std::bitset<24>& hours() const { return hours_; }
  const std::bitset<32>& days_of_month() const { return days_of_month_; }
  const std::bitset<13>& months() const { return months_; }
  const std::bitset<7>& days_of_week() const { return days_of_week_; }

  // Whether the field's text started with `*` (Vixie's *_STAR flags).
  bool minute_star() const { return minute_star_; }
  bool hour_star() const { return hour_star_; }
  bool day_of_month_star() const { return dom_star_; }
  bool day_of_week_star() const { return dow_star_; }

  // A job with neither a wildcard minute nor a wildcard hour: it catches up
  // wall times lost in a spring-forward gap (see the DST rules above).
  bool IsFixedTime() const { return !minute_star_ && !hour_star_; }

  // Whether a calendar day matches the month, day-of-month and day-of-week
  // fields under the Vixie either/both rule. month 1-12, day 1-31, weekday
  // 0-6 with 0 = Sunday.
  bool MatchesDay(unsigned month, unsigned day, unsigned weekday) const;

  bool operator==(const CronExpr&) const = default;

 private:
  friend class CronParser;

  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_of_month_;
  std::bitset<13> months_;
  std::bitset<7> days_of_week_;
  bool minute_star_ = false;
  bool hour_star_ = false;
  bool dom_star_ = false;
  bool dow_star_ = false;
};

// Parses a 5-field expression or a macro; leading and trailing whitespace and
// runs of spaces/tabs between fields are allowed. Returns kInvalidArgument
// with a message naming the field and the offending token (e.g. `cron minute
// field: "61" is out of range 0-59`), for @reboot, for 6- or 7-field
// expressions, for an empty or over-long (kMaxCronExprLength) expression.
// Expressions that can never fire (`0 0 30 2 *`) parse; NextFire reports them.
Result<CronExpr> ParseCron(std::string_view text);

// OK if `tz_name` names a zone in the system tz database ("UTC",
// "Europe/Berlin", links such as "US/Eastern"). kInvalidArgument for an
// unknown or malformed name; kFailedPrecondition if the tz database itself
// cannot be loaded (tzdata not installed).
Status ValidateTimeZone(const std::string& tz_name);

// The first fire time of `expr` strictly after `after`, evaluating the
// expression in the wall-clock time of zone `tz_name` under the DST rules
// above. Fire times are whole minutes. Returns nullopt if the expression does
// not fire within kCronSearchYears (e.g. `0 0 30 2 *`) or before year 10000.
// Errors: those of ValidateTimeZone; kInvalidArgument if `after` lies
// outside years 1..9999 (in UTC).
Result<std::optional<TimePoint>> NextFire(const CronExpr& expr, const std::string& tz_name,
                                          TimePoint after);

}  // namespace jobtape::store
