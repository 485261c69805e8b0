// Live tape streams (R7) against the real server: SSE replay and resume with
// Last-Event-ID (exactly the missing events, once), the end after `final`,
// 204 for a finished tape, WebSocket delivery, and two watchers of one job
// while a worker appends 10,000 progress events - one never reads, the other
// gets every event and the worker is never held up.
#include <future>
#include <thread>

#include "api_fixture.hpp"
#include "stream_clients.hpp"

namespace jobtape::integration {
namespace {

namespace json = boost::json;

class StreamsTest : public ServerTest {
 protected:
  void SetUp() override { StartServer(); }

  // A running job with `progress` progress events; returns its lease.
  TestLease RunningJob(Api& api, int progress) {
    api.Submit("s");
    auto leases = LeasesOf(api.Post("/v1/claims", R"({"queues":["s"]})"));
    EXPECT_EQ(leases.size(), 1u);
    if (leases.empty()) return {};
    if (progress > 0) Append(api, leases[0], 1, progress, 0);
    return leases[0];
  }
  // Appends progress events first..last, each with `pad` bytes of message.
  static void Append(Api& api, const TestLease& lease, int first, int last, int pad) {
    std::string events;
    const std::string filler(static_cast<std::size_t>(pad), 'p');
    for (int i = first; i <= last; ++i) {
      events += (i == first ? "" : ",") + std::string(R"({"type":"progress","data":{"n":)") +
                std::to_string(i) + R"(,"message":")" + filler + "\"}}";
    }
    ApiReply r = api.Post(lease.Path("events"), lease.Body("\"events\":[" + events + "]"));
    EXPECT_EQ(r.status, 200) << r.body.substr(0, 300);
  }
  static std::string StreamPath(int64_t id) { return "/v1/jobs/" + std::to_string(id) + "/stream"; }
};

TEST_F(StreamsTest, SseResumesAfterLastEventIdWithExactlyTheMissingEvents) {
  Api api(port());
  TestLease lease = RunningJob(api, 8);  // seq 1 created, 2 started, 3..10 progress

  std::vector<std::string> ids;
  {
    SseClient first(port());
    ASSERT_TRUE(first.Open(StreamPath(lease.job_id)));
    ASSERT_EQ(first.status(), 200) << first.head();
    EXPECT_NE(first.head().find("text/event-stream"), std::string::npos);
    for (int i = 0; i < 4; ++i) {
      auto e = first.Next();
      ASSERT_TRUE(e.has_value());
      ids.push_back(e->id);
      json::value data = json::parse(e->data);
      EXPECT_EQ(data.at("seq").as_int64(), std::stoll(e->id));
      EXPECT_EQ(std::string(data.at("type").as_string()), e->event);
    }
  }  // dropped mid-stream after seq 4
  ASSERT_EQ(ids.back(), "4");
  Append(api, lease, 9, 10, 0);  // 11, 12 arrive while disconnected
  ASSERT_EQ(api.Post(lease.Path("complete"), lease.Body()).status, 200);  // 13 final

  SseClient again(port());
  ASSERT_TRUE(again.Open(StreamPath(lease.job_id), {{"Last-Event-ID", ids.back()}}));
  ASSERT_EQ(again.status(), 200);
  for (int seq = 5; seq <= 13; ++seq) {
    auto e = again.Next();
    ASSERT_TRUE(e.has_value()) << "missing seq " << seq;
    EXPECT_EQ(e->id, std::to_string(seq));
    EXPECT_EQ(e->event, seq == 13 ? "final" : "progress");
  }
  EXPECT_FALSE(again.Next().has_value());  // the stream ends after final...
  EXPECT_TRUE(again.ended());              // ...by closing, not by going quiet
  EXPECT_FALSE(again.timed_out());

  // ?after= works the same; a reconnect at the end of a finished tape is 204.
  SseClient by_query(port());
  ASSERT_TRUE(by_query.Open(StreamPath(lease.job_id) + "?after=12"));
  auto last = by_query.Next();
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->event, "final");
  SseClient finished(port());
  ASSERT_TRUE(finished.Open(StreamPath(lease.job_id), {{"Last-Event-ID", "13"}}));
  EXPECT_EQ(finished.status(), 204);

