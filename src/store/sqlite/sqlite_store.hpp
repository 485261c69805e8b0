// SqliteStore: the embedded default Store (DESIGN §2).
//
// WAL mode; versioned migrations applied at Open (a failing migration, or a
// database written by a newer binary, refuses to open). All writes go through
// one writer thread that folds the requests waiting at that moment into one
// transaction with one fsync (group commit); each request runs under its own
// SAVEPOINT so a failing request never fails its neighbours, and its
// completion fires only after the batch committed. Reads run on a small pool
// of read-only connections.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "store/store.hpp"

namespace jobtape::store::sqlite {

enum class Durability {
  kFull,    // fsync the WAL on every commit: an acknowledged write survives power loss
  kNormal,  // fsync at checkpoints only: survives a crash of the process, not of the machine
};

struct Options {
  std::string path;  // database file; created if missing
  Durability durability = Durability::kFull;
  int reader_threads = 2;  // read-only connections serving reads
  int max_batch = 512;     // write requests folded into one transaction at most
  Limits limits;
  // Source of lease tokens and jitter; tests may fix it for reproducibility.
  uint64_t random_seed = 0;  // 0 = seeded from the OS
  // Test only (the schedules crash test): called on the writer thread after
  // SchedulesFireDue has written its fires, inside the transaction, before it
  // commits. A hook that kills the process shows that nothing of the call
  // survives. Empty in production.
  std::function<void(const SchedulesFireDueResult&)> test_before_fire_commit;
};

// Opens (creating and migrating) the database. Errors: kFailedPrecondition for
// a schema newer than this binary or a failed migration, kUnavailable when the
// file cannot be opened.
Result<std::unique_ptr<Store>> Open(const Options& options);

// Applies process-wide SQLite settings (no memory statistics: they take a
// global mutex on every allocation). Must run before anything else in the
// process uses SQLite to take effect; Open() calls it too. Idempotent.
void InitializeLibrary();

// The schema version this binary writes.
int SchemaVersion();

}  // namespace jobtape::store::sqlite
