#include "store/sqlite/schema.hpp"

#include <algorithm>
#include <array>
#include <string>

namespace jobtape::store::sqlite {
namespace {

// Index of this array + 1 = the version a migration brings the database to.
// Never edit a released migration; append a new one.
constexpr std::array<const char*, 5> kMigrations = {
    // v1: jobs, their tapes and queue settings.
    R"sql(
CREATE TABLE queues (
  name           TEXT PRIMARY KEY,
  paused         INTEGER NOT NULL DEFAULT 0,
  max_concurrent INTEGER,               -- NULL = unlimited
  updated_at     INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE jobs (
  id                 INTEGER PRIMARY KEY,
  queue              TEXT NOT NULL,
  kind               TEXT NOT NULL,
  state              INTEGER NOT NULL,   -- core/job_state.hpp
  priority           INTEGER NOT NULL,
  payload            TEXT NOT NULL,
  run_at             INTEGER NOT NULL,   -- microseconds since the epoch (all times)
  max_attempts       INTEGER NOT NULL,
  attempt            INTEGER NOT NULL DEFAULT 0,
  backoff_initial_us INTEGER NOT NULL,
  backoff_max_us     INTEGER NOT NULL,
  backoff_multiplier REAL NOT NULL,
  backoff_jitter     REAL NOT NULL,
  timeout_us         INTEGER,
  concurrency_key    TEXT,
  concurrency_limit  INTEGER NOT NULL,
  idempotency_key    TEXT,
  batch_id           TEXT,
  tags               TEXT,               -- JSON array
  retry_of           INTEGER,
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL,
  started_at         INTEGER,
  finished_at        INTEGER,
  lease_token        TEXT,
  lease_expires_at   INTEGER,            -- never later than deadline_at or cancel_deadline_at
  deadline_at        INTEGER,            -- runtime backstop of the current attempt
  cancel_deadline_at INTEGER,            -- set when a cancel reached the running attempt
  worker_id          TEXT,
  node_id            TEXT,
  last_seq           INTEGER NOT NULL DEFAULT 0,
  error              TEXT,
  result             TEXT
);
-- Claims: ready jobs of a queue in dispatch order. Covers the concurrency key
-- and limit so a claim can walk past key-blocked jobs without reading rows.
CREATE INDEX jobs_ready ON jobs(queue, priority DESC, run_at, id, concurrency_key, concurrency_limit)
  WHERE state = 1;
-- Promotion of due scheduled jobs (per queue, by the claims of that queue),
-- and the next due time per queue.
CREATE INDEX jobs_due ON jobs(queue, run_at) WHERE state = 0;
-- Running jobs: the reaper walks leases in expiry order; per-queue running
-- counts (only needed for queues with max_concurrent) scan this set too.
CREATE INDEX jobs_running ON jobs(lease_expires_at) WHERE state = 2;
CREATE INDEX jobs_running_key ON jobs(concurrency_key) WHERE state = 2 AND concurrency_key IS NOT NULL;
CREATE UNIQUE INDEX jobs_idempotency ON jobs(queue, idempotency_key) WHERE idempotency_key IS NOT NULL;
-- Listing, newest first. Every index costs each job a write, so only the
-- filters that would otherwise scan much: by queue, and the failed and
-- cancelled jobs an operator looks for (succeeded jobs never enter it).
CREATE INDEX jobs_by_queue ON jobs(queue, id);
CREATE INDEX jobs_unsuccessful ON jobs(state, id) WHERE state IN (4, 5);

CREATE TABLE events (
  job_id  INTEGER NOT NULL,
  seq     INTEGER NOT NULL,
  type    INTEGER NOT NULL,              -- core/event.hpp
  at      INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  data    TEXT NOT NULL,
  PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;
)sql",
    // v2: cron schedules (store/schedule_rules.hpp). One row per schedule,
    // kept small: the job template is one JSON column (read only when firing,
    // never queried, and a new JobSpec field needs no migration). Which fire
    // a schedule has done is next_fire_at/last_fire_at, updated in the same
    // transaction as the job a fire enqueues; each fire's job also carries
    // the idempotency key "schedule:<name>:<fire µs>", so jobs need no column.
    R"sql(
CREATE TABLE schedules (
  name         TEXT PRIMARY KEY,
  cron         TEXT NOT NULL,
  timezone     TEXT NOT NULL,           -- IANA zone of the expression's wall times
  job          TEXT NOT NULL,           -- the job template, JSON
  misfire      INTEGER NOT NULL,        -- 0 skip, 1 run_once (store.hpp MisfirePolicy)
  paused       INTEGER NOT NULL DEFAULT 0,
  next_fire_at INTEGER,                 -- µs; NULL = the expression never fires again
  last_fire_at INTEGER,                 -- µs; the fire time of the newest job it enqueued
  last_job_id  INTEGER,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL         -- of the definition (a fire does not change it)
) WITHOUT ROWID;
-- The due scan (next_fire_at <= now) and the earliest next fire for the
-- scheduler's timer; paused schedules never fire, so they stay out of it.
CREATE INDEX schedules_due ON schedules(next_fire_at) WHERE paused = 0;
)sql",
    // v3: membership columns. SQLite maintains an index on UPDATE when the
    // statement sets one of its key columns or a column its WHERE mentions;
    // with every partial index on `state`, each transition paid for every
    // one of them (~1.1k instructions each, per statement). Each set now has
    // its own column, non-NULL exactly while the job is in the set, so a
    // transition maintains only the indexes it enters or leaves and `state`
    // is in no index. Queries repeat the WHERE of the index they need.
    // jobs_by_queue goes: no hot path reads it, and every insert paid for it.
    R"sql(
ALTER TABLE jobs ADD COLUMN ready INTEGER;        -- 1 while queued, else NULL
ALTER TABLE jobs ADD COLUMN due_at INTEGER;       -- run_at while scheduled, else NULL
ALTER TABLE jobs ADD COLUMN running_key TEXT;     -- concurrency_key while running, else NULL
ALTER TABLE jobs ADD COLUMN unsuccessful INTEGER; -- state while failed or cancelled, else NULL
UPDATE jobs SET
  ready = CASE WHEN state = 1 THEN 1 END,
  due_at = CASE WHEN state = 0 THEN run_at END,
  running_key = CASE WHEN state = 2 THEN concurrency_key END,
  unsuccessful = CASE WHEN state IN (4, 5) THEN state END,
  lease_expires_at = CASE WHEN state = 2 THEN lease_expires_at END;
DROP INDEX jobs_ready;
DROP INDEX jobs_due;
DROP INDEX jobs_running;
DROP INDEX jobs_running_key;
DROP INDEX jobs_unsuccessful;
CREATE INDEX jobs_ready ON jobs(queue, priority DESC, run_at, id, concurrency_key, concurrency_limit)
  WHERE ready = 1;
CREATE INDEX jobs_due ON jobs(queue, due_at) WHERE due_at IS NOT NULL;
-- lease_expires_at is non-NULL exactly while the job is running.
CREATE INDEX jobs_running ON jobs(lease_expires_at) WHERE lease_expires_at IS NOT NULL;
CREATE INDEX jobs_running_key ON jobs(running_key) WHERE running_key IS NOT NULL;
CREATE INDEX jobs_unsuccessful ON jobs(unsuccessful, id) WHERE unsuccessful IS NOT NULL;
-- Listing by queue scans newest first like listing by kind: the index cost
-- every job ~5.8k instructions at insert, a fifth of an enqueue.
DROP INDEX jobs_by_queue;
)sql",
    // v4: batches (store.hpp BatchCreateParams). The members are ordinary
    // jobs whose `batch` column names their batch (set only by batch
    // creation; batch_id, a v1 column that clients could once set freely,
    // shows it in decimal but never decides membership, so an old label such
    // as "7" never joins batch 7). Their counts per state are read from jobs
    // through jobs_by_batch. `done` counts members that reached a terminal
    // state, advanced in the transaction of each member's `final`, so the one
    // that makes it `total` is the last and enqueues on_complete.
    // jobs_by_batch holds only batch members, and no transition changes
    // `batch`, so other jobs never pay for it.
    R"sql(
CREATE TABLE batches (
  id                 INTEGER PRIMARY KEY,
  total              INTEGER NOT NULL,
  done               INTEGER NOT NULL DEFAULT 0,
  on_complete        TEXT,              -- job template JSON (store/schedule_rules.hpp); NULL = none
  on_complete_job_id INTEGER,
  idempotency_key    TEXT,
  created_at         INTEGER NOT NULL,
  finished_at        INTEGER            -- when the last member ended
);
CREATE UNIQUE INDEX batches_idempotency ON batches(idempotency_key)
  WHERE idempotency_key IS NOT NULL;
ALTER TABLE jobs ADD COLUMN batch INTEGER;
CREATE INDEX jobs_by_batch ON jobs(batch) WHERE batch IS NOT NULL;
)sql",
    // v5: `created` events are no longer stored; seq 1 of a tape is served
    // from the job row (job_row.cpp FlushEvents, ops_read.cpp OpTapeRead).
    // No table changes, but the version does: a binary from before this
    // refuses the database instead of serving tapes that start at seq 2.
    // Stored `created` rows of older databases stay; reads pass over them.
    R"sql(
SELECT 1;
)sql",
};

}  // namespace

