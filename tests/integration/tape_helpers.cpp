#include "tape_helpers.hpp"

#include <gtest/gtest.h>

#include "api_fixture.hpp"
#include "stream_clients.hpp"

namespace jobtape::integration {

namespace json = boost::json;

TapeEvent ToTapeEvent(const json::value& v) {
  const json::object& o = v.as_object();
  TapeEvent t;
  t.seq = o.at("seq").as_int64();
  t.type = std::string(o.at("type").as_string());
  t.attempt = static_cast<int>(o.at("attempt").as_int64());
  if (o.contains("data") && o.at("data").is_object()) t.data = o.at("data").as_object();
  return t;
}

std::vector<TapeEvent> OfType(const std::vector<TapeEvent>& tape, const std::string& type) {
  std::vector<TapeEvent> out;
  for (const TapeEvent& e : tape) {
    if (e.type == type) out.push_back(e);
  }
  return out;
}

std::vector<TapeEvent> StoredTape(uint16_t port, int64_t id) {
  Api api(port);
  ApiReply r = api.Get("/v1/jobs/" + std::to_string(id) + "/events?limit=10000");
  std::vector<TapeEvent> tape;
  if (r.status != 200) return tape;
  for (const auto& e : r.json.at("events").as_array())
    tape.push_back(ToTapeEvent(e));
  return tape;
}

std::vector<TapeEvent> WaitForFinal(uint16_t port, int64_t id) {
  SseClient sse(port);
  EXPECT_TRUE(sse.Open("/v1/jobs/" + std::to_string(id) + "/stream"));
  std::vector<TapeEvent> tape;
  while (auto e = sse.Next()) {
    if (e->event == "shutdown") break;
    tape.push_back(ToTapeEvent(json::parse(e->data)));
    if (tape.back().type == "final") break;
  }
  EXPECT_FALSE(tape.empty());
  if (tape.empty()) return tape;
  EXPECT_EQ(tape.back().type, "final") << "job " << id << " never ended";
  for (std::size_t i = 0; i < tape.size(); ++i)
    EXPECT_EQ(tape[i].seq, static_cast<int64_t>(i + 1)) << "gap in the tape of job " << id;
  EXPECT_FALSE(sse.Next().has_value()) << "an event after final";
  auto stored = StoredTape(port, id);
  EXPECT_EQ(stored.size(), tape.size());
  EXPECT_EQ(OfType(stored, "final").size(), 1u);
  return tape;
}

std::string WaitForLogLine(uint16_t port, int64_t id, const std::string& prefix) {
  SseClient sse(port);
  EXPECT_TRUE(sse.Open("/v1/jobs/" + std::to_string(id) + "/stream"));
  while (auto e = sse.Next()) {
    if (e->event == "shutdown") break;
    TapeEvent t = ToTapeEvent(json::parse(e->data));
    if (t.type == "final") break;
    if (t.type != "log") continue;
    std::string line(t.data.at("line").as_string());
    if (line.rfind(prefix, 0) == 0) return line.substr(prefix.size());
  }
  return {};
}

void ExpectRetriedOnceThenSucceeded(const std::vector<TapeEvent>& tape) {
  auto failures = OfType(tape, "attempt_failed");
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].attempt, 1);
  EXPECT_EQ(failures[0].data.at("error").at("code"), "exit_status");
  EXPECT_EQ(OfType(tape, "started").size(), 2u);
  EXPECT_EQ(tape.back().data.at("state"), "succeeded");
  EXPECT_EQ(tape.back().attempt, 2);
}

void ExpectFailedWithoutRetry(const std::vector<TapeEvent>& tape) {
  EXPECT_EQ(OfType(tape, "started").size(), 1u);
  EXPECT_EQ(tape.back().data.at("state"), "failed");
}

}  // namespace jobtape::integration
