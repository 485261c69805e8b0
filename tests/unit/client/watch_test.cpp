// Client::Watch against scripted SSE streams: resuming with Last-Event-ID
// after drops, stalls and shutdown notices; each event delivered once, in
// order; permanent errors at once; bounded retries; stopping from outside.
#include <future>
#include <thread>

#include "http/json_writer.hpp"

#include "stub_server.hpp"

namespace jobtape::client::testing {
namespace {

using http::Method;

// One connection's part of a scripted stream: `after` is where the client
// asked to resume; `n` counts connections from 1.
using Script = std::function<asio::awaitable<void>(BodyWriter& w, int n, Seq after)>;

class WatchTest : public StubServerTest {
 protected:
  void Serve(Script script) {
    script_ = std::move(script);
    Route(Method::kGet, "/v1/jobs/{id}/stream", [this](Request& r) -> asio::awaitable<Response> {
      Record(r);
      int n = ++connections_;
      Seq after = 0;
      if (auto v = r.Header("Last-Event-ID")) {
        after = http::ParseLastEventId(*v).value_or(0);
      } else if (auto q = r.Query("after")) {
        after = std::stoll(std::string(*q));
      }
      if (r.Param("id") == "404") {
        co_return http::ErrorResponse(Status::NotFound("job 404 not found"), r);
      }
      if (after >= static_cast<Seq>(tape_.size())) {
        Response done;
        done.status = 204;  // as the real server: the tape is complete
        co_return done;
      }
      Script script = script_;
      co_return http::SseResponse([script, n, after](BodyWriter& w) -> asio::awaitable<void> {
        co_await script(w, n, after);
      });
    });
    Route(Method::kGet, "/v1/jobs/{id}/events", [this](Request& r) -> asio::awaitable<Response> {
      Seq after = std::stoll(std::string(r.Query("after").value_or("0")));
      http::JsonWriter w;
      w.BeginObject().Key("events").BeginArray();
      for (const Event& e : tape_) {
        if (e.seq > after) http::WriteEvent(w, e);
      }
      w.EndArray().Key("state").String("succeeded").Key("last_seq").Int(10).EndObject();
      co_return http::JsonResponse(200, w.Release());
    });
    Route(Method::kGet, "/v1/jobs/{id}", [this](Request&) -> asio::awaitable<Response> {
      Job job;
      job.id = 1;
      job.spec.kind = "k";
      job.state = JobState::kSucceeded;
      job.last_seq = static_cast<Seq>(tape_.size());
      co_return http::JsonResponse(200, http::EncodeJob(job));
    });
    Start();
  }

  // Sends tape events after+1 .. up_to (inclusive).
  asio::awaitable<bool> Send(BodyWriter& w, Seq after, Seq up_to) {
    for (Seq s = after + 1; s <= up_to && s <= static_cast<Seq>(tape_.size()); ++s) {
      if (!co_await w.Write(SseOf(tape_[s - 1]))) co_return false;
    }
    co_return true;
  }

  WatchOptions Fast() {
    WatchOptions o;
    o.initial_backoff = std::chrono::milliseconds(1);
    o.max_backoff = std::chrono::milliseconds(20);
    o.idle_timeout = std::chrono::seconds(10);
    o.on_reconnect = [this](int, std::chrono::milliseconds, const Status& why) {
      reconnects_.push_back(why);
    };
    return o;
  }

  // Watches job 1 from `after`, collecting the seqs delivered.
  Result<WatchResult> WatchJob(Seq after, const WatchOptions& options, JobId id = 1) {
    Client client(Options());
    return client.Watch(
        id, after, [this](const Event& e) { got_.push_back(e.seq); }, options);
  }

  std::vector<Seq> Range(Seq from, Seq to) {
    std::vector<Seq> v;
    for (Seq s = from; s <= to; ++s)
      v.push_back(s);
    return v;
  }

