// StreamHub: fans committed tape events out to the watchers of each job (R7).
//
// The store reports committed events (StoreObserver::OnEvents, on its writer
// thread); the hub hands each event to every Subscription of that job. Handing
// over never waits: a subscription whose bounded buffer is full switches to
// catching up from the store by itself (see subscription.hpp), so neither the
// writer nor any other watcher is ever held up by a slow one.
//
// Lifecycle: construct, register with the store (`store.AddObserver(&hub)`,
// by the owner, before the store is used). At shutdown call CloseAll(reason)
// before destroying the store; destroy the hub after the store (the store
// keeps a pointer to its observers). Subscriptions may outlive the hub.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/event.hpp"
#include "core/status.hpp"
#include "engine/subscription.hpp"
#include "store/store.hpp"

namespace jobtape::engine {

namespace detail {
struct HubCore;
}

// Events buffered per watcher: enough to absorb a burst of log lines between
// two socket writes; 10,000 watchers x 128 x ~200 B is ~256 MB in the worst
// case, reached only by watchers slower than their jobs (which then catch up
// from the store rather than grow).
inline constexpr size_t kDefaultStreamCapacity = 128;
// (and at most kStreamBufferBytes of them; see subscription.hpp)

class StreamHub final : public store::StoreObserver {
 public:
  explicit StreamHub(store::Store& store);
  ~StreamHub() override;  // CloseAll(kUnavailable)
  StreamHub(const StreamHub&) = delete;
  StreamHub& operator=(const StreamHub&) = delete;

  // Watches job `job_id` from seq `after` + 1 on (after = 0: the whole tape).
  // Never fails: problems (unknown job, hub closed, store error) end the
  // returned subscription with that status. `capacity` is at least 1.
  std::shared_ptr<Subscription> Subscribe(JobId job_id, Seq after,
                                          size_t capacity = kDefaultStreamCapacity);

  // Ends every open subscription with `reason` (e.g. kUnavailable "shutting
  // down"); later Subscribe calls return subscriptions already ended with it.
  void CloseAll(Status reason);

  // Subscriptions neither ended nor destroyed (a gauge for /metrics).
  int64_t open_subscriptions() const;
  // Switches to catch-up over all subscriptions so far (a counter).
  uint64_t catchups() const;

  // StoreObserver. Never blocks on a subscriber.
  void OnEvents(const std::vector<Event>& events) override;
  void OnWork(const std::string& queue, std::optional<TimePoint> due) override;

 private:
  const std::shared_ptr<detail::HubCore> core_;
};

}  // namespace jobtape::engine