int LatestSchemaVersion() {
  return static_cast<int>(kMigrations.size());
}

Result<int> CurrentSchemaVersion(Db& db) {
  Stmt exists = db.PrepareOnce(
      "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'");
  auto row = exists.Step();
  if (!row.ok()) return row.status();
  if (!*row) return 0;
  Stmt q = db.PrepareOnce("SELECT max(version) FROM schema_version");
  auto r = q.Step();
  if (!r.ok()) return r.status();
  return *r && !q.IsNull(0) ? static_cast<int>(q.Int(0)) : 0;
}

Result<int> Migrate(Db& db) {
  return MigrateTo(db, LatestSchemaVersion());
}

Result<int> MigrateTo(Db& db, int target) {
  JT_RETURN_IF_ERROR(
      db.Exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at "
              "INTEGER NOT NULL DEFAULT (unixepoch()))"));
  auto current = CurrentSchemaVersion(db);
  if (!current.ok()) return current.status();
  int version = *current;
  if (version > LatestSchemaVersion()) {
    return Status::FailedPrecondition("database schema version " + std::to_string(version) +
                                      " is newer than this binary knows (" +
                                      std::to_string(LatestSchemaVersion()) +
                                      "); upgrade jobtape or restore a backup");
  }
  for (int v = version + 1; v <= target; ++v) {
    Status s = db.Exec("BEGIN IMMEDIATE");
    if (s.ok()) s = db.Exec(kMigrations[v - 1]);
    if (s.ok()) {
      s = db.Exec("INSERT INTO schema_version(version) VALUES (" + std::to_string(v) + ")");
    }
    if (s.ok()) s = db.Exec("COMMIT");
    if (!s.ok()) {
      (void)db.Exec("ROLLBACK");
      return Status::FailedPrecondition("migration to schema version " + std::to_string(v) +
                                        " failed: " + s.message());
    }
  }
  return std::max(version, target);
}

}  // namespace jobtape::store::sqlite
