// Subscription: one watcher of one job's tape (R7), created by StreamHub.
//
// Each subscription has its own bounded buffer. It starts by catching up from
// the store (TapeReadAsync after `after`), then switches to live delivery from
// the hub. If its buffer is full when a live event arrives (the consumer is
// slow), or a live event does not follow the last buffered one, it drops back
// to catch-up: it stops taking live events and reads the tape itself, page by
// page as the consumer makes room, then rejoins live. The consumer therefore
// sees exactly seq after+1, after+2, ... with no gap and no duplicate, and a
// slow consumer costs the writer and the other watchers nothing.
//
// Why the switch back to live cannot lose an event: the store calls OnEvents
// only after the events committed. While catching up the subscription records
// the highest live seq it saw; it rejoins live only when it has buffered up
// to the job's last_seq as of its latest read *and* no live event beyond that
// arrived meanwhile. An event committed after that read is either seen live
// before the switch (so another page is read) or arrives after it (and is the
// next seq, delivered live).
//
// The stream ends after the `final` event is popped (end_status() OK), when
// `after` is already the end of a finished job's tape (OK), when the hub
// closes it (the reason, e.g. kUnavailable at shutdown; buffered events are
// dropped, the client resumes from the last seq it saw), or when a read fails
// (the store's error; kNotFound for an unknown job; kInvalidArgument for an
// `after` beyond the job's tape).
//
// Consumers either block in Next(), or use TryPop() with a notify callback:
// after a notification, pop until TryPop returns kEmpty or kEnd, then wait for
// the next notification. The callback runs on a store thread or in
// CloseAll(); it must be cheap and must not block (post to an executor).
//
// Thread-safety: all methods may be called from any thread. Destroying the
// last reference unsubscribes. Destroy the store only after the hub's
// CloseAll() (a closed subscription never reads the store again).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "core/event.hpp"
#include "core/status.hpp"
#include "store/store.hpp"

namespace jobtape::engine {

namespace detail {
struct HubCore;
}

enum class PopResult {
  kEvent,  // an event was popped
  kEmpty,  // nothing buffered now; more may come
  kEnd,    // the stream is over; see end_status()
};

// Events buffered per watcher are also bounded in bytes (event data plus a fixed overhead
// per event), so watchers of chatty jobs with large log lines cost no more:
// 10,000 watchers x 256 KiB is 2.5 GB only if every one of them is stalled
// behind large events; past the budget a watcher catches up from the store.
inline constexpr size_t kStreamBufferBytes = 256 * 1024;
// What one buffered event counts against kStreamBufferBytes.
inline size_t EventBytes(const Event& e) {
  return e.data.size() + sizeof(Event);
}

class Subscription : public std::enable_shared_from_this<Subscription> {
 public:
  // Created only by StreamHub::Subscribe (the tag keeps make_shared usable).
  struct Tag {};
  Subscription(Tag, std::shared_ptr<detail::HubCore> core, JobId job_id, Seq after,
               size_t capacity);
  ~Subscription();
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;

  JobId job_id() const { return job_id_; }

  // Pops the next event into `out` without blocking.
  PopResult TryPop(Event& out);
  // Like TryPop, but waits up to `timeout` (real time) for an event or the end;
  // kEmpty on timeout.
  PopResult Next(Event& out, std::chrono::milliseconds timeout);
  // Sets the callback invoked when data arrives in an empty buffer or the
  // stream ends. Invoked once at once if data or the end is already there.
  void SetNotify(std::function<void()> notify);

  // OK after a normal end; the reason or error otherwise. OK while running.
  Status end_status() const;
  bool ended() const;
  // The seq of the last event popped (`after` before the first): where a
  // reconnecting client resumes.
  Seq last_popped() const;
  size_t buffered() const;
  // EventBytes() of what is buffered (at most kStreamBufferBytes, or one event).
  size_t buffered_bytes() const;
  // Times the subscription fell behind and switched to catch-up (test hook).
  uint64_t catchups() const;

 private:
  friend class StreamHub;
  enum class Mode { kCatchUp, kLive, kFinal, kClosed };
  using NotifyFn = std::shared_ptr<const std::function<void()>>;

  // Called by the hub.
  void Start();
  void Deliver(const std::vector<const Event*>& events);
  void Close(const Status& reason);

  // Returns the read to issue if one should start now (and marks it started).
  std::optional<store::TapeReadParams> FetchLocked();
  void IssueFetch(const store::TapeReadParams& p);
  void OnPage(Result<store::TapePage> r);
  PopResult PopLocked(Event& out);
  // Moves to kFinal/kClosed; counts the subscription as no longer open.
  void EndLocked(Mode mode, Status status);
  NotifyFn WakeLocked();

  // Whether one more event of `bytes` fits (the first always does, so a
  // single large event still gets through).
  bool FitsLocked(size_t bytes) const;
  void PushLocked(Event e);

  const std::shared_ptr<detail::HubCore> core_;
  const JobId job_id_;
  const size_t capacity_;

  mutable std::mutex mu_;
  std::condition_variable cv_;  // buffer became non-empty or the stream ended
  Mode mode_ = Mode::kCatchUp;  // GUARDED_BY(mu_)
  std::deque<Event> buf_;       // GUARDED_BY(mu_)
  size_t buf_bytes_ = 0;        // GUARDED_BY(mu_): EventBytes() of what buf_ holds
  Seq tail_ = 0;                // GUARDED_BY(mu_): highest seq ever buffered (or `after`)
  Seq max_live_seen_ = 0;       // GUARDED_BY(mu_): highest live seq seen while catching up
  Seq last_popped_ = 0;         // GUARDED_BY(mu_)
  bool fetching_ = false;       // GUARDED_BY(mu_): a tape read is at the store
  bool counted_open_ = true;    // GUARDED_BY(mu_)
  Status end_;                  // GUARDED_BY(mu_)
  uint64_t catchups_ = 0;       // GUARDED_BY(mu_)
  NotifyFn notify_;             // GUARDED_BY(mu_)
};

}  // namespace jobtape::engine
