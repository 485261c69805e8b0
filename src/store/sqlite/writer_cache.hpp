// What the SQLite writer remembers between requests so that the hot paths
// need not read rows back (writer thread only).
//
// Everything here is a hint. Each use is checked by the compare-and-set of
// the statement that relies on it, and a mismatch falls back to reading the
// database; so an entry left behind by a rolled-back request, a failed
// commit or a path that forgot it costs one read, never a wrong write.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/job.hpp"
#include "store/store.hpp"

namespace jobtape::store::sqlite {

// The running attempt of a job as the lease calls need it.
struct AttemptRow {
  JobId id = 0;
  std::string queue;
  int attempt = 0;
  std::string token;
  int max_attempts = 1;
  Backoff backoff;
  std::optional<int64_t> deadline_at;
  std::optional<int64_t> cancel_deadline_at;
  int64_t lease_expires_at = 0;
  Seq last_seq = 0;
  bool keyed = false;            // has a concurrency key
  bool queue_limited = false;    // its queue has a max_concurrent
  std::optional<BatchId> batch;  // set for a batch member
};

struct WriterCache {
  // Running attempts by job id: put by the claim that starts them and by
  // lease checks that read the row; dropped when the attempt ends. Of the
  // fields that change while an attempt runs, last_seq, deadline_at and
  // cancel_deadline_at are in every compare-and-set that uses an entry;
  // lease_expires_at is never taken from here.
  std::unordered_map<JobId, AttemptRow> attempts;
  // Whether a queue has a max_concurrent (a terminal finish then wakes
  // claimers). Dropped by every queue update; cleared with the cache when a
  // commit fails.
  std::unordered_map<std::string, bool> queue_limited;

  // Bounds the memory entries that are never dropped (e.g. of attempts a
  // rolled-back request started) can take.
  static constexpr std::size_t kMaxAttempts = std::size_t{1} << 20;

  void Remember(AttemptRow a) {
    if (attempts.size() >= kMaxAttempts) attempts.clear();
    const JobId id = a.id;
    attempts.insert_or_assign(id, std::move(a));
  }
  void Clear() {
    attempts.clear();
    queue_limited.clear();
  }
};

}  // namespace jobtape::store::sqlite
