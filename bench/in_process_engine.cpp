#include "in_process_engine.hpp"

#include <filesystem>
#include <stdexcept>

#include "core/clock.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace jobtape::bench {

namespace fs = std::filesystem;

InProcessEngine::InProcessEngine(const std::string& dir, const std::string& name)
    : path(dir + "/jobtape-bench-" + name) {
  fs::remove_all(path);
  fs::create_directories(path);
  auto s = store::sqlite::Open({.path = path + "/jobs.db"});
  if (!s.ok()) throw std::runtime_error("open: " + s.status().ToString());
  store = std::move(*s);
  dispatcher = std::make_unique<engine::Dispatcher>(*store, SystemClock::Instance());
  store->AddObserver(dispatcher.get());
  dispatcher->Start();
}

InProcessEngine::~InProcessEngine() {
  dispatcher->Stop();
  store.reset();
  dispatcher.reset();
  fs::remove_all(path);
}

}  // namespace jobtape::bench
