// JsonWriter: appends JSON text to a string, for response bodies.
//
// The encoders write with it instead of building boost::json values because
// stored payloads, results and event data are JSON texts that must go out
// exactly as the client sent them (Raw): a round trip through a parsed value
// would turn 0.1 into 1E-1, lose integers beyond 64 bits and print 1e400 as
// the invalid token Infinity. Strings are escaped, and invalid UTF-8 in them
// is replaced by U+FFFD so the output is always valid JSON.
//
// Thread-safety: none; one writer per response.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace jobtape::http {

class JsonWriter {
 public:
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  // The next value is this member's.
  JsonWriter& Key(std::string_view key);

  JsonWriter& String(std::string_view value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Uint(uint64_t value);
  // Shortest text that reads back as the same double; NaN and infinities as null.
  JsonWriter& Double(double value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();
  // A JSON text written verbatim. The caller vouches that it is valid JSON
  // (stores keep only validated JSON). Empty text is written as null.
  JsonWriter& Raw(std::string_view json_text);

  const std::string& str() const { return out_; }
  std::string Release() { return std::move(out_); }

 private:
  void BeforeValue();

  std::string out_;
  std::vector<bool> has_member_;  // per open container: something was written
  bool after_key_ = false;
};

// Appends `value` as a quoted JSON string to `out`.
void AppendJsonString(std::string& out, std::string_view value);

}  // namespace jobtape::http
