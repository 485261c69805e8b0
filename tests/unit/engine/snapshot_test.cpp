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

// R6: a reader never sees a snapshot mixing two cycles. The writer derives
// every field from the cycle number; readers check they all agree.
TEST(SnapshotCell, ConcurrentReadersNeverSeeTornSnapshots) {
  SnapshotRegistry registry;
  auto cell = registry.Register("loop", seconds(1));
  constexpr uint64_t kCycles = 20'000;
  const TimePoint t0 = FromMicros(1'000'000'000);
  std::atomic<bool> done{false};
  std::atomic<uint64_t> reads{0};
  std::atomic<uint64_t> bad{0};

  auto reader = [&](bool via_registry) {
    uint64_t last_cycle = 0;
    while (!done.load(std::memory_order_acquire)) {
      auto snap = via_registry ? registry.All().at(0) : cell->Load();
      if (snap->status == kLoopStarting) continue;
      const uint64_t c = snap->cycle;
      const bool consistent = snap->status == "c" + std::to_string(c) &&
                              snap->last_error == "e" + std::to_string(c) &&
                              snap->last_updated == t0 + Duration(c) &&
                              snap->counts.at("cycle") == static_cast<int64_t>(c) &&
                              snap->counts.at("double") == static_cast<int64_t>(2 * c);
      if (!consistent || c < last_cycle) bad.fetch_add(1);
      last_cycle = c;
      reads.fetch_add(1, std::memory_order_relaxed);
    }
  };
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i)
    readers.emplace_back(reader, i % 2 == 0);

  // Publish at least kCycles, and on until the readers have read plenty, so
  // reads and writes overlap however the threads are scheduled.
  constexpr uint64_t kMinReads = 3'000;
  uint64_t c = 1;
  for (; c <= kCycles || reads.load(std::memory_order_relaxed) < kMinReads; ++c) {
    LoopSnapshot s;
    s.name = "loop";
    s.cycle = c;
    s.status = "c" + std::to_string(c);
    s.last_error = "e" + std::to_string(c);
    s.last_updated = t0 + Duration(c);
    s.interval = seconds(1);
    s.counts = {{"cycle", static_cast<int64_t>(c)}, {"double", static_cast<int64_t>(2 * c)}};
    cell->Publish(std::move(s));
  }
  done.store(true, std::memory_order_release);
  for (auto& t : readers)
    t.join();

  EXPECT_EQ(bad.load(), 0u);
  EXPECT_GE(reads.load(), kMinReads);
  EXPECT_EQ(cell->Load()->cycle, c - 1);
}

}  // namespace
}  // namespace jobtape::engine
