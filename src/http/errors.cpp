#include "http/errors.hpp"

#include "http/json_writer.hpp"

namespace jobtape::http {

int HttpStatusFor(ErrorCode code, Phase phase) {
  switch (code) {
    case ErrorCode::kOk:
      return 200;
    case ErrorCode::kInvalidArgument:
      return phase == Phase::kDecode ? 400 : 422;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kStaleLease:
      return 409;
    case ErrorCode::kConflict:
      return 409;
    case ErrorCode::kLimitExceeded:
      return 413;
    case ErrorCode::kPayloadTooLarge:
      return 413;
    case ErrorCode::kUnauthenticated:
      return 401;
    case ErrorCode::kPermissionDenied:
      return 403;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kFailedPrecondition:
      return 503;
    case ErrorCode::kInternal:
      return 500;
  }
  return 500;
}

std::string ErrorBody(std::string_view code, std::string_view message, std::string_view field,
                      std::string_view request_id) {
  JsonWriter w;
  w.BeginObject().Key("error").BeginObject();
  w.Key("code").String(code);
  w.Key("message").String(message);
  if (!field.empty()) w.Key("field").String(field);
  if (!request_id.empty()) w.Key("request_id").String(request_id);
  w.EndObject().EndObject();
  return w.Release();
}

Response ErrorResponse(const Status& status, Phase phase, std::string_view request_id) {
  if (status.ok()) {
    return InternalErrorResponse(request_id);  // a bug: an error response for success
  }
  Response r = JsonResponse(
      HttpStatusFor(status.code(), phase),
      ErrorBody(ErrorCodeName(status.code()), status.message(), status.field(), request_id));
  if (status.code() == ErrorCode::kUnauthenticated) {
    r.SetHeader("WWW-Authenticate", "Bearer realm=\"jobtape\"");
  } else if (r.status == 503) {
    r.SetHeader("Retry-After", "1");
  }
  return r;
}

Response RouteNotFoundResponse(const Request& request) {
  return JsonResponse(404, ErrorBody(ErrorCodeName(ErrorCode::kNotFound),
                                     "no route for " + request.path, "", request.request_id));
}

Response MethodNotAllowedResponse(const Request& request, std::string allow) {
  Response r =
      JsonResponse(405, ErrorBody(kCodeMethodNotAllowed,
                                  std::string(MethodName(request.method)) + " is not allowed on " +
                                      request.path + " (allowed: " + allow + ")",
                                  "", request.request_id));
  r.SetHeader("Allow", std::move(allow));
  return r;
}

Response UnsupportedMediaTypeResponse(const Request& request, std::string_view expected) {
  return JsonResponse(
      415, ErrorBody(kCodeUnsupportedMediaType, "Content-Type must be " + std::string(expected),
                     "Content-Type", request.request_id));
}

Response InternalErrorResponse(std::string_view request_id) {
  return JsonResponse(
      500, ErrorBody(ErrorCodeName(ErrorCode::kInternal),
                     "internal error; quote the request id when reporting it", "", request_id));
}

}  // namespace jobtape::http
