// What `jobtape watch` prints in each mode, and its exit codes.
#include <gtest/gtest.h>

#include <sstream>

#include "cli/watch_display.hpp"

namespace jobtape::cli {
namespace {

const TimePoint kT = FromMicros(1'700'000'000'000'000);  // 2023-11-14T22:13:20.000Z

Event Ev(Seq seq, EventType type, std::string data, int attempt = 1) {
  return Event{7, seq, type, kT + std::chrono::milliseconds(seq), attempt, std::move(data)};
}

std::vector<Event> Tape() {
  return {Ev(1, EventType::kCreated, R"({"queue":"default","kind":"k"})", 0),
          Ev(2, EventType::kStarted, R"({"attempt":1,"worker":"w"})"),
          Ev(3, EventType::kProgress, R"({"percent":25,"message":"reading"})"),
          Ev(4, EventType::kLog, R"({"stream":"stdout","line":"hello"})"),
          Ev(5, EventType::kProgress, R"({"percent":100,"message":"done"})"),
          Ev(6, EventType::kFinal, R"({"state":"succeeded","attempt":1})")};
}

TEST(ExitCode, ByOutcome) {
  EXPECT_EQ(ExitCodeFor(JobState::kSucceeded), 0);
  EXPECT_EQ(ExitCodeFor(JobState::kFailed), 1);
  EXPECT_EQ(ExitCodeFor(JobState::kCancelled), 3);
  EXPECT_EQ(ExitCodeFor(JobState::kRunning), kExitError);
  EXPECT_EQ(kExitError, 2);
}

TEST(WatchDisplay, PlainModePrintsOneLinePerEvent) {
  std::ostringstream out;
  WatchDisplay d(out, DisplayMode::kPlain);
  for (const Event& e : Tape())
    d.OnEvent(e);
  d.Finish();
  EXPECT_EQ(out.str(),
            "2023-11-14T22:13:20.001Z  #1  created in queue default (kind k)\n"
            "2023-11-14T22:13:20.002Z  #2  started attempt 1 on w\n"
            "2023-11-14T22:13:20.003Z  #3  progress 25% reading\n"
            "2023-11-14T22:13:20.004Z  #4  log [stdout] hello\n"
            "2023-11-14T22:13:20.005Z  #5  progress 100% done\n"
            "2023-11-14T22:13:20.006Z  #6  final succeeded\n");
  EXPECT_EQ(out.str().find('\r'), std::string::npos);
  EXPECT_EQ(out.str().find('\x1b'), std::string::npos);
}

TEST(WatchDisplay, TerminalModeRedrawsTheBarAndPrintsLogsAboveIt) {
  std::ostringstream out;
  WatchDisplay d(out, DisplayMode::kTerminal, 60);
  for (const Event& e : Tape())
    d.OnEvent(e);
  d.Finish();
  const std::string clear = "\r\033[K";
  std::string s = out.str();
  // The log line is printed on a cleared line, then the bar comes back.
  EXPECT_NE(s.find(clear + "log [stdout] hello\n"), std::string::npos) << s;
  EXPECT_NE(s.find(clear + "[######..................]  25%  reading"), std::string::npos) << s;
  EXPECT_NE(s.find(clear + "[########################] 100%  done"), std::string::npos) << s;
  // After the final event the live line is gone: the output ends with a clear.
  EXPECT_EQ(s.substr(s.size() - clear.size()), clear);
  EXPECT_EQ(s.find("final"), std::string::npos);  // the caller prints the outcome
}

TEST(WatchDisplay, TerminalModeShowsReconnecting) {
  std::ostringstream out;
  WatchDisplay d(out, DisplayMode::kTerminal, 100);
  d.OnEvent(Tape()[2]);
  d.OnReconnect(1, std::chrono::milliseconds(200), Status::Unavailable("the stream broke: eof"));
  std::string s = out.str();
  EXPECT_NE(s.find("connection lost (the stream broke: eof); reconnecting in 200ms (attempt 1)"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("reconnecting · reading"), std::string::npos) << s;
}

TEST(WatchDisplay, JsonModeIsOneDocumentPerLine) {
  std::ostringstream out;
  WatchDisplay d(out, DisplayMode::kJson);
  d.OnEvent(Tape()[2]);
  d.OnReconnect(1, std::chrono::milliseconds(1), Status::Unavailable("x"));
  d.Finish();
  EXPECT_EQ(out.str(),
            R"({"job_id":7,"seq":3,"type":"progress","at":"2023-11-14T22:13:20.003Z",)"
            R"("at_ms":1700000000003,"attempt":1,"data":{"percent":25,"message":"reading"}})"
            "\n");
}

}  // namespace
}  // namespace jobtape::cli
