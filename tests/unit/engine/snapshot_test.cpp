#include "engine/snapshot.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace jobtape::engine {
namespace {

using std::chrono::seconds;

TEST(SnapshotCell, EmptyUntilFirstPublishThenLatest) {
  SnapshotCell<int> cell;
  EXPECT_EQ(cell.Load(), nullptr);
  cell.Publish(1);
  auto first = cell.Load();
  cell.Publish(2);
  EXPECT_EQ(*first, 1) << "a loaded snapshot never changes";
  EXPECT_EQ(*cell.Load(), 2);
}

TEST(SnapshotRegistry, ListsLoopsInNameOrderStartingAsStarting) {
  SnapshotRegistry registry;
  auto reaper = registry.Register("reaper", seconds(5));
  auto dispatcher = registry.Register("dispatcher", seconds(1));
  EXPECT_EQ(registry.Register("reaper"), reaper) << "same name, same cell";

  auto all = registry.All();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0]->name, "dispatcher");
  EXPECT_EQ(all[1]->name, "reaper");
  EXPECT_EQ(all[1]->status, kLoopStarting);
  EXPECT_EQ(all[1]->interval, seconds(5));

  LoopSnapshot s;
  s.name = "reaper";
  s.cycle = 7;
  s.status = kLoopOk;
  reaper->Publish(s);
  EXPECT_EQ(registry.Get("reaper")->cycle, 7u);
  EXPECT_EQ(registry.Get("nope"), nullptr);

  registry.Unregister("reaper");
  EXPECT_EQ(registry.All().size(), 1u);
  EXPECT_EQ(reaper->Load()->cycle, 7u) << "a holder's cell stays valid";
}

TEST(IsStalled, AfterThreeMissedIntervals) {
  const TimePoint t0 = FromMicros(1'000'000'000);
  LoopSnapshot s;
  s.status = kLoopOk;
  s.last_updated = t0;
  s.interval = seconds(1);
  EXPECT_FALSE(IsStalled(s, t0));
  EXPECT_FALSE(IsStalled(s, t0 + seconds(3)));
  EXPECT_TRUE(IsStalled(s, t0 + seconds(3) + Duration(1)));

  s.status = kLoopStopped;
  EXPECT_FALSE(IsStalled(s, t0 + seconds(100))) << "stopped is not stalled";
  s.status = kLoopOk;
  s.interval = Duration{0};
  EXPECT_FALSE(IsStalled(s, t0 + seconds(100))) << "no interval, no stall";
}

// R6: a reader never sees a snapshot mixing two cycles. The writer publishes
// as a loop does - real status values, an error message only with "error",
// counters that only grow - with every field derived from the cycle number:
// even cycles are "ok" (no error), odd ones "error" ("cycle N failed"), and
// the errors counter is the number of odd cycles so far. Readers go through
// each path /health uses (the cell, registry.All(), registry.Get()) and check
// that every snapshot agrees with itself and that cycles never go backwards.
LoopSnapshot CycleSnapshot(uint64_t c, TimePoint t0) {
  const bool failed = c % 2 == 1;
  LoopSnapshot s;
  s.name = "loop";
  s.cycle = c;
  s.status = failed ? kLoopError : kLoopOk;
  s.last_error = failed ? "cycle " + std::to_string(c) + " failed" : "";
  s.last_updated = t0 + Duration(c);
  s.interval = seconds(1);
  s.counts = {{"cycles", static_cast<int64_t>(c)},
              {"errors", static_cast<int64_t>((c + 1) / 2)},
              {"ok", static_cast<int64_t>(c / 2)}};
  return s;
}

bool SelfConsistent(const LoopSnapshot& s, TimePoint t0) {
  if (s.status == kLoopStarting) return s.cycle == 0;
  const LoopSnapshot expected = CycleSnapshot(s.cycle, t0);
  return s.name == expected.name && s.status == expected.status &&
         s.last_error == expected.last_error && s.last_updated == expected.last_updated &&
         s.interval == expected.interval && s.counts == expected.counts;
}

TEST(SnapshotCell, ConcurrentReadersNeverSeeTornSnapshots) {
  SnapshotRegistry registry;
  auto cell = registry.Register("loop", seconds(1));
  constexpr uint64_t kCycles = 20'000;
  const TimePoint t0 = FromMicros(1'000'000'000);
  std::atomic<bool> done{false};
  std::atomic<uint64_t> reads{0};
  std::atomic<uint64_t> bad{0};
  std::atomic<uint64_t> saw_ok{0};
  std::atomic<uint64_t> saw_error{0};

  auto reader = [&](int path) {
    uint64_t last_cycle = 0;
    while (!done.load(std::memory_order_acquire)) {
      auto snap = path == 0   ? cell->Load()
                  : path == 1 ? registry.All().at(0)
                              : registry.Get("loop");
      if (!SelfConsistent(*snap, t0) || snap->cycle < last_cycle) bad.fetch_add(1);
      if (snap->status == kLoopOk) saw_ok.fetch_add(1, std::memory_order_relaxed);
      if (snap->status == kLoopError) saw_error.fetch_add(1, std::memory_order_relaxed);
      last_cycle = snap->cycle;
      reads.fetch_add(1, std::memory_order_relaxed);
    }
  };
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i)
    readers.emplace_back(reader, i);

  // Publish at least kCycles, and on until the readers have read plenty of
  // published snapshots: on a loaded machine the readers may do all their
  // early reads before the first Publish (bounded, so a starved reader fails
  // the test instead of hanging it).
  constexpr uint64_t kMinReads = 3'000;
  constexpr uint64_t kMaxCycles = 50'000'000;
  auto published_reads = [&] {
    return saw_ok.load(std::memory_order_relaxed) + saw_error.load(std::memory_order_relaxed);
  };
  uint64_t c = 1;
  for (; c <= kMaxCycles && (c <= kCycles || published_reads() < kMinReads); ++c) {
    cell->Publish(CycleSnapshot(c, t0));
  }
  done.store(true, std::memory_order_release);
  for (auto& t : readers)
    t.join();

  EXPECT_EQ(bad.load(), 0u);
  EXPECT_GE(reads.load(), kMinReads);
  EXPECT_GE(published_reads(), kMinReads);
  EXPECT_EQ(cell->Load()->cycle, c - 1);
  EXPECT_TRUE(SelfConsistent(*registry.Get("loop"), t0));
}

}  // namespace
}  // namespace jobtape::engine
