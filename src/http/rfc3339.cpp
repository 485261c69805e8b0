#include "http/rfc3339.hpp"

#include <cstdint>

namespace jobtape::http {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool IsLeap(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned DaysInMonth(int y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  bool Digits(int n, int& out) {
    if (pos_ + n > s_.size()) return false;
    int v = 0;
    for (int i = 0; i < n; ++i) {
      char c = s_[pos_ + i];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    pos_ += n;
    out = v;
    return true;
  }
  bool Char(char c) { return pos_ < s_.size() && s_[pos_] == c ? (++pos_, true) : false; }
  bool AnyOf(std::string_view set, char& out) {
    if (pos_ >= s_.size() || set.find(s_[pos_]) == std::string_view::npos) return false;
    out = s_[pos_++];
    return true;
  }
  bool PeekDigit() const { return pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9'; }
  bool Done() const { return pos_ == s_.size(); }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
};

}  // namespace

std::optional<TimePoint> ParseRfc3339(std::string_view text) {
  Cursor c(text);
  int year, month, day, hour, minute, second;
  char sep;
  if (!c.Digits(4, year) || !c.Char('-') || !c.Digits(2, month) || !c.Char('-') ||
      !c.Digits(2, day) || !c.AnyOf("Tt ", sep) || !c.Digits(2, hour) || !c.Char(':') ||
      !c.Digits(2, minute) || !c.Char(':') || !c.Digits(2, second)) {
    return std::nullopt;
  }
  if (year < 1970 || month < 1 || month > 12 || day < 1 ||
      static_cast<unsigned>(day) > DaysInMonth(year, static_cast<unsigned>(month)) || hour > 23 ||
      minute > 59 || second > 59) {
    return std::nullopt;
  }
  int64_t micros = 0;
  if (c.Char('.')) {
    if (!c.PeekDigit()) return std::nullopt;
    int64_t scale = 100'000;
    while (c.PeekDigit()) {
      int digit;
      c.Digits(1, digit);
      micros += digit * scale;
      scale /= 10;
    }
  }
  int64_t offset_minutes = 0;
  char zone;
  if (c.AnyOf("Zz", zone)) {
    // UTC
  } else if (c.AnyOf("+-", zone)) {
    int oh, om;
    if (!c.Digits(2, oh) || !c.Char(':') || !c.Digits(2, om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_minutes = (oh * 60 + om) * (zone == '-' ? -1 : 1);
  } else {
    return std::nullopt;
  }
  if (!c.Done()) return std::nullopt;
  int64_t days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  int64_t seconds = days * 86'400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
  return FromMicros(seconds * 1'000'000 + micros);
}

}  // namespace jobtape::http
