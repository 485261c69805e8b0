#include "exec/protocol.hpp"

#include <gtest/gtest.h>

#include <string>

namespace jobtape::exec {
namespace {

using Type = OutputLine::Type;

TEST(Protocol, PlainLinesAreLogsWithTheirStream) {
  auto out = ParseOutputLine(Stream::kStdout, "hello world");
  EXPECT_EQ(out.type, Type::kLog);
  EXPECT_EQ(out.stream, Stream::kStdout);
  EXPECT_EQ(out.text, "hello world");
  EXPECT_FALSE(out.malformed_directive);
  auto err = ParseOutputLine(Stream::kStderr, "oops");
  EXPECT_EQ(err.type, Type::kLog);
  EXPECT_EQ(err.stream, Stream::kStderr);
  EXPECT_EQ(StreamName(err.stream), "stderr");
}

TEST(Protocol, ProgressWithAndWithoutMessage) {
  auto p = ParseOutputLine(Stream::kStdout, "::progress 42 resizing images");
  EXPECT_EQ(p.type, Type::kProgress);
  EXPECT_EQ(p.percent, 42);
  EXPECT_EQ(p.text, "resizing images");
  auto bare = ParseOutputLine(Stream::kStdout, "::progress 100");
  EXPECT_EQ(bare.type, Type::kProgress);
  EXPECT_EQ(bare.percent, 100);
  EXPECT_EQ(bare.text, "");
  auto zero = ParseOutputLine(Stream::kStdout, "::progress 0\r");  // CRLF output
  EXPECT_EQ(zero.type, Type::kProgress);
  EXPECT_EQ(zero.percent, 0);
}

TEST(Protocol, MalformedProgressIsLoggedAndFlagged) {
  for (const char* line : {"::progress", "::progress 101", "::progress -1", "::progress 4x2",
                           "::progress abc", "::progress 99999999999999999999"}) {
    auto p = ParseOutputLine(Stream::kStdout, line);
    EXPECT_EQ(p.type, Type::kLog) << line;
    EXPECT_TRUE(p.malformed_directive) << line;
    EXPECT_EQ(p.text, line);
  }
}

TEST(Protocol, OnlyExactDirectiveNamesAreDirectives) {
  auto p = ParseOutputLine(Stream::kStdout, "::progressive 10");
  EXPECT_EQ(p.type, Type::kLog);
  EXPECT_FALSE(p.malformed_directive);
  auto q = ParseOutputLine(Stream::kStdout, " ::progress 10");
  EXPECT_EQ(q.type, Type::kLog);
}

TEST(Protocol, DirectivesOnStderrAreJustLogs) {
  auto p = ParseOutputLine(Stream::kStderr, "::progress 50");
  EXPECT_EQ(p.type, Type::kLog);
  EXPECT_FALSE(p.malformed_directive);
  auto r = ParseOutputLine(Stream::kStderr, "::result {\"ok\":true}");
  EXPECT_EQ(r.type, Type::kLog);
}

TEST(Protocol, ResultCarriesValidatedJson) {
  auto r = ParseOutputLine(Stream::kStdout, "::result  {\"files\": [1, 2], \"ok\": true}  ");
  EXPECT_EQ(r.type, Type::kResult);
  EXPECT_EQ(r.text, "{\"files\": [1, 2], \"ok\": true}");
  auto scalar = ParseOutputLine(Stream::kStdout, "::result 42");
  EXPECT_EQ(scalar.type, Type::kResult);
  EXPECT_EQ(scalar.text, "42");
}

TEST(Protocol, InvalidResultJsonIsLoggedAndFlagged) {
  for (const char* line :
       {"::result", "::result {bad", "::result {\"a\":1} trailing", "::result 'single'"}) {
    auto r = ParseOutputLine(Stream::kStdout, line);
    EXPECT_EQ(r.type, Type::kLog) << line;
    EXPECT_TRUE(r.malformed_directive) << line;
    EXPECT_EQ(r.text, line);
  }
}

TEST(Protocol, ResultDepthIsLimited) {
  std::string ok =
      "::result " + std::string(kMaxResultDepth, '[') + std::string(kMaxResultDepth, ']');
  EXPECT_EQ(ParseOutputLine(Stream::kStdout, ok).type, Type::kResult);
  std::string deep =
      "::result " + std::string(kMaxResultDepth + 1, '[') + std::string(kMaxResultDepth + 1, ']');
  auto r = ParseOutputLine(Stream::kStdout, deep);
  EXPECT_EQ(r.type, Type::kLog);
  EXPECT_TRUE(r.malformed_directive);
  EXPECT_EQ(ParseOutputLine(Stream::kStdout, "::result [[[1]]]", 2).type, Type::kLog);
}

}  // namespace
}  // namespace jobtape::exec