  std::vector<Event> tape_ = MakeTape(10);
  Script script_;
  std::atomic<int> connections_{0};
  std::vector<Seq> got_;
  std::vector<Status> reconnects_;
};

TEST_F(WatchTest, WholeTapeInOneConnection) {
  Serve([this](BodyWriter& w, int, Seq after) -> asio::awaitable<void> {
    co_await Send(w, after, 10);
  });
  auto r = WatchJob(0, Fast());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->state, JobState::kSucceeded);
  EXPECT_EQ(r->last_seq, 10);
  EXPECT_EQ(r->final_event.type, EventType::kFinal);
  EXPECT_EQ(got_, Range(1, 10));
  EXPECT_TRUE(reconnects_.empty());
}

TEST_F(WatchTest, DroppedConnectionResumesWithLastEventIdAndMissesNothing) {
  // Each connection delivers three events and then drops.
  Serve([this](BodyWriter& w, int, Seq after) -> asio::awaitable<void> {
    co_await Send(w, after, after + 3);
  });
  auto r = WatchJob(0, Fast());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(got_, Range(1, 10));
  EXPECT_EQ(connections_.load(), 4);
  auto requests = seen();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(requests[0].target, "/v1/jobs/1/stream");
  EXPECT_EQ(requests[0].last_event_id, "");
  EXPECT_EQ(requests[1].last_event_id, "3");
  EXPECT_EQ(requests[2].last_event_id, "6");
  EXPECT_EQ(requests[3].last_event_id, "9");
  EXPECT_EQ(reconnects_.size(), 3u);
}

TEST_F(WatchTest, StartsAfterTheGivenSeq) {
  Serve([this](BodyWriter& w, int, Seq after) -> asio::awaitable<void> {
    co_await Send(w, after, 10);
  });
  auto r = WatchJob(6, Fast());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(got_, Range(7, 10));
  EXPECT_EQ(seen()[0].target, "/v1/jobs/1/stream?after=6");
}

TEST_F(WatchTest, EventsSentTwiceAreDeliveredOnce) {
  // A server that ignores the resume point and replays from the start.
  Serve([this](BodyWriter& w, int n, Seq) -> asio::awaitable<void> {
    co_await Send(w, 0, n == 1 ? 5 : 10);
  });
  auto r = WatchJob(0, Fast());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(got_, Range(1, 10));
}

TEST_F(WatchTest, ShutdownNoticeReconnects) {
  Serve([this](BodyWriter& w, int n, Seq after) -> asio::awaitable<void> {
    if (n == 1) {
      if (!co_await Send(w, after, 4)) co_return;
      if (!co_await w.Write(http::FormatSseEvent("", "shutdown", R"({"reason":"restart"})"))) {
        co_return;
      }
      co_await Pause(w, std::chrono::seconds(5));  // the client must not wait for the close
      co_return;
    }
    co_await Send(w, after, 10);
  });
  auto r = WatchJob(0, Fast());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(got_, Range(1, 10));
  ASSERT_EQ(reconnects_.size(), 1u);
  EXPECT_NE(reconnects_[0].message().find("shutting down"), std::string::npos);
  EXPECT_EQ(seen()[1].last_event_id, "4");
}

TEST_F(WatchTest, StalledStreamIsAbandonedAfterTheIdleTimeout) {
  Serve([this](BodyWriter& w, int n, Seq after) -> asio::awaitable<void> {
    if (n == 1) {
      if (!co_await Send(w, after, 2)) co_return;
      co_await Pause(w, std::chrono::seconds(5));  // silent: no event, no keep-alive
      co_return;
    }
    co_await Send(w, after, 10);
  });
  WatchOptions o = Fast();
  o.idle_timeout = std::chrono::milliseconds(150);
  auto r = WatchJob(0, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(got_, Range(1, 10));
  EXPECT_EQ(reconnects_.size(), 1u);
}

TEST_F(WatchTest, KeepAliveCommentsKeepAQuietStreamOpen) {
  Serve([this](BodyWriter& w, int, Seq after) -> asio::awaitable<void> {
    if (!co_await Send(w, after, 3)) co_return;
    for (int i = 0; i < 5; ++i) {
      std::string comment;
      http::AppendSseComment(comment, "keep-alive");
      if (!co_await Pause(w, std::chrono::milliseconds(50))) co_return;
      if (!co_await w.Write(comment)) co_return;
    }
    co_await Send(w, 3, 10);
  });
  WatchOptions o = Fast();
  o.idle_timeout = std::chrono::milliseconds(150);
  auto r = WatchJob(0, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(got_, Range(1, 10));
  EXPECT_TRUE(reconnects_.empty());
}

TEST_F(WatchTest, UnknownJobFailsAtOnce) {
  Serve([](BodyWriter&, int, Seq) -> asio::awaitable<void> { co_return; });
  auto r = WatchJob(0, Fast(), /*id=*/404);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(reconnects_.empty());
}

TEST_F(WatchTest, GivesUpAfterMaxFailuresWithoutProgress) {
  Start();  // no stream route at all: every attempt is refused...
  Stop();   // ...and then nothing listens
  WatchOptions o = Fast();
  o.max_failures = 3;
  auto r = WatchJob(0, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(reconnects_.size(), 3u);
}

TEST_F(WatchTest, WatchingAFinishedTapeFromItsEndReturnsItsOutcome) {
  // The stream answers 204 (nothing after seq 10, ever); the final event is
  // read from the tape.
  Serve([this](BodyWriter& w, int, Seq after) -> asio::awaitable<void> {
    co_await Send(w, after, 10);
  });
  auto r = WatchJob(10, Fast());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->state, JobState::kSucceeded);
  EXPECT_EQ(r->last_seq, 10);
  EXPECT_EQ(r->final_event.data, R"({"state":"succeeded","attempt":1,"result":{"ok":true}})");
  EXPECT_TRUE(got_.empty());
  EXPECT_TRUE(reconnects_.empty());
}

TEST_F(WatchTest, ErrorEventFromTheServerEndsTheWatchWhenPermanent) {
  Serve([](BodyWriter& w, int, Seq) -> asio::awaitable<void> {
    co_await w.Write(http::FormatSseEvent(
        "", "error",
        R"({"type":"error","error":{"code":"permission_denied","message":"no"},"last_seq":0})"));
  });
  auto r = WatchJob(0, Fast());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(r.status().message(), "no");
}

TEST_F(WatchTest, StopTokenEndsAWaitingWatch) {
  std::promise<void> streaming;
  std::atomic<bool> told{false};
  Serve([&](BodyWriter& w, int, Seq after) -> asio::awaitable<void> {
    if (!co_await Send(w, after, 2)) co_return;
    if (!told.exchange(true)) streaming.set_value();
    co_await Pause(w, std::chrono::seconds(30));
  });
  std::stop_source stop;
  WatchOptions o = Fast();
  o.stop = stop.get_token();
  auto watching = std::async(std::launch::async, [&] { return WatchJob(0, o); });
  streaming.get_future().wait();
  auto begin = std::chrono::steady_clock::now();
  stop.request_stop();
  auto r = watching.get();
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(5));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(r.status().message(), "interrupted");
}

TEST(WatchBackoff, DoublesUpToTheCap) {
  WatchOptions o;
  o.initial_backoff = std::chrono::milliseconds(100);
  o.max_backoff = std::chrono::milliseconds(1000);
  EXPECT_EQ(WatchBackoff(o, 1).count(), 100);
  EXPECT_EQ(WatchBackoff(o, 2).count(), 200);
  EXPECT_EQ(WatchBackoff(o, 4).count(), 800);
  EXPECT_EQ(WatchBackoff(o, 5).count(), 1000);
  EXPECT_EQ(WatchBackoff(o, 1000).count(), 1000);
}

}  // namespace
}  // namespace jobtape::client::testing
