// Snapshots (R6): background loops publish immutable status values; health and
// status endpoints read those values, never fields of live objects.
//
// A loop builds a complete LoopSnapshot for each cycle and publishes it with one
// atomic pointer swap (SnapshotCell). A reader gets a shared_ptr to a value that
// was complete when published and never changes afterwards, so it can never see
// cycle N+1 together with the status of cycle N.
//
// Thread-safety: SnapshotCell and SnapshotRegistry are safe for concurrent use
// by any number of writers and readers. LoopSnapshot is a plain value type.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.hpp"

namespace jobtape::engine {

// Holds the latest published value of T. Publish() replaces it atomically;
// Load() returns the value current at that instant (nullptr before the first
// Publish). A mutex-guarded pointer copy rather than std::atomic<shared_ptr>:
// publishing happens once per loop cycle and reads once per health request,
// so the lock is never contended in practice, and it is plainly TSan-clean.
template <typename T>
class SnapshotCell {
 public:
  SnapshotCell() = default;
  explicit SnapshotCell(T initial) : value_(std::make_shared<const T>(std::move(initial))) {}
  SnapshotCell(const SnapshotCell&) = delete;
  SnapshotCell& operator=(const SnapshotCell&) = delete;

  void Publish(T value) { Publish(std::make_shared<const T>(std::move(value))); }
  void Publish(std::shared_ptr<const T> value) {
    // The previous value is released outside the lock: its destructor may be
    // arbitrarily expensive and readers should not wait for it.
    std::shared_ptr<const T> old;
    {
      std::lock_guard<std::mutex> lock(mu_);
      old = std::exchange(value_, std::move(value));
    }
  }

  std::shared_ptr<const T> Load() const {
    std::lock_guard<std::mutex> lock(mu_);
    return value_;
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const T> value_;  // GUARDED_BY(mu_)
};

// Status values of a LoopSnapshot (the wire strings of /health).
inline constexpr const char* kLoopStarting = "starting";
inline constexpr const char* kLoopOk = "ok";
inline constexpr const char* kLoopError = "error";
inline constexpr const char* kLoopStopped = "stopped";

// What one background loop (dispatcher, reaper, scheduler) reports about its
// latest cycle. Built complete by the loop, then published; never mutated.
struct LoopSnapshot {
  std::string name;                       // "dispatcher", "reaper", ...
  uint64_t cycle = 0;                     // cycles completed so far
  TimePoint last_updated;                 // when this snapshot was published
  std::string status = kLoopStarting;     // kLoopStarting / kLoopOk / kLoopError / kLoopStopped
  std::string last_error;                 // message of the latest error, empty if none
  Duration interval{0};                   // the longest the loop sleeps between cycles
  std::map<std::string, int64_t> counts;  // loop-specific gauges and counters
};

// How many missed intervals make a loop "stalled": one late cycle is scheduling
// noise on a busy 2-core machine; three in a row means the loop is stuck.
inline constexpr int kStallIntervals = 3;

// True if the loop has not published for longer than kStallIntervals intervals.
// A stopped loop is not stalled (it is stopped), and neither is a loop without
// an interval (it only publishes on demand).
bool IsStalled(const LoopSnapshot& snapshot, TimePoint now);

// The set of loops a server runs, for /health. Loops register once at start;
// readers get every loop's latest snapshot in name order.
class SnapshotRegistry {
 public:
  using Cell = SnapshotCell<LoopSnapshot>;

  // Returns the cell `name` publishes into, creating it with a kLoopStarting
  // snapshot. Registering a name twice returns the same cell.
  std::shared_ptr<Cell> Register(const std::string& name, Duration interval = Duration{0});
  // Removes `name`; its cell stays valid for whoever still holds it.
  void Unregister(const std::string& name);

  // The latest snapshot of every registered loop, in name order. Each element
  // is internally consistent; elements are read one after another.
  std::vector<std::shared_ptr<const LoopSnapshot>> All() const;
  // The latest snapshot of `name`, or nullptr if not registered.
  std::shared_ptr<const LoopSnapshot> Get(const std::string& name) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Cell>> cells_;  // GUARDED_BY(mu_)
};

// The cell a background loop publishes into: `registry`'s cell for `name`
// when there is a registry (what /health reads), else a private one.
std::shared_ptr<SnapshotCell<LoopSnapshot>> MakeLoopCell(SnapshotRegistry* registry,
                                                         const std::string& name,
                                                         Duration interval);

// Publishes into `cell` its latest snapshot marked kLoopStopped at `now`:
// what a loop does last, once its thread has ended.
void PublishLoopStopped(SnapshotCell<LoopSnapshot>& cell, TimePoint now);

}  // namespace jobtape::engine
