// Small pieces every API handler uses: reading path and query parameters,
// parsing a JSON body under the limits, answering JSON and errors.
//
// Conventions (the same as for bodies, json_fields.hpp): a parameter of the
// wrong syntax is invalid_argument at Phase::kDecode (400); a well-formed one
// out of range is left to core and the store (Phase::kApply, 422); unknown
// query parameters are refused so a typo is an error, not a silent default.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string_view>

#include <boost/json/value.hpp>

#include "core/status.hpp"
#include "http/errors.hpp"
#include "http/handlers/server_context.hpp"
#include "http/json_writer.hpp"
#include "http/request.hpp"

namespace jobtape::http {

// Path parameter `name` as a positive 64-bit id (job ids, attempts).
Result<int64_t> PathId(const Request& request, std::string_view name);

// invalid_argument naming the first query parameter not in `known`.
Status CheckKnownQuery(const Request& request, std::initializer_list<std::string_view> known);

// Query parameter `name` as a decimal integer; absent leaves `out` unchanged.
Status QueryInt(const Request& request, std::string_view name, std::optional<int64_t>& out);

// The body parsed as a JSON object under the configured limits. An empty body
// is an empty object when `allow_empty`, else invalid_argument.
Result<boost::json::value> ParseObjectBody(const Request& request, const ServerContext& ctx,
                                           bool allow_empty = false);

// A JSON response from a writer holding one complete document.
Response JsonReply(int status, JsonWriter& writer);

// 503 "the server is shutting down" (with Retry-After).
Response DrainingResponse(const Request& request);

}  // namespace jobtape::http
