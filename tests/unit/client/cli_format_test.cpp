// The human output of the client commands, as text.
#include <gtest/gtest.h>

#include "cli/cli_format.hpp"

namespace jobtape::cli {
namespace {

const TimePoint kNow = FromMicros(1'700'000'000'000'000);

Event Ev(EventType type, std::string data, Seq seq = 1) {
  Event e;
  e.job_id = 1;
  e.seq = seq;
  e.type = type;
  e.at = kNow;
  e.attempt = 1;
  e.data = std::move(data);
  return e;
}

TEST(Table, AlignsColumnsWithoutTrailingBlanks) {
  Table t({"ID", "STATE", "KIND"});
  t.Add({"1", "succeeded", "resize"});
  t.Add({"1234", "queued", "x"});
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.Render(),
            "ID    STATE      KIND\n"
            "1     succeeded  resize\n"
            "1234  queued     x\n");
}

TEST(Table, CutsLongCellsAndNeutralisesControlCharacters) {
  Table t({"A", "B"});
  t.Add({std::string(100, 'x'), "a\tb\x1b[31m"});
  std::string out = t.Render();
  EXPECT_EQ(out.find('\x1b'), std::string::npos);
  EXPECT_EQ(out.find('\t'), std::string::npos);
  EXPECT_NE(out.find(std::string(Table::kMaxCell - 1, 'x') + "\u2026"), std::string::npos);
  EXPECT_EQ(out.find(std::string(Table::kMaxCell, 'x')), std::string::npos);
}

TEST(Table, CountsUtf8AsColumns) {
  Table t({"NAME", "N"});
  t.Add({"héllo", "1"});
  EXPECT_EQ(t.Render(), "NAME   N\nhéllo  1\n");
}

TEST(Format, Durations) {
  using std::chrono::milliseconds;
  EXPECT_EQ(FormatDuration(milliseconds(850)), "850ms");
  EXPECT_EQ(FormatDuration(milliseconds(12'345)), "12.3s");
  EXPECT_EQ(FormatDuration(milliseconds(245'000)), "4m05s");
  EXPECT_EQ(FormatDuration(milliseconds(7'620'000)), "2h07m");
  EXPECT_EQ(FormatDuration(milliseconds(273'600'000)), "3d04h");
  EXPECT_EQ(FormatDuration(milliseconds(-1500)), "-1.5s");
}

TEST(Format, Ago) {
  EXPECT_EQ(FormatAgo(kNow - std::chrono::seconds(5), kNow), "5.0s ago");
  EXPECT_EQ(FormatAgo(kNow - std::chrono::minutes(3), kNow), "3m00s ago");
  EXPECT_EQ(FormatAgo(kNow + std::chrono::hours(2), kNow), "in 2h00m");
  EXPECT_EQ(FormatAgo(kNow, kNow), "just now");
  EXPECT_EQ(FormatAgo(TimePoint{}, kNow), "-");
}

TEST(Format, ParseDuration) {
  EXPECT_EQ(ParseDuration("250ms", "delay")->count(), 250);
  EXPECT_EQ(ParseDuration("30s", "delay")->count(), 30'000);
  EXPECT_EQ(ParseDuration("5m", "delay")->count(), 300'000);
  EXPECT_EQ(ParseDuration("2h", "delay")->count(), 7'200'000);
  EXPECT_EQ(ParseDuration("1d", "delay")->count(), 86'400'000);
  EXPECT_EQ(ParseDuration("0", "delay")->count(), 0);
  for (const char* bad : {"", "5", "-5s", "5x", "s", "1.5s", "99999999999d"}) {
    auto d = ParseDuration(bad, "delay");
    EXPECT_FALSE(d.ok()) << bad;
    if (!d.ok()) {
      EXPECT_EQ(d.status().field(), "delay");
    }
  }
}

TEST(Format, DescribeEvents) {
  EXPECT_EQ(DescribeEvent(Ev(EventType::kCreated, R"({"queue":"q","kind":"k"})")),
            "created in queue q (kind k)");
  EXPECT_EQ(DescribeEvent(Ev(EventType::kStarted, R"({"attempt":2,"worker":"w1"})")),
            "started attempt 2 on w1");
  EXPECT_EQ(DescribeEvent(Ev(EventType::kProgress, R"({"percent":42,"message":"copying"})")),
            "progress 42% copying");
  EXPECT_EQ(DescribeEvent(Ev(EventType::kProgress, R"({"percent":12.5})")), "progress 12.5%");
  EXPECT_EQ(DescribeEvent(Ev(EventType::kLog, R"({"stream":"stderr","line":"oops\nmore"})")),
            "log [stderr] oops more");
  EXPECT_EQ(DescribeEvent(Ev(EventType::kAttemptFailed,
                             R"({"attempt":1,"error":{"code":"exit_status","message":"exit 3"},)"
                             R"("retry_at":"2023-11-14T22:13:22.000Z"})")),
            "attempt_failed attempt 1: exit_status: exit 3 (retry at 2023-11-14T22:13:22.000Z)");
  EXPECT_EQ(DescribeEvent(Ev(EventType::kCancelRequested, R"({"reason":"user","grace_ms":10})")),
            "cancel_requested (user)");
  EXPECT_EQ(DescribeEvent(Ev(EventType::kFinal, R"({"state":"succeeded","result":{"n":1}})")),
            R"(final succeeded result {"n":1})");
  EXPECT_EQ(DescribeEvent(Ev(EventType::kLog, "not json")), "log not json");
}

TEST(Format, FinalDetails) {
  auto failed = FinalDetails(
      Ev(EventType::kFinal, R"({"state":"failed","error":{"code":"boom","message":"it broke"}})"));
  EXPECT_EQ(failed, (std::vector<std::string>{"error: boom: it broke"}));
  auto ok = FinalDetails(Ev(EventType::kFinal, R"({"state":"succeeded","result":[1,2]})"));
  EXPECT_EQ(ok, (std::vector<std::string>{"result: [1,2]"}));
  auto cancelled = FinalDetails(Ev(EventType::kFinal, R"({"state":"cancelled","reason":"api"})"));
  EXPECT_EQ(cancelled, (std::vector<std::string>{"reason: api"}));
  EXPECT_TRUE(FinalDetails(Ev(EventType::kProgress, "{}")).empty());
}

TEST(Format, ProgressInfo) {
  auto p = ParseProgress(Ev(EventType::kProgress, R"({"percent":150,"message":"x"})"));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->percent, 100.0);  // clamped
  EXPECT_EQ(p->message, "x");
  auto none = ParseProgress(Ev(EventType::kProgress, R"({"message":"only text"})"));
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->percent.has_value());
  EXPECT_FALSE(ParseProgress(Ev(EventType::kLog, "{}")).has_value());
}

TEST(ProgressLine, BarPercentAndMessage) {
  EXPECT_EQ(RenderProgressLine(50.0, "half way", 80), "[############............]  50%  half way");
  EXPECT_EQ(RenderProgressLine(0.0, "", 80), "[........................]   0%");
  EXPECT_EQ(RenderProgressLine(100.0, "done", 80), "[########################] 100%  done");
  EXPECT_EQ(RenderProgressLine(std::nullopt, "waiting", 80),
            "[........................]  --%  waiting");
  EXPECT_EQ(RenderProgressLine(33.3, "", 80), "[########................]  33.3%");
}

TEST(ProgressLine, FitsTheWidth) {
  std::string line = RenderProgressLine(10.0, std::string(200, 'm'), 50);
  EXPECT_EQ(line.substr(0, 31), "[##......................]  10%");
  // 50 columns: the ellipsis is one column of three bytes.
  EXPECT_EQ(line.size(), 49u + 3u);
  EXPECT_EQ(line.substr(line.size() - 3), "\u2026");
  std::string narrow = RenderProgressLine(10.0, "msg", 20);
  EXPECT_LE(narrow.size(), 22u);
}

TEST(Outline, NestedDocument) {
  EXPECT_EQ(
      Outline(R"({"status":"ok","loops":{"reaper":{"cycle":3}},"list":[1,{"a":"b"}],"e":{}})"),
      "status: ok\nloops:\n  reaper:\n    cycle: 3\nlist:\n  - 1\n  -\n    a: b\ne: {}\n");
  EXPECT_EQ(Outline("plain text"), "plain text");
}

TEST(Health, LoopsTableStoreAndStreams) {
  std::string body =
      R"({"loops":[{"name":"dispatcher","cycle":12,"status":"ok","stalled":false,)"
      R"("age_ms":475,"interval_ms":1000,"last_error":null,"counts":{}},)"
      R"({"name":"reaper","cycle":3,"status":"stalled","stalled":true,"age_ms":4100,)"
      R"("interval_ms":1000,"last_error":"disk full","counts":{}}],)"
      R"("store":{"status":"ok","backend":"sqlite","schema_version":1},)"
      R"("open_streams":2,"status":"degraded"})";
  EXPECT_EQ(RenderHealth(body),
            "status: degraded\n"
            "LOOP        STATUS   CYCLE  AGE    INTERVAL  LAST ERROR\n"
            "dispatcher  ok       12     475ms  1.0s      -\n"
            "reaper      stalled  3      4.1s   1.0s      disk full\n"
            "store: ok (sqlite, schema 1)\n"
            "open streams: 2\n");
  EXPECT_EQ(RenderHealth(R"({"status":"ok"})"), "status: ok\n");
}

}  // namespace
}  // namespace jobtape::cli
