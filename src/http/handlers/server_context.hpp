// ServerContext: what the API handlers share - the store, the engine parts,
// the clock, metrics and the API settings - plus the server-wide shutdown
// flag and the count of open streams.
//
// Handlers are thin (decode -> one store or engine call -> encode); every
// piece of state they need lives here, so a handler file holds no globals.
//
// Thread-safety: the referenced objects are thread-safe; `settings` is set
// before serving and read-only afterwards; `draining` and `streams` may be
// used from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "core/clock.hpp"
#include "engine/dispatcher.hpp"
#include "engine/snapshot.hpp"
#include "engine/stream_hub.hpp"
#include "http/handlers/metrics.hpp"
#include "http/http_limits.hpp"
#include "http/kind_policy.hpp"
#include "store/store.hpp"

namespace jobtape::http {

// A lease the worker did not size itself: long enough for a heartbeat every
// 10 s to survive two lost ones.
inline constexpr Duration kDefaultLease = std::chrono::seconds(30);
// Longest long poll of POST /v1/claims: below common proxy and client read
// timeouts (60 s), so a waiting worker is answered before anything cuts it off.
// Larger wait_ms values are clamped to it.
inline constexpr std::chrono::milliseconds kDefaultMaxClaimWait = std::chrono::seconds(55);
// A comment on an idle SSE stream this often keeps proxies and load balancers
// (which commonly drop connections idle for 30-60 s) from closing it.
inline constexpr std::chrono::milliseconds kDefaultStreamKeepAlive = std::chrono::seconds(15);
// A running job asked to cancel gets this long to stop before the reaper
// ends it (the worker sees cancel_requested at its next heartbeat).
inline constexpr Duration kDefaultCancelGrace = std::chrono::seconds(10);

struct ApiSettings {
  Duration default_lease = kDefaultLease;
  std::chrono::milliseconds max_claim_wait = kDefaultMaxClaimWait;
  std::chrono::milliseconds stream_keepalive = kDefaultStreamKeepAlive;
  Duration cancel_grace = kDefaultCancelGrace;
  std::size_t stream_capacity = engine::kDefaultStreamCapacity;
  HttpLimits http_limits;  // body parsing (the server enforces the byte limits)
};

// Counts open SSE and WebSocket streams (a /metrics gauge), and lets shutdown
// wait for them to say goodbye before the server closes connections.
class StreamTracker {
 public:
  void Opened() {
    std::lock_guard<std::mutex> lock(mu_);
    ++open_;
  }
  void Closed() {
    std::lock_guard<std::mutex> lock(mu_);
    --open_;
    cv_.notify_all();
  }
  int64_t open() const {
    std::lock_guard<std::mutex> lock(mu_);
    return open_;
  }
  // True once no stream is open; false if `timeout` passed first.
  bool WaitForNone(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [this] { return open_ == 0; });
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int64_t open_ = 0;  // GUARDED_BY(mu_)
};

// Counts one stream as open in a StreamTracker for as long as it lives (the
// response holds it until the connection is closed - for a WebSocket, after
// the closing handshake - so shutdown can wait for goodbyes).
class StreamHold {
 public:
  explicit StreamHold(StreamTracker& tracker) : tracker_(tracker) { tracker_.Opened(); }
  ~StreamHold() { tracker_.Closed(); }
  StreamHold(const StreamHold&) = delete;
  StreamHold& operator=(const StreamHold&) = delete;

 private:
  StreamTracker& tracker_;
};

struct ServerContext {
  store::Store& store;
  engine::Dispatcher& dispatcher;
  engine::StreamHub& hub;
  engine::SnapshotRegistry& snapshots;
  Clock& clock;
  Metrics& metrics;
  ApiSettings settings;
  TimePoint started_at;  // when the server started (health of loops not yet run)
  // Set when shutdown begins: new submissions and claims get 503, streams
  // end with a `shutdown` event, /health/ready turns 503.
  std::atomic<bool> draining{false};
  StreamTracker streams;
  // Set when the built-in executor runs (kinds_dir configured), else null.
  const KindPolicy* kinds = nullptr;
  // The executor's readings for /metrics; empty when it does not run.
  std::function<ExecutorReading()> executor_reading;
  // Called after a schedule was created or replaced (PUT /v1/schedules/{name}),
  // so the scheduler looks at its next fire now (Scheduler::Wake). May be empty.
  std::function<void()> schedules_changed;
};

}  // namespace jobtape::http
