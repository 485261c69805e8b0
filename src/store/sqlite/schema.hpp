// Versioned schema migrations for the SQLite store.
//
// Migrations are applied in order at Open, each in its own transaction, and
// recorded in `schema_version`. A database whose version is newer than
// kMigrations knows refuses to open (an older binary must not write it).
//
// Thread-safety: call with exclusive use of the connection.
#pragma once

#include "core/status.hpp"
#include "store/sqlite/db.hpp"

namespace jobtape::store::sqlite {

int LatestSchemaVersion();
// Returns the version the database is at after migrating.
Result<int> Migrate(Db& db);
// Applies the migrations up to `target` only (tests build older databases).
Result<int> MigrateTo(Db& db, int target);
// Reads the version without migrating (0 = empty database).
Result<int> CurrentSchemaVersion(Db& db);

}  // namespace jobtape::store::sqlite
