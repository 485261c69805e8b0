// Reading pieces of a JSON text without re-serializing them.
//
// Payloads, results and event data belong to the user and must reach them
// exactly as sent: Boost.JSON (1.81) reads 0.1 back as 1E-1 and integers
// beyond 64 bits as doubles, so the client takes such members as slices of
// the reply text instead. These functions assume a well-formed JSON text
// (the caller has parsed it already) and never read past its end.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jobtape::client {

// The text of member `key` of the object `object_text` (top level only), or
// nullopt when `object_text` is not an object or has no such member.
std::optional<std::string_view> RawMember(std::string_view object_text, std::string_view key);

// The texts of the elements of the array `array_text`, or nullopt if it is not an array.
std::optional<std::vector<std::string_view>> RawElements(std::string_view array_text);

// The text without insignificant whitespace (outside strings); nothing else changes.
std::string CompactJson(std::string_view text);

}  // namespace jobtape::client
