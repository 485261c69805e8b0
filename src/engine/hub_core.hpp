// Internal to the engine: the state StreamHub shares with its subscriptions,
// so a subscription that outlives the hub object can still unsubscribe.
//
// Thread-safety: members marked GUARDED_BY(mu) are protected by mu; `open` is
// atomic; `store` is set once.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "core/job.hpp"
#include "core/status.hpp"
#include "store/store.hpp"

namespace jobtape::engine {

class Subscription;

namespace detail {

struct HubCore {
  explicit HubCore(store::Store& s) : store(&s) {}

  // Removes one subscription of `job_id` (called from its destructor).
  void Forget(JobId job_id, const Subscription* sub) {
    std::lock_guard<std::mutex> lock(mu);
    auto it = subs.find(job_id);
    if (it == subs.end()) return;
    it->second.erase(sub);
    if (it->second.empty()) subs.erase(it);
  }

  store::Store* const store;
  std::atomic<int64_t> open{0};       // subscriptions neither ended nor destroyed
  std::atomic<uint64_t> catchups{0};  // switches to catch-up, all subscriptions

  std::mutex mu;
  bool closed = false;  // GUARDED_BY(mu): CloseAll ran; new ones start closed
  Status close_reason;  // GUARDED_BY(mu)
  // Per job, its subscriptions keyed by address, so a watcher leaving is O(1)
  // even when thousands watch the same job.
  std::unordered_map<JobId, std::unordered_map<const Subscription*, std::weak_ptr<Subscription>>>
      subs;  // GUARDED_BY(mu)
};

}  // namespace detail
}  // namespace jobtape::engine
