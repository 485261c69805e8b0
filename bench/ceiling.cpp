#include "ceiling.hpp"

#include <sqlite3.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string_view>

namespace jobtape::bench {
namespace {

// statfs f_type values of memory-backed file systems (linux/magic.h).
constexpr long kTmpfsMagic = 0x01021994;
constexpr long kRamfsMagic = 0x858458f6;

// Job states and event types as stored by jobtape (core/job_state.hpp, core/event.hpp).
constexpr int kQueued = 1;
constexpr int kRunning = 2;
constexpr int kSucceeded = 3;
constexpr int kEventCreated = 0;
constexpr int kEventStarted = 1;
constexpr int kEventFinal = 6;

constexpr std::string_view kSchema = R"sql(
CREATE TABLE jobs (
  id INTEGER PRIMARY KEY,
  queue TEXT NOT NULL,
  kind TEXT NOT NULL,
  state INTEGER NOT NULL,
  payload TEXT NOT NULL,
  attempt INT NOT NULL,
  lease_token TEXT,
  updated_at INT NOT NULL,
  last_seq INT NOT NULL
);
CREATE TABLE events (
  job_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  type INTEGER NOT NULL,
  at INTEGER NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;
)sql";

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One connection and its prepared statements; finalizes everything it made.
class Bench {
 public:
  ~Bench() {
    for (sqlite3_stmt* s : stmts_)
      sqlite3_finalize(s);
    if (db_ != nullptr) sqlite3_close(db_);
  }

  bool Open(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
        SQLITE_OK) {
      return Fail("open");
    }
    return SetWal() && Exec("PRAGMA synchronous=FULL") && Exec(kSchema) && Prepare();
  }

  // Runs phase `phase` (0 insert, 1 start, 2 finish) for jobs [first, first+count) in one
  // transaction.
  bool RunPhase(int phase, int64_t first, int count) {
    if (!Exec("BEGIN")) return false;
    for (int64_t id = first; id < first + count; ++id) {
      if (!(phase == 0 ? Insert(id) : phase == 1 ? Start(id) : Finish(id))) {
        const std::string error = error_;  // keep the cause, not the rollback's outcome
        Exec("ROLLBACK");
        error_ = error;
        return false;
      }
    }
    return Exec("COMMIT");
  }

  const std::string& error() const { return error_; }

 private:
  enum Stmt { kInsertJob, kUpdateJob, kInsertEvent, kStmtCount };

  // Some file systems cannot do WAL and SQLite silently keeps its rollback
  // journal; the figure would then not be the one DESIGN §4 means.
  bool SetWal() {
    std::string mode;
    auto first_column = [](void* out, int, char** values, char**) -> int {
      *static_cast<std::string*>(out) = values[0] != nullptr ? values[0] : "";
      return 0;
    };
    if (sqlite3_exec(db_, "PRAGMA journal_mode=WAL", first_column, &mode, nullptr) != SQLITE_OK) {
      return Fail("journal_mode");
    }
    if (mode != "wal") {
      error_ = "journal_mode is '" + mode + "', not 'wal'";
      return false;
    }
    return true;
  }

  bool Prepare() {
    static constexpr std::array<const char*, kStmtCount> kSql = {
        "INSERT INTO jobs (id, queue, kind, state, payload, attempt, lease_token, updated_at, "
        "last_seq) VALUES (?1, 'default', 'noop', ?2, 'null', 0, NULL, ?3, 1)",
        // A compare-and-set on (state, attempt), as every store transition is (R2).
        "UPDATE jobs SET state = ?2, attempt = ?3, lease_token = ?4, updated_at = ?5, "
        "last_seq = ?6 WHERE id = ?1 AND state = ?7 AND attempt = ?8",
        "INSERT INTO events (job_id, seq, type, at, data) VALUES (?1, ?2, ?3, ?4, ?5)",
    };
    for (int i = 0; i < kStmtCount; ++i) {
      if (sqlite3_prepare_v3(db_, kSql[i], -1, SQLITE_PREPARE_PERSISTENT, &stmts_[i], nullptr) !=
          SQLITE_OK) {
        return Fail("prepare");
      }
    }
    return true;
  }

  bool Insert(int64_t id) {
    const int64_t now = NowMicros();
    sqlite3_stmt* s = stmts_[kInsertJob];
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int(s, 2, kQueued);
    sqlite3_bind_int64(s, 3, now);
    return Step(s) && AppendEvent(id, 1, kEventCreated, now, "{}");
  }

