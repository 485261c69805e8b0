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
#include <functional>
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
struct BatchWatchers;
}  // namespace detail

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

  // Batch watchers (GET /v1/batches/{id}/stream): `notify` runs on a store
  // thread after each commit in which a member of batch `id` ended, and once
  // when the hub closes (closed() is then true); it must only post the work
  // elsewhere. Watching lasts until the returned handle is destroyed.
  std::shared_ptr<void> WatchBatch(store::BatchId id, std::function<void()> notify);
  bool closed() const;

  // Ends every open subscription with `reason` (e.g. kUnavailable "shutting
  // down"); later Subscribe calls return subscriptions already ended with it.
  // Batch watchers are notified.
  void CloseAll(Status reason);

  // Subscriptions neither ended nor destroyed (a gauge for /metrics).
  int64_t open_subscriptions() const;
  // Switches to catch-up over all subscriptions so far (a counter).
  uint64_t catchups() const;

  // StoreObserver. Never blocks on a subscriber.
  void OnEvents(const std::vector<Event>& events) override;
  void OnWork(const std::string& queue, std::optional<TimePoint> due) override;
  void OnBatches(const std::vector<store::BatchId>& batches) override;

 private:
  const std::shared_ptr<detail::HubCore> core_;
  const std::shared_ptr<detail::BatchWatchers> batches_;
};

}  // namespace jobtape::engine
