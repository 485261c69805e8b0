// KindRegistry: the kinds defined in a directory of `*.toml` files, reloaded
// when the directory changes, published as immutable snapshots.
//
// Refresh() is cheap when nothing changed: it stats the directory and every
// `*.toml` file in it (not recursive; hidden files ignored) and parses nothing
// unless the directory's mtime or some file's (mtime, size, inode) differs from
// the previous scan. Only changed files are re-parsed. A malformed file is
// skipped with its error while the other files load; when two files define
// the same kind name, the file that sorts later by path gets the error and the
// earlier one wins, so the outcome never depends on readdir order.
//
// Change detection relies on timestamps: an edit that keeps size, inode and
// mtime identical (possible on file systems with coarse mtime) is missed until
// the next change. Editors that write a temp file and rename it change the
// inode, which is always detected.
//
// Thread-safety: Refresh() may be called from any thread (calls are
// serialised); Current() may race with Refresh() and never waits for a scan:
// publication is a shared_ptr swap under a mutex held only for the pointer
// copy. (Not std::atomic<std::shared_ptr>: libstdc++ 12 implements it with a
// lock bit TSan cannot see, so every reader would be a reported race.)
// Snapshots are immutable and may be kept indefinitely.
#pragma once

#include <sys/types.h>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"
#include "exec/kind.hpp"

namespace jobtape::exec {

struct KindFileError {
  std::string path;
  Status status;  // message already names the path and key
};

// One immutable view of the kind directory.
struct KindSet {
  // Starts at 0 for the empty snapshot before the first Refresh() and grows by
  // one on every Refresh() that saw a change (including "directory vanished").
  uint64_t generation = 0;
  // kNotFound / kInvalidArgument when the directory itself is missing or
  // unreadable; then `kinds` is empty.
  Status dir_status;
  std::map<std::string, KindSpec, std::less<>> kinds;  // by kind name
  std::vector<KindFileError> errors;                   // sorted by path

  // The kind named `name`, or nullptr.
  const KindSpec* Find(std::string_view name) const;
};

class KindRegistry {
 public:
  explicit KindRegistry(std::string dir);
  KindRegistry(const KindRegistry&) = delete;
  KindRegistry& operator=(const KindRegistry&) = delete;

  // Rescans if anything changed since the last scan and returns the (new or
  // cached) snapshot, which Current() then returns too. Never fails: problems
  // are reported inside the snapshot.
  std::shared_ptr<const KindSet> Refresh();

  // The last published snapshot (generation 0, empty, before any Refresh()).
  std::shared_ptr<const KindSet> Current() const;

  const std::string& dir() const { return dir_; }
  // Test signal: kind files parsed so far (cache hits do not count).
  uint64_t parses() const { return parses_.load(); }

 private:
  struct FileStamp {
    int64_t mtime_ns = 0;
    off_t size = 0;
    ino_t inode = 0;
    bool operator==(const FileStamp&) const = default;
  };
  struct Fingerprint {
    bool dir_ok = false;
    int64_t dir_mtime_ns = 0;
    std::map<std::string, FileStamp> files;  // by full path
    bool operator==(const Fingerprint&) const = default;
  };

  // Stats the directory; on failure returns its status and leaves `fp` empty.
  Status Scan(Fingerprint& fp) const;
  std::shared_ptr<const KindSet> Build(const Fingerprint& fp, Status dir_status);

  const std::string dir_;
  std::mutex mu_;         // serialises Refresh()
  bool scanned_ = false;  // GUARDED_BY(mu_)
  Fingerprint last_;      // GUARDED_BY(mu_)
  struct CachedFile {
    FileStamp stamp;
    Result<KindSpec> spec;
  };
  std::map<std::string, CachedFile> cache_;  // GUARDED_BY(mu_), by path
  std::atomic<uint64_t> parses_{0};
  mutable std::mutex current_mu_;           // lock order: mu_ before current_mu_
  std::shared_ptr<const KindSet> current_;  // GUARDED_BY(current_mu_)
};

}  // namespace jobtape::exec
