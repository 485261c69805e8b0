#include "http/json_body.hpp"

#include <string>

#include <gtest/gtest.h>

namespace jobtape::http {
namespace {

Status ParseStatus(std::string_view text, const HttpLimits& limits = {}) {
  auto r = ParseJson(text, limits);
  return r.ok() ? Status::Ok() : r.status();
}

std::string Nested(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

TEST(ParseJsonTest, AcceptsAnyJsonValue) {
  auto r = ParseJson(R"( {"a": [1, 2.5, "x", null, true], "b": {}} )", {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->at("a").as_array().size(), 5u);
  EXPECT_TRUE(ParseJson("42", {}).ok());
}

TEST(ParseJsonTest, MalformedJsonIsInvalidArgumentWithOffset) {
  for (const char* text : {"{", "{\"a\":}", "[1,]", "{\"a\":1,}", "{} x", "// c\n{}", "'a'",
                           "{a:1}", "[1] [2]", "nul"}) {
    Status s = ParseStatus(text);
    EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument) << text;
  }
  EXPECT_NE(ParseStatus("[1, x]").message().find("at byte 4"), std::string::npos)
      << ParseStatus("[1, x]").message();
}

TEST(ParseJsonTest, EmptyBodyIsInvalidArgument) {
  EXPECT_EQ(ParseStatus("").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(ParseStatus(" \r\n").code(), ErrorCode::kInvalidArgument);
}

TEST(ParseJsonTest, DepthIsLimited) {
  EXPECT_TRUE(ParseStatus(Nested(32)).ok());
  Status s = ParseStatus(Nested(33));
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(s.message().find("deeper than 32"), std::string::npos) << s.message();
  HttpLimits shallow;
  shallow.max_json_depth = 3;
  EXPECT_TRUE(ParseStatus(R"({"a":{"b":[1]}})", shallow).ok());
  EXPECT_FALSE(ParseStatus(R"({"a":{"b":[[1]]}})", shallow).ok());
}

TEST(ParseJsonTest, DeepNestingIsRefusedWithoutRecursingIntoIt) {
  // 100,000 levels would overflow a recursive parser's stack.
  EXPECT_EQ(ParseStatus(Nested(100'000)).code(), ErrorCode::kInvalidArgument);
}

TEST(ParseJsonTest, KeysPerObjectAreLimited) {
  HttpLimits limits;
  limits.max_object_keys = 3;
  EXPECT_TRUE(ParseStatus(R"({"a":1,"b":2,"c":3})", limits).ok());
  Status s = ParseStatus(R"({"x":{"y":[0,{"a":1,"b":2,"c":3,"d":4}]}})", limits);
  EXPECT_EQ(s.code(), ErrorCode::kPayloadTooLarge);
  EXPECT_EQ(s.field(), "x.y[1]");
}

TEST(ParseJsonTest, DefaultKeyLimitIsTenThousand) {
  std::string text = "{";
  for (int i = 0; i < 10'001; ++i)
    text += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":0";
  text += "}";
  EXPECT_EQ(ParseStatus(text).code(), ErrorCode::kPayloadTooLarge);
}

TEST(ParseJsonTest, StringAndKeyLengthAreLimited) {
  HttpLimits limits;
  limits.max_string_bytes = 5;
  EXPECT_TRUE(ParseStatus(R"({"abcde":"12345"})", limits).ok());
  Status value = ParseStatus(R"({"a":["ok","123456"]})", limits);
  EXPECT_EQ(value.code(), ErrorCode::kPayloadTooLarge);
  EXPECT_EQ(value.field(), "a[1]");
  EXPECT_EQ(ParseStatus(R"({"abcdef":1})", limits).code(), ErrorCode::kPayloadTooLarge);
  // Measured after unescaping: six escapes of one byte each.
  EXPECT_EQ(ParseStatus(R"(["\n\n\n\n\n\n"])", limits).code(), ErrorCode::kPayloadTooLarge);
  EXPECT_EQ(ParseStatus("\"" + std::string(100'001, 'x') + "\"").code(),
            ErrorCode::kPayloadTooLarge);
  EXPECT_TRUE(ParseStatus("\"" + std::string(100'000, 'x') + "\"").ok());
}

TEST(ParseJsonTest, InvalidUtf8IsRejected) {
  const char* invalid[] = {
      "\"\xff\"",              // never valid in UTF-8
      "\"\xc3\"",              // truncated sequence
      "\"\xc0\xaf\"",          // overlong '/'
      "\"\xe0\x80\xaf\"",      // overlong, three bytes
      "\"\xed\xa0\x80\"",      // an encoded surrogate (U+D800)
      "\"\xf4\x90\x80\x80\"",  // above U+10FFFF
      "{\"\xff\":1}",          // in a key
  };
  for (const char* text : invalid) {
    EXPECT_EQ(ParseStatus(text).code(), ErrorCode::kInvalidArgument) << text;
  }
  EXPECT_TRUE(ParseStatus("\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\"").ok());
}

TEST(ParseJsonTest, EscapedSurrogatesMustPair) {
  EXPECT_TRUE(ParseStatus(R"("\ud83d\ude00")").ok());
  EXPECT_EQ(ParseStatus(R"("\ud83d")").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(ParseStatus(R"("\ude00")").code(), ErrorCode::kInvalidArgument);
}

TEST(JsonContentTypeTest, AcceptsJsonWithUtf8Charset) {
  EXPECT_TRUE(IsJsonContentType("application/json"));
  EXPECT_TRUE(IsJsonContentType("Application/JSON"));
  EXPECT_TRUE(IsJsonContentType("application/json; charset=utf-8"));
  EXPECT_TRUE(IsJsonContentType("application/json;charset=\"UTF-8\""));
  EXPECT_TRUE(IsJsonContentType(" application/json ; foo=bar"));
}

TEST(JsonContentTypeTest, RejectsOtherTypesAndCharsets) {
  EXPECT_FALSE(IsJsonContentType(""));
  EXPECT_FALSE(IsJsonContentType("text/plain"));
  EXPECT_FALSE(IsJsonContentType("application/jsonx"));
  EXPECT_FALSE(IsJsonContentType("application/x-www-form-urlencoded"));
  EXPECT_FALSE(IsJsonContentType("application/json; charset=latin1"));
}

}  // namespace
}  // namespace jobtape::http
