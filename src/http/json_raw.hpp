// Locating members of a JSON text without parsing it into values, so a
// payload can be stored exactly as the client wrote it (see json_writer.hpp
// for what a round trip through boost::json::value would change).
//
// The input must already have passed ParseJson: these functions only skip
// over strings and brackets and do not re-validate.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace jobtape::http {

// The text of member `key`'s value in the JSON object `object_text` (the last
// one when the key repeats, as boost::json keeps the last), or nullopt if the
// key is absent or the text is not an object. Keys written with escapes
// ("pay\u006coad") match their decoded form.
std::optional<std::string_view> RawMemberValue(std::string_view object_text, std::string_view key);

// The texts of the elements of the JSON array `array_text`, in order; nullopt
// if it is not an array.
std::optional<std::vector<std::string_view>> RawArrayElements(std::string_view array_text);

}  // namespace jobtape::http
