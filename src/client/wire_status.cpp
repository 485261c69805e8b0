// Error replies to Status: the server's code, message and field.
#include <boost/json/parse.hpp>

#include "client/wire.hpp"

namespace jobtape::client {
namespace json = boost::json;
namespace {

std::string Str(const json::object& o, std::string_view key) {
  auto it = o.find(json::string_view(key.data(), key.size()));
  if (it == o.end() || !it->value().is_string()) return {};
  return std::string(it->value().get_string());
}

// The ErrorCode a status implies when the body names none we know.
ErrorCode CodeForStatus(int http_status) {
  switch (http_status) {
    case 400:
    case 405:
    case 415:
    case 422:
      return ErrorCode::kInvalidArgument;
    case 401:
      return ErrorCode::kUnauthenticated;
    case 403:
      return ErrorCode::kPermissionDenied;
    case 404:
      return ErrorCode::kNotFound;
    case 409:
      return ErrorCode::kConflict;
    case 413:
    case 431:
      return ErrorCode::kPayloadTooLarge;
    case 429:
    case 502:
    case 503:
    case 504:
      return ErrorCode::kUnavailable;
    default:
      return ErrorCode::kInternal;
  }
}

}  // namespace

std::optional<ErrorCode> ParseErrorCode(std::string_view name) {
  for (int i = static_cast<int>(ErrorCode::kInvalidArgument);
       i <= static_cast<int>(ErrorCode::kInternal); ++i) {
    if (ErrorCodeName(static_cast<ErrorCode>(i)) == name) return static_cast<ErrorCode>(i);
  }
  return std::nullopt;
}

Status StatusFromReply(int http_status, std::string_view body) {
  const ErrorCode by_status = CodeForStatus(http_status);
  boost::system::error_code ec;
  json::value doc = json::parse(json::string_view(body.data(), body.size()), ec);
  const json::value* error = nullptr;
  if (!ec && doc.is_object()) error = doc.get_object().if_contains("error");
  if (error == nullptr || !error->is_object()) {
    std::string start(body.substr(0, 200));
    for (char& c : start) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    return Status(by_status, "HTTP " + std::to_string(http_status) +
                                 (start.empty() ? std::string() : ": " + start));
  }
  const json::object& e = error->get_object();
  std::string code = Str(e, "code");
  std::string message = Str(e, "message");
  std::optional<ErrorCode> known = ParseErrorCode(code);
  if (!known && !code.empty()) message = code + ": " + message;
  ErrorCode c = known.value_or(by_status);
  std::string request_id = Str(e, "request_id");
  if (c == ErrorCode::kInternal && !request_id.empty()) {
    message += " (request id " + request_id + ")";
  }
  return Status(c, std::move(message), Str(e, "field"));
}

}  // namespace jobtape::client
