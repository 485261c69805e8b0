#include "http/json_fields.hpp"

#include <cmath>
#include <limits>

#include "http/rfc3339.hpp"

namespace jobtape::http {
namespace json = boost::json;
namespace {

Status WrongType(std::string_view key, std::string_view what) {
  return Status::InvalidArgument("must be " + std::string(what), std::string(key));
}

// Integral value of `v` if it is a number with no fractional part in [lo, hi].
std::optional<int64_t> IntegralValue(const json::value& v, int64_t lo, int64_t hi) {
  json::error_code ec;
  int64_t n = v.to_number<int64_t>(ec);
  if (ec || n < lo || n > hi) return std::nullopt;
  return n;
}

}  // namespace

Result<const json::object*> AsObject(const json::value& v) {
  if (!v.is_object()) return Status::InvalidArgument("must be a JSON object");
  return &v.get_object();
}

Status CheckKnownFields(const json::object& o, std::initializer_list<std::string_view> known) {
  for (const json::key_value_pair& kv : o) {
    bool found = false;
    for (std::string_view k : known)
      found = found || k == kv.key();
    if (!found) return Status::InvalidArgument("unknown field", std::string(kv.key()));
  }
  return Status::Ok();
}

const json::value* FindField(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v == nullptr || v->is_null() ? nullptr : v;
}

Status ReadString(const json::object& o, std::string_view key, std::string& out) {
  const json::value* v = FindField(o, key);
  if (v == nullptr) return Status::Ok();
  if (!v->is_string()) return WrongType(key, "a string");
  out.assign(v->get_string().data(), v->get_string().size());
  return Status::Ok();
}

Status ReadRequiredString(const json::object& o, std::string_view key, std::string& out) {
  if (FindField(o, key) == nullptr) {
    return Status::InvalidArgument("is required", std::string(key));
  }
  return ReadString(o, key, out);
}

Status ReadInt(const json::object& o, std::string_view key, int& out) {
  const json::value* v = FindField(o, key);
  if (v == nullptr) return Status::Ok();
  auto n = IntegralValue(*v, std::numeric_limits<int>::min(), std::numeric_limits<int>::max());
  if (!n) return WrongType(key, "an integer (32-bit)");
  out = static_cast<int>(*n);
  return Status::Ok();
}

Status ReadInt64(const json::object& o, std::string_view key, int64_t& out) {
  std::optional<int64_t> value;
  JT_RETURN_IF_ERROR(ReadOptionalInt64(o, key, value));
  if (value) out = *value;
  return Status::Ok();
}

Status ReadOptionalInt64(const json::object& o, std::string_view key, std::optional<int64_t>& out) {
  const json::value* v = FindField(o, key);
  if (v == nullptr) return Status::Ok();
  auto n =
      IntegralValue(*v, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max());
  if (!n) return WrongType(key, "an integer (64-bit)");
  out = *n;
  return Status::Ok();
}

Status ReadDouble(const json::object& o, std::string_view key, double& out) {
  const json::value* v = FindField(o, key);
  if (v == nullptr) return Status::Ok();
  if (!v->is_number()) return WrongType(key, "a number");
  json::error_code ec;
  double d = v->to_number<double>(ec);
  if (ec || !std::isfinite(d)) {
    return WrongType(key, "a finite number");
  }
  out = d;
  return Status::Ok();
}

Status ReadBool(const json::object& o, std::string_view key, bool& out) {
  const json::value* v = FindField(o, key);
  if (v == nullptr) return Status::Ok();
  if (!v->is_bool()) return WrongType(key, "true or false");
  out = v->get_bool();
  return Status::Ok();
}

Status ReadMillis(const json::object& o, std::string_view key, Duration& out) {
  std::optional<Duration> value;
  JT_RETURN_IF_ERROR(ReadOptionalMillis(o, key, value));
  if (value) out = *value;
  return Status::Ok();
}

Status ReadOptionalMillis(const json::object& o, std::string_view key,
                          std::optional<Duration>& out) {
  const json::value* v = FindField(o, key);
  if (v == nullptr) return Status::Ok();
  auto n = IntegralValue(*v, 0, kMaxMillis);
  if (!n) return WrongType(key, "a whole number of milliseconds, 0 to 10^12");
  out = std::chrono::milliseconds(*n);
  return Status::Ok();
}

Status ReadStringArray(const json::object& o, std::string_view key, std::vector<std::string>& out) {
  const json::value* v = FindField(o, key);
  if (v == nullptr) return Status::Ok();
  if (!v->is_array()) return WrongType(key, "an array of strings");
  std::vector<std::string> values;
  const json::array& a = v->get_array();
  values.reserve(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!a[i].is_string()) {
      return WrongType(std::string(key) + "[" + std::to_string(i) + "]", "a string");
    }
    values.emplace_back(a[i].get_string().data(), a[i].get_string().size());
  }
  out = std::move(values);
  return Status::Ok();
}

Status ReadTime(const json::object& o, std::string_view key, std::optional<TimePoint>& out) {
  const json::value* v = FindField(o, key);
  if (v == nullptr) return Status::Ok();
  if (!v->is_string()) return WrongType(key, "an RFC 3339 time string");
  std::optional<TimePoint> t = ParseRfc3339(std::string_view(v->get_string()));
  if (!t) return WrongType(key, "an RFC 3339 time such as \"2026-01-02T03:04:05Z\"");
  out = t;
  return Status::Ok();
}

}  // namespace jobtape::http
