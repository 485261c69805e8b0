#include "http/json_body.hpp"

#include <string>

#include <boost/json/error.hpp>
#include <boost/json/parse_options.hpp>
#include <boost/json/stream_parser.hpp>

#include "http/request.hpp"

namespace jobtape::http {
namespace json = boost::json;
namespace {

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

// A key as a field path component: the key itself, cut to a readable length.
std::string PathKey(std::string_view key) {
  constexpr std::size_t kMaxShown = 64;
  return key.size() <= kMaxShown ? std::string(key) : std::string(key.substr(0, kMaxShown)) + "...";
}

Status TooLong(std::size_t size, const HttpLimits& limits) {
  return Status::PayloadTooLarge("string of " + std::to_string(size) + " bytes, limit " +
                                 std::to_string(limits.max_string_bytes));
}

// Depth is already bounded by the parser, so the recursion is too.
Status CheckValue(const json::value& v, const HttpLimits& limits) {
  switch (v.kind()) {
    case json::kind::string:
      if (v.get_string().size() > limits.max_string_bytes) {
        return TooLong(v.get_string().size(), limits);
      }
      return Status::Ok();
    case json::kind::array: {
      const json::array& a = v.get_array();
      for (std::size_t i = 0; i < a.size(); ++i) {
        Status s = CheckValue(a[i], limits);
        if (!s.ok()) return s.WithFieldPrefix("[" + std::to_string(i) + "]");
      }
      return Status::Ok();
    }
    case json::kind::object: {
      const json::object& o = v.get_object();
      if (o.size() > limits.max_object_keys) {
        return Status::PayloadTooLarge("object with " + std::to_string(o.size()) +
                                       " members, limit " + std::to_string(limits.max_object_keys));
      }
      for (const json::key_value_pair& kv : o) {
        if (kv.key().size() > limits.max_string_bytes) return TooLong(kv.key().size(), limits);
        Status s = CheckValue(kv.value(), limits);
        if (!s.ok()) return s.WithFieldPrefix(PathKey(kv.key()));
      }
      return Status::Ok();
    }
    default:
      return Status::Ok();
  }
}

}  // namespace

bool IsJsonContentType(std::string_view content_type) {
  std::size_t semi = content_type.find(';');
  if (!EqualsIgnoreCase(TrimSpaces(content_type.substr(0, semi)), kJsonContentType)) return false;
  while (semi != std::string_view::npos) {
    std::string_view rest = content_type.substr(semi + 1);
    semi = rest.find(';');
    std::string_view param = TrimSpaces(rest.substr(0, semi));
    content_type = rest;
    std::size_t eq = param.find('=');
    if (eq == std::string_view::npos) continue;
    if (EqualsIgnoreCase(TrimSpaces(param.substr(0, eq)), "charset")) {
      std::string_view value = TrimSpaces(param.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      if (!EqualsIgnoreCase(value, "utf-8") && !EqualsIgnoreCase(value, "utf8")) return false;
    }
  }
  return true;
}

Result<json::value> ParseJson(std::string_view text, const HttpLimits& limits) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return Status::InvalidArgument("the body is empty; expected a JSON document");
  }
  json::parse_options options;
  options.max_depth = limits.max_json_depth;
  // The defaults, stated: strict RFC 8259 and UTF-8.
  options.allow_comments = false;
  options.allow_trailing_commas = false;
  options.allow_invalid_utf8 = false;
  json::stream_parser parser(json::storage_ptr(), options);
  json::error_code ec;
  std::size_t consumed = parser.write(text.data(), text.size(), ec);
  if (!ec) parser.finish(ec);
  if (ec) {
    if (ec == json::error::too_deep) {
      return Status::InvalidArgument("JSON nested deeper than " +
                                     std::to_string(limits.max_json_depth) + " levels");
    }
    return Status::InvalidArgument("malformed JSON at byte " + std::to_string(consumed) + ": " +
                                   ec.message());
  }
  json::value value = parser.release();
  JT_RETURN_IF_ERROR(CheckValue(value, limits));
  return value;
}

}  // namespace jobtape::http
