// Cron parsing and next-fire search. See cron.hpp for the syntax and the DST
// rules; this file keeps date/tz private to the store library.
#include "store/cron.hpp"

#include <date/date.h>
#include <date/tz.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <exception>
#include <vector>

// The tz database must be the system's compiled zone files, never a download:
// libdate-tz is built with USE_OS_TZDB=1 and exports it through date::date-tz.
static_assert(USE_OS_TZDB == 1, "date/tz must use the OS tz database (/usr/share/zoneinfo)");
static_assert(HAS_REMOTE_API == 0, "date/tz must not download the tz database");

namespace jobtape::store {

bool CronExpr::MatchesDay(unsigned month, unsigned day, unsigned weekday) const {
  if (month > 12 || day > 31 || weekday > 6 || !months_[month]) return false;
  const bool dom = days_of_month_[day];
  const bool dow = days_of_week_[weekday];
  // Vixie: a `*`-led day field means "no restriction", so both must hold.
  return (dom_star_ || dow_star_) ? (dom && dow) : (dom || dow);
}

namespace {

constexpr std::array<std::string_view, 12> kMonthNames = {"jan", "feb", "mar", "apr", "may", "jun",
                                                          "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 7> kWeekdayNames = {"sun", "mon", "tue", "wed",
                                                           "thu", "fri", "sat"};

struct FieldSpec {
  std::string_view name;
  int min;
  int max;
  const std::string_view* names = nullptr;  // names[i] stands for min + i
  int name_count = 0;
};

// Day of week accepts 0-7: 7 is folded into 0 (Sunday) after parsing.
constexpr FieldSpec kFields[5] = {
    {"minute", 0, 59},
    {"hour", 0, 23},
    {"day-of-month", 1, 31},
    {"month", 1, 12, kMonthNames.data(), 12},
    {"day-of-week", 0, 7, kWeekdayNames.data(), 7},
};

struct Macro {
  std::string_view name;
  std::string_view fields;
};
constexpr Macro kMacros[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::vector<std::string_view> SplitFields(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && IsSpace(text[i]))
      ++i;
    std::size_t start = i;
    while (i < text.size() && !IsSpace(text[i]))
      ++i;
    if (i > start) out.push_back(text.substr(start, i - start));
  }
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Status FieldError(const FieldSpec& spec, std::string_view token, std::string_view why) {
  std::string msg = "cron ";
  msg.append(spec.name).append(" field: \"").append(token).append("\": ").append(why);
  return Status::InvalidArgument(std::move(msg));
}

// One value: a number in [min, max] or, where the field has them, a name.
Result<int> ParseValue(const FieldSpec& spec, std::string_view element, std::string_view v) {
  if (v.empty()) return FieldError(spec, element, "missing value");
  if (std::isdigit(static_cast<unsigned char>(v.front()))) {
    int n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (end != v.data() + v.size()) {
      return FieldError(spec, element, "\"" + std::string(v) + "\" is not a number");
    }
    if (ec != std::errc() || n < spec.min || n > spec.max) {
      return FieldError(spec, element,
                        "\"" + std::string(v) + "\" is out of range " + std::to_string(spec.min) +
                            "-" + std::to_string(spec.max));
    }
    return n;
  }
  if (spec.names != nullptr) {
    const std::string lower = Lower(v);
    for (int i = 0; i < spec.name_count; ++i) {
      if (lower == spec.names[i]) return spec.min + i;
    }
    return FieldError(spec, element,
                      "unknown name \"" + std::string(v) + "\" (expected " +
                          std::string(spec.names[0]) + ".." +
                          std::string(spec.names[spec.name_count - 1]) + " or a number)");
  }
  return FieldError(spec, element, "\"" + std::string(v) + "\" is not a number");
}

// One list element: `*`, `n`, `a-b`, `*/n` or `a-b/n`. Sets bits in `mask`.
Status ParseElement(const FieldSpec& spec, std::string_view element, uint64_t& mask) {
  if (element.empty()) return FieldError(spec, element, "empty list element");
  std::string_view base = element;
  int step = 1;
  const auto slash = element.find('/');
  const bool has_step = slash != std::string_view::npos;
  if (has_step) {
    base = element.substr(0, slash);
    std::string_view step_text = element.substr(slash + 1);
    const int max_step = spec.max - spec.min + 1;
    auto [end, ec] = std::from_chars(step_text.data(), step_text.data() + step_text.size(), step);
    if (step_text.empty() || end != step_text.data() + step_text.size() || ec != std::errc() ||
        step < 1 || step > max_step) {
      return FieldError(spec, element,
                        "step \"" + std::string(step_text) + "\" must be a number in 1-" +
                            std::to_string(max_step));
    }
  }
  int lo = spec.min;
  int hi = spec.max;
  if (base != "*") {
    const auto dash = base.find('-');
    if (dash == std::string_view::npos) {
      if (has_step) {
        // `a/n`: Vixie cron rejects it; say what to write instead.
        return FieldError(spec, element,
                          "a step needs a range: write \"" + std::string(base) + "-" +
                              std::to_string(spec.max) + "/" + std::to_string(step) + "\" or \"*/" +
                              std::to_string(step) + "\"");
      }
      auto v = ParseValue(spec, element, base);
      if (!v.ok()) return v.status();
      lo = hi = *v;
    } else {
      auto a = ParseValue(spec, element, base.substr(0, dash));
      if (!a.ok()) return a.status();
      auto b = ParseValue(spec, element, base.substr(dash + 1));
      if (!b.ok()) return b.status();
      if (*a > *b) {
        return FieldError(spec, element, "range start is after its end (ranges do not wrap)");
      }
      lo = *a;
      hi = *b;
    }
  }
  for (int v = lo; v <= hi; v += step)
    mask |= uint64_t{1} << v;
  return Status::Ok();
}

struct ParsedField {
  uint64_t mask = 0;
  bool star = false;
};

Result<ParsedField> ParseField(const FieldSpec& spec, std::string_view text) {
  ParsedField field;
  // Vixie's *_STAR flag: the field's first character is `*` (so `*/2` too).
  field.star = text.front() == '*';
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    const std::string_view element = text.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (element.empty()) return FieldError(spec, text, "empty list element");
    JT_RETURN_IF_ERROR(ParseElement(spec, element, field.mask));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return field;
}

template <std::size_t N>
std::bitset<N> ToBits(uint64_t mask) {
  return std::bitset<N>(static_cast<unsigned long long>(mask));
}

}  // namespace

// Friend of CronExpr: the only code that builds one.
class CronParser {
 public:
  static Result<CronExpr> Parse(std::string_view text) {
    if (text.size() > kMaxCronExprLength) {
      return Status::InvalidArgument("cron expression is longer than " +
                                     std::to_string(kMaxCronExprLength) + " bytes");
    }
    std::vector<std::string_view> fields = SplitFields(text);
    if (fields.empty()) return Status::InvalidArgument("cron expression is empty");
    if (fields[0].front() == '@') {
      const std::string name = Lower(fields[0]);
      if (name == "@reboot") {
        return Status::InvalidArgument(
            "cron macro \"@reboot\" is not supported: schedules fire at clock times");
      }
      for (const Macro& m : kMacros) {
        if (name != m.name) continue;
        if (fields.size() != 1) {
          return Status::InvalidArgument("cron macro \"" + std::string(fields[0]) +
                                         "\" takes no other fields");
        }
        return Parse(m.fields);
      }
      return Status::InvalidArgument(
          "unknown cron macro \"" + std::string(fields[0]) +
          "\" (expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)");
    }
    if (fields.size() == 6 || fields.size() == 7) {
      return Status::InvalidArgument(
          "cron expression has " + std::to_string(fields.size()) +
          " fields: seconds and year fields are not supported; use 5 fields "
          "(minute hour day-of-month month day-of-week)");
    }
    if (fields.size() != 5) {
      return Status::InvalidArgument(
          "cron expression has " + std::to_string(fields.size()) +
          " fields; expected 5 (minute hour day-of-month month day-of-week)");
    }
    ParsedField parsed[5];
    for (int i = 0; i < 5; ++i) {
      auto f = ParseField(kFields[i], fields[i]);
      if (!f.ok()) return f.status();
      parsed[i] = *f;
    }
    uint64_t dow = parsed[4].mask;
    if (dow & (uint64_t{1} << 7)) dow = (dow | 1) & ~(uint64_t{1} << 7);  // 7 is Sunday too

    CronExpr e;
    e.minutes_ = ToBits<60>(parsed[0].mask);
    e.hours_ = ToBits<24>(parsed[1].mask);
    e.days_of_month_ = ToBits<32>(parsed[2].mask);
    e.months_ = ToBits<13>(parsed[3].mask);
    e.days_of_week_ = ToBits<7>(dow);
    e.minute_star_ = parsed[0].star;
    e.hour_star_ = parsed[1].star;
    e.dom_star_ = parsed[2].star;
    e.dow_star_ = parsed[4].star;
    return e;
  }
};

Result<CronExpr> ParseCron(std::string_view text) {
  return CronParser::Parse(text);
}

namespace {

// Longest zone name accepted; IANA names are at most ~30 bytes.
constexpr std::size_t kMaxTimeZoneNameLength = 64;

Result<const date::time_zone*> LocateZone(const std::string& name) {
  const bool charset_ok = std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' || c == '-' ||
           c == '+';
  });
  if (name.empty() || name.size() > kMaxTimeZoneNameLength || !charset_ok || name.front() == '/') {
    return Status::InvalidArgument("invalid time zone name \"" + name.substr(0, 80) + "\"");
  }
  try {
    (void)date::get_tzdb();
  } catch (const std::exception& e) {
    return Status::FailedPrecondition(std::string("time zone database unavailable: ") + e.what());
  }
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return Status::InvalidArgument("unknown time zone \"" + name + "\"");
  }
}

