// InProcessEngine: the engine as the in-process benchmarks drive it (engine,
// delayed): a SqliteStore (durability full) on a fresh database under
// DIR/jobtape-bench-NAME, with a started Dispatcher on the real SystemClock
// observing it. The destructor stops the dispatcher, closes the store before
// the dispatcher goes (an observer outlives its store) and removes the
// directory. Opening errors throw std::runtime_error ("open: ...").
//
// Thread-safety: construct and destroy on one thread; `store` and
// `dispatcher` are as thread-safe as those classes are.
#pragma once

#include <memory>
#include <string>

#include "engine/dispatcher.hpp"
#include "store/store.hpp"

namespace jobtape::bench {

struct InProcessEngine {
  InProcessEngine(const std::string& dir, const std::string& name);
  ~InProcessEngine();
  InProcessEngine(const InProcessEngine&) = delete;
  InProcessEngine& operator=(const InProcessEngine&) = delete;

  std::string path;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<engine::Dispatcher> dispatcher;
};

}  // namespace jobtape::bench
