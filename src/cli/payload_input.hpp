// Where `jobtape submit --payload` takes its JSON from: the argument itself,
// "@path" (a file), or "-" (standard input). "@-" is standard input too, and
// "@@..." is the literal text "@..." for the rare payload that starts with @.
//
// The text must be one valid JSON value; it is sent byte for byte (numbers
// are not rewritten). Errors name the field "payload".
//
// Thread-safety: pure apart from reading the file or stream it is given.
#pragma once

#include <istream>
#include <string>
#include <string_view>

#include "core/status.hpp"

namespace jobtape::cli {

// Files or streams larger than this are refused before reading them whole:
// the server's default payload limit is 256 KiB; 16 MiB leaves room for a
// raised limit without letting a wrong path (a disk image) eat the memory.
inline constexpr std::size_t kMaxPayloadInput = 16u * 1024 * 1024;

// Resolves `arg` to the payload text. `in` is standard input.
Result<std::string> ReadPayloadArg(std::string_view arg, std::istream& in);

// kInvalidArgument (field "payload") unless `text` is one well-formed JSON value.
Status CheckPayloadJson(std::string_view text);

}  // namespace jobtape::cli
