// Reading pieces of a JSON text without re-serializing them.
//
// Payloads, results and event data belong to the user and must reach them
// exactly as sent: a round trip through boost::json::value (1.81) reads 0.1
// back as 1E-1 and integers beyond 64 bits as doubles. So the server stores,
// and the client hands back, such members as slices of the text they came in.
//
// The input must already have been parsed as JSON: these functions only skip
// over strings and brackets and do not re-validate. They never read past the
// end of the text, and answer nullopt where an unterminated string or bracket
// leaves no complete value to slice.
//
// Shared by jobtape_http and jobtape_client (neither links the other). Not in
// core only because matching an escaped key decodes it with Boost.JSON, and
// core links nothing.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jobtape::json_text {

// The text of member `key`'s value in the JSON object `object_text` (top
// level only; the last one when the key repeats, as boost::json keeps the
// last), or nullopt if the key is absent or the text is not an object. Keys
// written with escapes ("pay\u006coad") match their decoded form.
std::optional<std::string_view> RawMemberValue(std::string_view object_text, std::string_view key);

// The texts of the elements of the JSON array `array_text`, in order; nullopt
// if it is not an array.
std::optional<std::vector<std::string_view>> RawArrayElements(std::string_view array_text);

// The text without insignificant whitespace (outside strings); nothing else changes.
std::string CompactJson(std::string_view text);

}  // namespace jobtape::json_text