using Minutes = std::chrono::minutes;
using LocalMinutes = date::local_time<Minutes>;

template <std::size_t N>
int NextBit(const std::bitset<N>& bits, int from) {
  for (int i = std::max(from, 0); i < static_cast<int>(N); ++i) {
    if (bits[static_cast<std::size_t>(i)]) return i;
  }
  return -1;
}

// The first wall-clock minute >= start whose fields all match, or nullopt
// past `last_year`. Skips whole months, days and hours that cannot match, so
// a search costs at most one step per day (a few per matching day).
std::optional<LocalMinutes> NextMatchingWallTime(const CronExpr& e, LocalMinutes start,
                                                 date::year last_year) {
  date::local_days day = date::floor<date::days>(start);
  const int minute_of_day = static_cast<int>((start - day).count());
  int hour = minute_of_day / 60;
  int minute = minute_of_day % 60;
  const int first_month = NextBit(e.months(), 1);
  if (first_month < 0) return std::nullopt;  // unreachable for a parsed expression
  while (true) {
    const date::year_month_day ymd{day};
    if (ymd.year() > last_year) return std::nullopt;
    const auto month = static_cast<unsigned>(ymd.month());
    if (!e.months()[month]) {
      const int next = NextBit(e.months(), static_cast<int>(month) + 1);
      day = next > 0 ? date::local_days{ymd.year() / date::month(static_cast<unsigned>(next)) / 1}
                     : date::local_days{(ymd.year() + date::years{1}) /
                                        date::month(static_cast<unsigned>(first_month)) / 1};
      hour = minute = 0;
      continue;
    }
    const date::weekday wd{day};
    if (!e.MatchesDay(month, static_cast<unsigned>(ymd.day()), wd.c_encoding())) {
      day += date::days{1};
      hour = minute = 0;
      continue;
    }
    const int h = NextBit(e.hours(), hour);
    if (h < 0) {
      day += date::days{1};
      hour = minute = 0;
      continue;
    }
    if (h != hour) {
      hour = h;
      minute = 0;
    }
    const int m = NextBit(e.minutes(), minute);
    if (m < 0) {
      ++hour;  // 24 makes NextBit fail above and moves to the next day
      minute = 0;
      continue;
    }
    return LocalMinutes{day} + std::chrono::hours{hour} + Minutes{m};
  }
}

