// --payload JSON | @file | - handling.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "cli/payload_input.hpp"

namespace jobtape::cli {
namespace {

class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    char name[] = "/tmp/jobtape_payload_XXXXXX";
    int fd = mkstemp(name);
    EXPECT_GE(fd, 0);
    close(fd);
    path_ = name;
    std::ofstream(path_, std::ios::binary) << content;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(PayloadInput, InlineJsonIsKeptByteForByte) {
  std::istringstream in;
  auto p = ReadPayloadArg(R"({"w": 0.10, "n": 1e2})", in);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(*p, R"({"w": 0.10, "n": 1e2})");
  EXPECT_EQ(*ReadPayloadArg("42", in), "42");
  EXPECT_EQ(*ReadPayloadArg("\"text\"", in), "\"text\"");
}

TEST(PayloadInput, AtFileReadsTheFile) {
  TempFile file("{\"from\": \"file\"}\n");
  std::istringstream in;
  auto p = ReadPayloadArg("@" + file.path(), in);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(*p, "{\"from\": \"file\"}\n");
}

TEST(PayloadInput, DashReadsStandardInput) {
  std::istringstream in("[1, 2, 3]");
  auto p = ReadPayloadArg("-", in);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(*p, "[1, 2, 3]");
  std::istringstream in2("{}");
  EXPECT_EQ(*ReadPayloadArg("@-", in2), "{}");
}

TEST(PayloadInput, DoubleAtIsALiteralAt) {
  std::istringstream in;
  // "@@..." would be a JSON text starting with "@", which is not JSON: still refused,
  // but as JSON, not as a missing file.
  auto p = ReadPayloadArg("@@x", in);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("not valid JSON"), std::string::npos);
}

TEST(PayloadInput, ErrorsNameThePayload) {
  std::istringstream in("{broken");
  auto from_stdin = ReadPayloadArg("-", in);
  ASSERT_FALSE(from_stdin.ok());
  EXPECT_EQ(from_stdin.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(from_stdin.status().field(), "payload");

  auto missing = ReadPayloadArg("@/nonexistent/payload.json", in);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().field(), "payload");
  EXPECT_NE(missing.status().message().find("/nonexistent/payload.json"), std::string::npos);

  EXPECT_FALSE(ReadPayloadArg("not json", in).ok());
  EXPECT_FALSE(ReadPayloadArg("{} {}", in).ok());
}

TEST(PayloadInput, OversizedInputIsRefused) {
  std::istringstream in("\"" + std::string(kMaxPayloadInput + 10, 'x') + "\"");
  auto p = ReadPayloadArg("-", in);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), ErrorCode::kPayloadTooLarge);
}

}  // namespace
}  // namespace jobtape::cli
