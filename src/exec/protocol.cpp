#include "exec/protocol.hpp"

#include <boost/json/parse.hpp>

namespace jobtape::exec {

namespace {

constexpr std::string_view kProgress = "::progress";
constexpr std::string_view kResult = "::result";

bool IsSpace(char c) {
  return c == ' ' || c == '\t';
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back()))
    s.remove_suffix(1);
  return s;
}

// If `line` is `directive` followed by end-of-line or whitespace, stores the
// rest (untrimmed) in `rest`.
bool MatchDirective(std::string_view line, std::string_view directive, std::string_view& rest) {
  if (line.substr(0, directive.size()) != directive) return false;
  rest = line.substr(directive.size());
  return rest.empty() || IsSpace(rest.front());
}

OutputLine Malformed(Stream stream, std::string_view line) {
  return OutputLine{
      .type = OutputLine::Type::kLog, .stream = stream, .text = line, .malformed_directive = true};
}

OutputLine ParseProgress(std::string_view line, std::string_view rest) {
  rest = Trim(rest);
  int percent = 0;
  std::size_t i = 0;
  for (; i < rest.size() && rest[i] >= '0' && rest[i] <= '9'; ++i) {
    percent = percent * 10 + (rest[i] - '0');
    if (percent > 100) return Malformed(Stream::kStdout, line);
  }
  if (i == 0 || (i < rest.size() && !IsSpace(rest[i]))) return Malformed(Stream::kStdout, line);
  return OutputLine{.type = OutputLine::Type::kProgress,
                    .stream = Stream::kStdout,
                    .text = Trim(rest.substr(i)),
                    .percent = percent};
}

OutputLine ParseResult(std::string_view line, std::string_view rest, std::size_t max_depth) {
  std::string_view json = Trim(rest);
  if (json.empty()) return Malformed(Stream::kStdout, line);
  boost::json::parse_options opts;
  opts.max_depth = max_depth;
  boost::system::error_code ec;
  (void)boost::json::parse(json, ec, {}, opts);
  if (ec) return Malformed(Stream::kStdout, line);
  return OutputLine{.type = OutputLine::Type::kResult, .stream = Stream::kStdout, .text = json};
}

}  // namespace

std::string_view StreamName(Stream s) {
  return s == Stream::kStdout ? "stdout" : "stderr";
}

OutputLine ParseOutputLine(Stream stream, std::string_view line, std::size_t max_result_depth) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (stream == Stream::kStdout && line.substr(0, 2) == "::") {
    std::string_view rest;
    if (MatchDirective(line, kProgress, rest)) return ParseProgress(line, rest);
    if (MatchDirective(line, kResult, rest)) return ParseResult(line, rest, max_result_depth);
  }
  return OutputLine{.type = OutputLine::Type::kLog, .stream = stream, .text = line};
}

}  // namespace jobtape::exec