  SseClient beyond(port());
  ASSERT_TRUE(beyond.Open(StreamPath(lease.job_id) + "?after=99"));
  EXPECT_EQ(beyond.status(), 422);
  SseClient unknown(port());
  ASSERT_TRUE(unknown.Open(StreamPath(987654)));
  EXPECT_EQ(unknown.status(), 404);
}

TEST_F(StreamsTest, WebSocketDeliversTheSameEvents) {
  Api api(port());
  TestLease lease = RunningJob(api, 3);  // seq 1..5
  WsClient ws(port());
  ASSERT_TRUE(ws.Connect("/v1/jobs/" + std::to_string(lease.job_id) + "/ws?after=1"));
  for (int seq = 2; seq <= 5; ++seq) {
    auto m = ws.Read();
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(json::parse(*m).at("seq").as_int64(), seq);
  }
  ASSERT_EQ(api.Post(lease.Path("complete"), lease.Body()).status, 200);
  auto final = ws.Read();
  ASSERT_TRUE(final.has_value());
  EXPECT_EQ(json::parse(*final).at("type"), "final");
  EXPECT_FALSE(ws.Read().has_value());
  EXPECT_EQ(ws.close_code(), 1000);

  // Not an upgrade: a plain 400.
  Api plain(port());
  EXPECT_EQ(plain.Get("/v1/jobs/" + std::to_string(lease.job_id) + "/ws").status, 400);
}

TEST_F(StreamsTest, AStalledWatcherNeverHoldsUpTheWriterOrAnotherWatcher) {
  constexpr int kEvents = 10'000;
  constexpr int kPerCall = 100;
  Api api(port());
  TestLease lease = RunningJob(api, 0);  // seq 1 created, 2 started

  SseClient stalled(port(), kGuard, /*rcvbuf=*/4096);  // opens, then never reads
  ASSERT_TRUE(stalled.Open(StreamPath(lease.job_id)));
  SseClient reader(port());
  ASSERT_TRUE(reader.Open(StreamPath(lease.job_id)));

  auto received = std::async(std::launch::async, [&reader] {
    int64_t expected = 1;
    bool in_order = true;
    while (auto e = reader.Next()) {
      in_order = in_order && std::stoll(e->id) == expected;
      ++expected;
      if (e->event == "final") break;
    }
    return std::make_pair(expected - 1, in_order);
  });

  // ~1 KiB per event, ~10 MB in all: far more than the stalled watcher's
  // socket buffers hold, so its server-side subscription must fall behind.
  for (int first = 1; first <= kEvents; first += kPerCall) {
    Append(api, lease, first, first + kPerCall - 1, 1000);
  }
  ASSERT_EQ(api.Post(lease.Path("complete"), lease.Body()).status, 200);

  ASSERT_EQ(received.wait_for(kGuard), std::future_status::ready);
  auto [last_seq, in_order] = received.get();
  EXPECT_EQ(last_seq, kEvents + 3);  // created, started, 10,000 progress, final
  EXPECT_TRUE(in_order);

  // The stalled one fell back to catching up from the store instead of
  // holding the writer; nothing blocked on it.
  ApiReply metrics = api.Get("/metrics");
  std::size_t at = metrics.body.find("\njobtape_stream_catchups_total ");
  ASSERT_NE(at, std::string::npos);
  EXPECT_GE(std::stod(metrics.body.substr(at + 31)), 1.0) << metrics.body.substr(at, 60);
}

TEST(StreamKeepAliveTest, IdleStreamGetsKeepAliveComments) {
  TempDir dir;
  ServerProcess server(dir.path() + "/data", {"--stream-keepalive-ms", "50"});
  ASSERT_TRUE(server.WaitForListening()) << server.Output();
  Api api(server.port());
  int64_t id = api.Submit("idle");
  SseClient watcher(server.port());
  ASSERT_TRUE(watcher.Open("/v1/jobs/" + std::to_string(id) + "/stream"));
  ASSERT_TRUE(watcher.Next().has_value());  // created
  EXPECT_TRUE(watcher.WaitForComments(3));  // then keep-alives while nothing happens
}

}  // namespace
}  // namespace jobtape::integration
