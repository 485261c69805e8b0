#include "http/json_writer.hpp"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

namespace jobtape::http {
namespace {

TEST(JsonWriterTest, WritesNestedContainersWithCommas) {
  JsonWriter w;
  w.BeginObject();
  w.Key("a").Int(-1);
  w.Key("b")
      .BeginArray()
      .Uint(18446744073709551615ull)
      .Bool(true)
      .Null()
      .BeginObject()
      .EndObject()
      .EndArray();
  w.Key("c").String("x");
  w.EndObject();
  EXPECT_EQ(w.str(), R"({"a":-1,"b":[18446744073709551615,true,null,{}],"c":"x"})");
}

TEST(JsonWriterTest, EscapesStrings) {
  JsonWriter w;
  w.String("q\"b\\n\n\r\t\b\f\x01\x1f/\x7f");
  EXPECT_EQ(w.str(), R"("q\"b\\n\n\r\t\b\f\u0001\u001f/)"
                     "\x7f\"");
}

TEST(JsonWriterTest, KeepsValidUtf8AndReplacesInvalid) {
  JsonWriter w;
  w.BeginArray();
  w.String("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
  w.String(
      "a\xff"
      "b\xc3");
  w.String("\xed\xa0\x80");  // encoded surrogate
  w.EndArray();
  EXPECT_EQ(w.str(),
            "[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\",\"a\\ufffdb\\ufffd\","
            "\"\\ufffd\\ufffd\\ufffd\"]");
}

TEST(JsonWriterTest, DoublesAreShortestAndFinite) {
  JsonWriter w;
  w.BeginArray()
      .Double(0.1)
      .Double(2.0)
      .Double(1.5e300)
      .Double(std::nan(""))
      .Double(std::numeric_limits<double>::infinity())
      .EndArray();
  EXPECT_EQ(w.str(), "[0.1,2,1.5e+300,null,null]");
}

TEST(JsonWriterTest, RawIsVerbatimAndEmptyIsNull) {
  JsonWriter w;
  w.BeginObject().Key("p").Raw(R"({"n": 0.10})").Key("q").Raw("").EndObject();
  EXPECT_EQ(w.str(), R"({"p":{"n": 0.10},"q":null})");
}

}  // namespace
}  // namespace jobtape::http
