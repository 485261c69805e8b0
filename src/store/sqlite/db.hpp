// A thin RAII wrapper over the SQLite C API: a connection (Db), prepared
// statements (Stmt) and a per-connection statement cache.
//
// Thread-safety: a Db and its statements belong to one thread at a time.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/status.hpp"

namespace jobtape::store::sqlite {

class Stmt {
 public:
  Stmt() = default;
  Stmt(sqlite3* db, std::string_view sql);  // throws std::logic_error on bad SQL (a bug)
  ~Stmt();
  Stmt(Stmt&& o) noexcept : db_(o.db_), stmt_(o.stmt_) { o.stmt_ = nullptr; }
  Stmt& operator=(Stmt&&) = delete;
  Stmt(const Stmt&) = delete;

  // Binding (1-based indexes, as in SQLite).
  Stmt& Bind(int i, int64_t v);
  Stmt& Bind(int i, int v) { return Bind(i, static_cast<int64_t>(v)); }
  Stmt& Bind(int i, double v);
  Stmt& Bind(int i, std::string_view v);  // text; the view must outlive Step()
  Stmt& BindNull(int i);
  Stmt& BindOpt(int i, const std::optional<int64_t>& v) { return v ? Bind(i, *v) : BindNull(i); }
  // Empty string binds NULL.
  Stmt& BindTextOrNull(int i, std::string_view v) { return v.empty() ? BindNull(i) : Bind(i, v); }

  // Returns true for a row, false when done. Errors: kUnavailable/kInternal.
  Result<bool> Step();
  // Steps through every row, calling `on_row(*this)` for each. Stops at the
  // first error and returns it.
  template <typename F>
  Status ForEach(F&& on_row) {
    while (true) {
      auto row = Step();
      if (!row.ok()) return row.status();
      if (!*row) return Status::Ok();
      on_row(*this);
    }
  }
  // Steps to completion (for statements without rows). Resets afterwards.
  Status Run();
  void Reset();

  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  double Real(int col) const { return sqlite3_column_double(stmt_, col); }
  std::string Text(int col) const;
  std::string_view TextView(int col) const;
  std::optional<int64_t> OptInt(int col) const {
    return IsNull(col) ? std::nullopt : std::optional<int64_t>(Int(col));
  }

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

// Resets a statement when it leaves scope, so a cached statement never holds
// a read snapshot or a pending row past its use.
class StmtScope {
 public:
  explicit StmtScope(Stmt& s) : s_(s) {}
  ~StmtScope() { s_.Reset(); }
  Stmt* operator->() { return &s_; }
  Stmt& operator*() { return s_; }

 private:
  Stmt& s_;
};

class Db {
 public:
  enum class Mode { kReadWrite, kReadOnly };
  static Result<std::unique_ptr<Db>> Open(const std::string& path, Mode mode);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Executes one or more statements without results. Errors carry SQLite's message.
  Status Exec(std::string_view sql);
  // Prepares (once) and returns a cached statement, reset and with bindings cleared.
  // `sql` must be a string literal or otherwise outlive the Db: it is the cache key.
  Stmt& Prepare(const char* sql);
  // A statement not cached (dynamic SQL).
  Stmt PrepareOnce(std::string_view sql) { return Stmt(db_, sql); }

  int64_t Changes() const { return sqlite3_changes64(db_); }
  sqlite3* raw() const { return db_; }

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unordered_map<const char*, std::unique_ptr<Stmt>> cache_;
};

// See sqlite_store.hpp.
void InitializeLibrary();

// Maps a SQLite result code to a Status (busy/locked/full/io -> kUnavailable).
Status SqliteStatus(sqlite3* db, int rc, std::string_view what);

}  // namespace jobtape::store::sqlite
