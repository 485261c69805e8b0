// SSE framing on the client side, fed in arbitrary pieces.
#include <gtest/gtest.h>

#include "client/sse_parser.hpp"

namespace jobtape::client {
namespace {

// A parser that keeps what it dispatches.
struct Collector {
  std::vector<SseEvent> events;
  SseParser parser{[this](const SseEvent& e) { events.push_back(e); }};
  Collector& Feed(const std::vector<std::string>& pieces) {
    for (const std::string& p : pieces)
      parser.Feed(p);
    return *this;
  }
};

std::vector<SseEvent> ParseAll(const std::vector<std::string>& pieces) {
  Collector c;
  return c.Feed(pieces).events;
}

TEST(SseParser, ParsesIdEventAndMultiLineData) {
  auto events = ParseAll({"id: 3\nevent: progress\ndata: {\"a\":1,\ndata: \"b\":2}\n\n"});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].id, "3");
  EXPECT_EQ(events[0].event, "progress");
  EXPECT_EQ(events[0].data, "{\"a\":1,\n\"b\":2}");
}

TEST(SseParser, EveryLineEndingAndEverySplitPointGivesTheSameEvents) {
  const std::string stream =
      ": keep-alive\r\n\r\nid: 1\r\nevent: created\r\ndata: x\r\n\r\n"
      "id: 2\revent: log\rdata: y\r\rid: 3\nevent: final\ndata: z\n\n";
  for (std::size_t split = 0; split <= stream.size(); ++split) {
    std::vector<SseEvent> events = ParseAll({stream.substr(0, split), stream.substr(split)});
    ASSERT_EQ(events.size(), 3u) << "split at " << split;
    EXPECT_EQ(events[0].id, "1");
    EXPECT_EQ(events[1].event, "log");
    EXPECT_EQ(events[1].data, "y");
    EXPECT_EQ(events[2].id, "3");
    EXPECT_EQ(events[2].data, "z");
  }
}

TEST(SseParser, ByteByByte) {
  const std::string stream = "id: 7\nevent: progress\ndata: {}\n\n";
  std::vector<std::string> bytes;
  for (char c : stream)
    bytes.emplace_back(1, c);
  auto events = ParseAll(bytes);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].id, "7");
}

TEST(SseParser, CommentsAndRetryAreNotEvents) {
  Collector c;
  c.Feed({": hello\n\nretry: 2500\n\n:ping\n\n"});
  EXPECT_TRUE(c.events.empty());
  EXPECT_EQ(c.parser.comments(), 2u);
  ASSERT_TRUE(c.parser.retry().has_value());
  EXPECT_EQ(c.parser.retry()->count(), 2500);
}

TEST(SseParser, EventWithoutDataIsDroppedAndIdPersists) {
  Collector c;
  c.Feed({"id: 4\nevent: x\n\ndata: d\n\n"});
  ASSERT_EQ(c.events.size(), 1u);
  EXPECT_EQ(c.events[0].id, "4");  // the id stays in effect
  EXPECT_EQ(c.events[0].event, "message");
  EXPECT_EQ(c.parser.last_event_id(), "4");
}

TEST(SseParser, FieldWithoutColonAndNoSpaceAfterColon) {
  auto events = ParseAll({"data\ndata:x\n\n"});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "\nx");
}

TEST(SseParser, LeadingByteOrderMarkIsIgnored) {
  auto events =
      ParseAll({"\xEF\xBB\xBF"
                "data: a\n\n"});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "a");
}

}  // namespace
}  // namespace jobtape::client