  bool Start(int64_t id) {
    char token[33];
    std::snprintf(token, sizeof token, "%016llx%016llx", static_cast<unsigned long long>(id),
                  0x9e3779b97f4a7c15ULL * static_cast<unsigned long long>(id));
    const int64_t now = NowMicros();
    return Update(id, kQueued, 0, kRunning, 1, token, now, 2) &&
           AppendEvent(id, 2, kEventStarted, now, R"({"attempt":1,"worker":"bench"})");
  }

  bool Finish(int64_t id) {
    const int64_t now = NowMicros();
    return Update(id, kRunning, 1, kSucceeded, 1, nullptr, now, 3) &&
           AppendEvent(id, 3, kEventFinal, now, R"({"state":"succeeded"})");
  }

  bool Update(int64_t id, int from_state, int from_attempt, int to_state, int to_attempt,
              const char* token, int64_t now, int64_t last_seq) {
    sqlite3_stmt* s = stmts_[kUpdateJob];
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int(s, 2, to_state);
    sqlite3_bind_int(s, 3, to_attempt);
    if (token != nullptr) {
      sqlite3_bind_text(s, 4, token, -1, SQLITE_TRANSIENT);
    } else {
      sqlite3_bind_null(s, 4);
    }
    sqlite3_bind_int64(s, 5, now);
    sqlite3_bind_int64(s, 6, last_seq);
    sqlite3_bind_int(s, 7, from_state);
    sqlite3_bind_int(s, 8, from_attempt);
    if (!Step(s)) return false;
    if (sqlite3_changes(db_) != 1) {
      error_ = "compare-and-set matched no row for job " + std::to_string(id);
      return false;
    }
    return true;
  }

  bool AppendEvent(int64_t id, int64_t seq, int type, int64_t now, const char* data) {
    sqlite3_stmt* s = stmts_[kInsertEvent];
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, seq);
    sqlite3_bind_int(s, 3, type);
    sqlite3_bind_int64(s, 4, now);
    sqlite3_bind_text(s, 5, data, -1, SQLITE_STATIC);
    return Step(s);
  }

  bool Step(sqlite3_stmt* s) {
    const int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) return Fail("step");
    return true;
  }

  bool Exec(std::string_view sql) {
    const std::string text(sql);
    if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
      return Fail(text.substr(0, 40));
    }
    return true;
  }

  bool Fail(const std::string& what) {
    error_ = what + ": " + (db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory");
    return false;
  }

  sqlite3* db_ = nullptr;
  std::array<sqlite3_stmt*, kStmtCount> stmts_{};
  std::string error_;
};

void RemoveDatabase(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    ::unlink((path + suffix).c_str());
  }
}

}  // namespace

CeilingResult MeasureCeiling(const CeilingOptions& options) {
  CeilingResult result;
  if (options.jobs <= 0 || options.batch <= 0) {
    result.error = "jobs and batch must be positive";
    return result;
  }
  const std::string dir = options.dir.empty() ? "." : options.dir;
  struct statfs fs {};
  if (::statfs(dir.c_str(), &fs) != 0) {
    result.error = "cannot stat directory " + dir;
    return result;
  }
  result.on_tmpfs =
      static_cast<long>(fs.f_type) == kTmpfsMagic || static_cast<long>(fs.f_type) == kRamfsMagic;

  static std::atomic<int> counter{0};
  const std::string path = dir + "/jobtape-ceiling-" + std::to_string(::getpid()) + "-" +
                           std::to_string(counter++) + ".db";
  RemoveDatabase(path);
  {
    Bench bench;
    if (!bench.Open(path)) {
      result.error = bench.error();
      RemoveDatabase(path);
      return result;
    }
    const auto start = std::chrono::steady_clock::now();
    for (int64_t first = 1; first <= options.jobs; first += options.batch) {
      const int count =
          static_cast<int>(std::min<int64_t>(options.batch, options.jobs - first + 1));
      for (int phase = 0; phase < 3; ++phase) {
        if (!bench.RunPhase(phase, first, count)) {
          result.error = bench.error();
          RemoveDatabase(path);
          return result;
        }
        ++result.transactions;
      }
    }
    result.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  RemoveDatabase(path);
  result.ok = true;
  result.jobs = options.jobs;
  result.jobs_per_sec = result.seconds > 0 ? static_cast<double>(options.jobs) / result.seconds : 0;
  return result;
}

double MeasureCeilingJobsPerSec(const std::string& dir, int jobs) {
  CeilingOptions options;
  options.dir = dir;
  options.jobs = jobs;
  const CeilingResult r = MeasureCeiling(options);
  if (!r.ok) {
    std::fprintf(stderr, "ceiling: %s\n", r.error.c_str());
    return 0;
  }
  return r.jobs_per_sec;
}

}  // namespace jobtape::bench
