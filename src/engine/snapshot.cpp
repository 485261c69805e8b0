#include "engine/snapshot.hpp"

namespace jobtape::engine {

bool IsStalled(const LoopSnapshot& snapshot, TimePoint now) {
  if (snapshot.status == kLoopStopped || snapshot.interval <= Duration{0}) return false;
  return now - snapshot.last_updated > kStallIntervals * snapshot.interval;
}

std::shared_ptr<SnapshotRegistry::Cell> SnapshotRegistry::Register(const std::string& name,
                                                                   Duration interval) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& cell = cells_[name];
  if (!cell) {
    LoopSnapshot initial;
    initial.name = name;
    initial.interval = interval;
    cell = std::make_shared<Cell>(std::move(initial));
  }
  return cell;
}

void SnapshotRegistry::Unregister(const std::string& name) {
  std::shared_ptr<Cell> removed;  // released outside the lock
  std::lock_guard<std::mutex> lock(mu_);
  auto it = cells_.find(name);
  if (it == cells_.end()) return;
  removed = std::move(it->second);
  cells_.erase(it);
}

std::vector<std::shared_ptr<const LoopSnapshot>> SnapshotRegistry::All() const {
  std::vector<std::shared_ptr<Cell>> cells;
  {
    std::lock_guard<std::mutex> lock(mu_);
    cells.reserve(cells_.size());
    for (const auto& [name, cell] : cells_)
      cells.push_back(cell);
  }
  std::vector<std::shared_ptr<const LoopSnapshot>> out;
  out.reserve(cells.size());
  for (const auto& cell : cells) {
    if (auto snap = cell->Load()) out.push_back(std::move(snap));
  }
  return out;
}

std::shared_ptr<const LoopSnapshot> SnapshotRegistry::Get(const std::string& name) const {
  std::shared_ptr<Cell> cell;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cells_.find(name);
    if (it == cells_.end()) return nullptr;
    cell = it->second;
  }
  return cell->Load();
}

std::shared_ptr<SnapshotCell<LoopSnapshot>> MakeLoopCell(SnapshotRegistry* registry,
                                                         const std::string& name,
                                                         Duration interval) {
  if (registry != nullptr) return registry->Register(name, interval);
  LoopSnapshot initial;
  initial.name = name;
  initial.interval = interval;
  return std::make_shared<SnapshotCell<LoopSnapshot>>(std::move(initial));
}

void PublishLoopStopped(SnapshotCell<LoopSnapshot>& cell, TimePoint now) {
  LoopSnapshot s;
  if (auto last = cell.Load()) s = *last;
  s.status = kLoopStopped;
  s.last_updated = now;
  cell.Publish(std::move(s));
}

}  // namespace jobtape::engine
