// Typed access to the members of a decoded JSON request object, with errors
// that name the field ({"code":"invalid_argument","field":"priority"}).
//
// Conventions shared by every decoder:
//   - a member that is absent or null leaves the output unchanged (the default);
//   - a member of the wrong type is invalid_argument "must be <type>";
//   - integers may be written as 5 or 5.0, never 5.5, and must fit the target;
//   - durations are integer milliseconds, 0 .. kMaxMillis, so conversion to
//     microseconds cannot overflow (ranges proper are core's job: Phase::kApply);
//   - members not listed as known are refused (CheckKnownFields), so a typo
//     such as "priorty" is an error instead of a silently ignored default.
// All errors here are Phase::kDecode (HTTP 400).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "core/clock.hpp"
#include "core/status.hpp"

namespace jobtape::http {

// About 31 years: longer than any limit core accepts, small enough that
// milliseconds * 1000 fits in int64.
inline constexpr int64_t kMaxMillis = 1'000'000'000'000;

// invalid_argument "must be a JSON object" unless `v` is one.
Result<const boost::json::object*> AsObject(const boost::json::value& v);

// invalid_argument "unknown field" naming the first member not in `known`.
Status CheckKnownFields(const boost::json::object& o,
                        std::initializer_list<std::string_view> known);

// The member's value, or null when absent or JSON null.
const boost::json::value* FindField(const boost::json::object& o, std::string_view key);

Status ReadString(const boost::json::object& o, std::string_view key, std::string& out);
// As ReadString, but absent or null is invalid_argument "is required".
Status ReadRequiredString(const boost::json::object& o, std::string_view key, std::string& out);
Status ReadInt(const boost::json::object& o, std::string_view key, int& out);
Status ReadInt64(const boost::json::object& o, std::string_view key, int64_t& out);
Status ReadOptionalInt64(const boost::json::object& o, std::string_view key,
                         std::optional<int64_t>& out);
Status ReadDouble(const boost::json::object& o, std::string_view key, double& out);
Status ReadBool(const boost::json::object& o, std::string_view key, bool& out);
// Milliseconds as a Duration.
Status ReadMillis(const boost::json::object& o, std::string_view key, Duration& out);
Status ReadOptionalMillis(const boost::json::object& o, std::string_view key,
                          std::optional<Duration>& out);
Status ReadStringArray(const boost::json::object& o, std::string_view key,
                       std::vector<std::string>& out);
// An RFC 3339 string.
Status ReadTime(const boost::json::object& o, std::string_view key, std::optional<TimePoint>& out);

}  // namespace jobtape::http
