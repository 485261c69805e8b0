#include "json_text/raw_text.hpp"

#include <gtest/gtest.h>

namespace jobtape::json_text {
namespace {

TEST(RawMemberValueTest, ReturnsTheValueTextVerbatim) {
  std::string_view text =
      R"( { "kind" : "k", "payload" : { "n" : 0.10, "a" : [1, "]}"] } , "x":1e400 } )";
  EXPECT_EQ(RawMemberValue(text, "kind").value_or("?"), "\"k\"");
  EXPECT_EQ(RawMemberValue(text, "payload").value_or("?"), R"({ "n" : 0.10, "a" : [1, "]}"] })");
  EXPECT_EQ(RawMemberValue(text, "x").value_or("?"), "1e400");
  EXPECT_FALSE(RawMemberValue(text, "n").has_value());  // only top-level members
  EXPECT_FALSE(RawMemberValue(text, "missing").has_value());
}

TEST(RawMemberValueTest, HandlesEscapesInKeysAndStrings) {
  std::string_view text = R"({"a\"b":"x\"}","pay\u006coad":[true,false,null]})";
  EXPECT_EQ(RawMemberValue(text, "a\"b").value_or("?"), R"("x\"}")");
  EXPECT_EQ(RawMemberValue(text, "payload").value_or("?"), "[true,false,null]");
}

TEST(RawMemberValueTest, LastDuplicateWinsLikeBoostJson) {
  EXPECT_EQ(RawMemberValue(R"({"p":1,"p":{"b":2}})", "p").value_or("?"), R"({"b":2})");
}

TEST(RawMemberValueTest, NonObjectsHaveNoMembers) {
  EXPECT_FALSE(RawMemberValue("[1]", "p").has_value());
  EXPECT_FALSE(RawMemberValue("{}", "p").has_value());
  EXPECT_FALSE(RawMemberValue("", "p").has_value());
}

TEST(RawArrayElementsTest, SplitsElements) {
  auto e = RawArrayElements(R"([ {"a":[1,2]} , "x,y" ,3,[], null ])");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(*e, (std::vector<std::string_view>{R"({"a":[1,2]})", R"("x,y")", "3", "[]", "null"}));
  EXPECT_TRUE(RawArrayElements("[]")->empty());
  EXPECT_FALSE(RawArrayElements("{}").has_value());
}

// The assertions of the client's former copy (client/json_text.cpp).
TEST(RawTextTest, RawMembersElementsAndCompact) {
  std::string_view doc = R"( { "a" : [1, {"x":"]}"}], "b":"s\"}", "c": 0.10 , "d":{} } )";
  EXPECT_EQ(RawMemberValue(doc, "a"), R"([1, {"x":"]}"}])");
  EXPECT_EQ(RawMemberValue(doc, "b"), R"("s\"}")");
  EXPECT_EQ(RawMemberValue(doc, "c"), "0.10");
  EXPECT_EQ(RawMemberValue(doc, "d"), "{}");
  EXPECT_FALSE(RawMemberValue(doc, "x").has_value());
  EXPECT_FALSE(RawMemberValue("[1]", "a").has_value());
  auto items = RawArrayElements(R"([ 1 , "a,b" , [2,3], {"k":[]} ])");
  ASSERT_TRUE(items.has_value());
  EXPECT_EQ(*items, (std::vector<std::string_view>{"1", R"("a,b")", "[2,3]", R"({"k":[]})"}));
  EXPECT_EQ(RawArrayElements("[]")->size(), 0u);
  EXPECT_EQ(CompactJson(R"( { "a b" : [ 1, 0.10 ] } )"), R"({"a b":[1,0.10]})");
}

}  // namespace
}  // namespace jobtape::json_text