// The local wall time at instant `t` in the offset of `info`, rounded up to a
// whole minute.
LocalMinutes LocalCeil(date::sys_seconds t, std::chrono::seconds offset) {
  return date::ceil<Minutes>(date::local_seconds{(t + offset).time_since_epoch()});
}

TimePoint ToTimePoint(date::sys_seconds t) {
  return TimePoint{std::chrono::duration_cast<Duration>(t.time_since_epoch())};
}

}  // namespace

Status ValidateTimeZone(const std::string& tz_name) {
  auto zone = LocateZone(tz_name);
  return zone.ok() ? Status::Ok() : zone.status();
}

Result<std::optional<TimePoint>> NextFire(const CronExpr& expr, const std::string& tz_name,
                                          TimePoint after) {
  auto zone_or = LocateZone(tz_name);
  if (!zone_or.ok()) return zone_or.status();
  const date::time_zone* zone = *zone_or;

  const auto earliest = date::sys_days{date::year{1} / 1 / 1};
  const auto latest = date::sys_days{date::year{10000} / 1 / 1};
  if (after < earliest || after >= latest) {
    return Status::InvalidArgument("time " + std::to_string(ToMicros(after)) +
                                   " us is outside the supported years 1..9999");
  }

  const auto after_s = date::floor<std::chrono::seconds>(after);
  LocalMinutes start = date::floor<Minutes>(zone->to_local(after_s)) + Minutes{1};
  const date::year start_year = date::year_month_day{date::floor<date::days>(start)}.year();
  const date::year last_year =
      std::min(start_year + date::years{kCronSearchYears}, date::year{9999});

  // Matching wall times in increasing order map to non-decreasing instants
  // (each maps to its earliest instant, or the end of its gap), so the first
  // one whose instant lies after `after` is the answer. `start` grows every
  // round, and the search ends at last_year.
  while (true) {
    const std::optional<LocalMinutes> wall = NextMatchingWallTime(expr, start, last_year);
    if (!wall) return std::optional<TimePoint>{};
    const date::local_info info = zone->get_info(date::local_seconds{*wall});
    const LocalMinutes next_minute = *wall + Minutes{1};
    switch (info.result) {
      case date::local_info::unique:
      case date::local_info::ambiguous: {
        // Ambiguous: the first occurrence (the earlier offset) fires.
        const date::sys_seconds fire{
            (date::local_seconds{*wall} - info.first.offset).time_since_epoch()};
        if (fire > after) return std::optional<TimePoint>{ToTimePoint(fire)};
        // A repeated wall time whose first occurrence has passed: when `after`
        // is in the repetition, every repeated wall time has fired; skip them.
        start = info.result == date::local_info::ambiguous && after >= info.first.end
                    ? std::max(next_minute, LocalCeil(info.first.end, info.first.offset))
                    : next_minute;
        break;
      }
      case date::local_info::nonexistent: {
        // In a spring-forward gap. The gap ends at info.second.begin.
        if (expr.IsFixedTime() && info.second.begin > after) {
          return std::optional<TimePoint>{ToTimePoint(info.second.begin)};
        }
        start = std::max(next_minute, LocalCeil(info.second.begin, info.second.offset));
        break;
      }
    }
  }
}

}  // namespace jobtape::store
