// Reading JSON request bodies under the limits of R9.
//
// ParseJson accepts exactly RFC 8259 JSON in UTF-8: Boost.JSON rejects invalid
// UTF-8 (overlong forms and encoded surrogates included), comments and
// trailing commas by default, and stops at max_json_depth while parsing. A
// walk over the parsed value then enforces the member count per object and the
// byte length of every key and string. Duplicate keys are not an error: the
// last one wins, as in Boost.JSON and JavaScript (and RawMemberValue agrees).
//
// Thread-safety: pure functions.
#pragma once

#include <string_view>

#include <boost/json/value.hpp>

#include "core/status.hpp"
#include "http/http_limits.hpp"

namespace jobtape::http {

inline constexpr std::string_view kJsonContentType = "application/json";

// True for "application/json", any letter case, optionally with parameters,
// of which a charset must be utf-8.
bool IsJsonContentType(std::string_view content_type);

// Parses `text` as one JSON value. Errors (all Phase::kDecode), with `field`
// the JSON path of the offender where there is one ("jobs[2].payload.name"):
//   invalid_argument   empty body, malformed JSON or invalid UTF-8 (the message
//                      gives the byte offset), nesting deeper than max_json_depth
//   payload_too_large  an object with more than max_object_keys members, a key
//                      or string longer than max_string_bytes
Result<boost::json::value> ParseJson(std::string_view text, const HttpLimits& limits);

}  // namespace jobtape::http
