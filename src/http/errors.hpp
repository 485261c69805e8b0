// Errors to HTTP: the one place where an ErrorCode becomes an HTTP status, and
// the one shape of every error body:
//   {"error":{"code":"not_found","message":"...","field":"priority","request_id":"..."}}
// ("field" only when the error is about one request field).
//
// The mapping (HttpStatusFor):
//   invalid_argument     400 when the request could not be decoded (malformed
//                        JSON, a field of the wrong type, an unknown field: Phase::kDecode);
//                        422 when it was well-formed but broke a rule (a range,
//                        the name alphabet, a store check: Phase::kApply)
//   not_found            404
//   stale_lease          409
//   conflict             409
//   limit_exceeded       413  the request asks for more than a configured count
//                             (batch size, events per append): make it smaller.
//                             Retrying unchanged never helps, so not 429.
//   payload_too_large    413
//   unauthenticated      401  with WWW-Authenticate: Bearer
//   permission_denied    403
//   unavailable          503  with Retry-After
//   failed_precondition  503  the server's own state (schema newer than the
//                             binary): the client can do nothing but wait
//   internal             500
// No ErrorCode maps to 429: should a rate limit ever be added it gets its own
// code, so clients can tell "retry later" from "make it smaller".
//
// Protocol-level refusals produced before any handler runs use the same body
// shape; two of them have codes of their own that only HTTP produces:
//   unknown route 404 not_found · wrong method 405 method_not_allowed (with Allow)
//   wrong Content-Type 415 unsupported_media_type · headers too large 431
//   payload_too_large · connection cap 503 unavailable.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.hpp"
#include "http/request.hpp"

namespace jobtape::http {

// How far a request got when it failed; only invalid_argument depends on it.
enum class Phase : uint8_t {
  kDecode,  // reading the request: syntax and types
  kApply,   // validating and executing a well-formed request (core, engine, store)
};

inline constexpr std::string_view kCodeMethodNotAllowed = "method_not_allowed";
inline constexpr std::string_view kCodeUnsupportedMediaType = "unsupported_media_type";

int HttpStatusFor(ErrorCode code, Phase phase = Phase::kApply);

// {"error":{...}} for any code name.
std::string ErrorBody(std::string_view code, std::string_view message, std::string_view field,
                      std::string_view request_id);

// The response for a non-OK status (adds WWW-Authenticate / Retry-After where due).
Response ErrorResponse(const Status& status, Phase phase, std::string_view request_id);
inline Response ErrorResponse(const Status& status, const Request& request,
                              Phase phase = Phase::kApply) {
  return ErrorResponse(status, phase, request.request_id);
}

Response RouteNotFoundResponse(const Request& request);
// `allow`: "GET, POST".
Response MethodNotAllowedResponse(const Request& request, std::string allow);
Response UnsupportedMediaTypeResponse(const Request& request, std::string_view expected);
// What the handler boundary answers for an exception: no detail but the request
// id, which the server also logs with the exception's text.
Response InternalErrorResponse(std::string_view request_id);

}  // namespace jobtape::http
