#include "http/handlers/handler_util.hpp"

#include <charconv>
#include <string>

#include "http/json_body.hpp"

namespace jobtape::http {

namespace {

std::optional<int64_t> ParseDecimal(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

Result<int64_t> PathId(const Request& request, std::string_view name) {
  std::string_view text = request.Param(name);
  std::optional<int64_t> value = ParseDecimal(text);
  if (!value || *value <= 0) {
    return Status::InvalidArgument("must be a positive integer", std::string(name));
  }
  return *value;
}

Status CheckKnownQuery(const Request& request, std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : request.query) {
    bool found = false;
    for (std::string_view k : known)
      found = found || k == key;
    if (!found) {
      std::string shown = key.size() > 64 ? key.substr(0, 64) + "..." : key;
      return Status::InvalidArgument("unknown query parameter", shown);
    }
  }
  return Status::Ok();
}

Status QueryInt(const Request& request, std::string_view name, std::optional<int64_t>& out) {
  std::optional<std::string_view> text = request.Query(name);
  if (!text) return Status::Ok();
  std::optional<int64_t> value = ParseDecimal(*text);
  if (!value) return Status::InvalidArgument("must be an integer", std::string(name));
  out = value;
  return Status::Ok();
}

Result<boost::json::value> ParseObjectBody(const Request& request, const ServerContext& ctx,
                                           bool allow_empty) {
  if (request.body.empty()) {
    if (allow_empty) return boost::json::value(boost::json::object());
    return Status::InvalidArgument("a JSON object body is required", "body");
  }
  Result<boost::json::value> parsed = ParseJson(request.body, ctx.settings.http_limits);
  if (!parsed.ok()) return parsed;
  if (!parsed->is_object()) return Status::InvalidArgument("must be a JSON object", "body");
  return parsed;
}

Response JsonReply(int status, JsonWriter& writer) {
  return JsonResponse(status, writer.Release());
}

Response DrainingResponse(const Request& request) {
  return ErrorResponse(Status::Unavailable("the server is shutting down"), request);
}

}  // namespace jobtape::http
