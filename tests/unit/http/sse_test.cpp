#include "http/sse.hpp"

#include <gtest/gtest.h>

namespace jobtape::http {
namespace {

TEST(SseTest, FormatsOneEvent) {
  EXPECT_EQ(FormatSseEvent("7", "progress", R"({"percent":50})"),
            "id: 7\nevent: progress\ndata: {\"percent\":50}\n\n");
}

TEST(SseTest, OmitsEmptyIdAndEvent) {
  EXPECT_EQ(FormatSseEvent("", "", "x"), "data: x\n\n");
}

TEST(SseTest, SplitsDataOnEveryLineBreak) {
  EXPECT_EQ(FormatSseEvent("", "", "a\nb\r\nc\rd"), "data: a\ndata: b\ndata: c\ndata: d\n\n");
  // A trailing break is an empty last line, so the client gets it back.
  EXPECT_EQ(FormatSseEvent("", "", "a\n"), "data: a\ndata: \n\n");
  EXPECT_EQ(FormatSseEvent("", "", "\r\n\r\n"), "data: \ndata: \ndata: \n\n");
  // Leading spaces survive: the client strips only the one after the colon.
  EXPECT_EQ(FormatSseEvent("", "", "  x"), "data:   x\n\n");
}

TEST(SseTest, EmptyDataStillDispatches) {
  EXPECT_EQ(FormatSseEvent("1", "", ""), "id: 1\ndata: \n\n");
}

TEST(SseTest, IdAndEventCannotBreakTheFrame) {
  EXPECT_EQ(FormatSseEvent("1\n2", "fi\rnal\n", "x"), "id: 12\nevent: final\ndata: x\n\n");
  EXPECT_EQ(FormatSseEvent(std::string_view("4\0"
                                            "2",
                                            3),
                           "", "x"),
            "id: 42\ndata: x\n\n");
}

TEST(SseTest, AppendsToAnExistingBuffer) {
  std::string out = "x";
  AppendSseEvent(out, "1", "log", "l");
  EXPECT_EQ(out, "xid: 1\nevent: log\ndata: l\n\n");
}

TEST(SseTest, CommentsAndRetry) {
  std::string out;
  AppendSseComment(out, "keep-alive");
  AppendSseComment(out, "two\nlines");
  AppendSseRetry(out, std::chrono::milliseconds(1500));
  EXPECT_EQ(out, ": keep-alive\n\n: two\n: lines\n\nretry: 1500\n\n");
}

TEST(SseTest, ParsesLastEventId) {
  EXPECT_EQ(ParseLastEventId("42"), 42);
  EXPECT_EQ(ParseLastEventId(" 0 "), 0);
  EXPECT_FALSE(ParseLastEventId("").has_value());
  EXPECT_FALSE(ParseLastEventId("-1").has_value());
  EXPECT_FALSE(ParseLastEventId("+1").has_value());
  EXPECT_FALSE(ParseLastEventId("4x").has_value());
  EXPECT_FALSE(ParseLastEventId("99999999999999999999").has_value());
}

TEST(SseTest, ResponseHasStreamHeaders) {
  Response r = SseResponse([](BodyWriter&) -> boost::asio::awaitable<void> { co_return; });
  EXPECT_EQ(r.content_type, "text/event-stream");
  EXPECT_EQ(r.Header("Cache-Control").value_or(""), "no-cache");
  EXPECT_TRUE(static_cast<bool>(r.stream));
}

}  // namespace
}  // namespace jobtape::http
