// The store registry (see store_factory.hpp): SQLite in a temp file always;
// PostgreSQL when JOBTAPE_TEST_PG_DSN is set.
#include "store_factory.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

#include "store/sqlite/sqlite_store.hpp"

namespace jobtape::store::testing {
namespace {

std::unique_ptr<Store> OpenSqlite(const std::string& dir, const Limits& limits,
                                  sqlite::Durability durability) {
  sqlite::Options options;
  options.path = dir + "/jobtape.db";
  options.durability = durability;
  options.limits = limits;
  auto store = sqlite::Open(options);
  if (!store.ok()) {
    ADD_FAILURE() << "sqlite::Open(" << options.path << "): " << store.status().ToString();
    return nullptr;
  }
  return std::move(store).value();
}

std::vector<StoreFactory> Build() {
  std::vector<StoreFactory> factories;
  factories.push_back({"sqlite",
                       [](const std::string& dir, const Limits& limits) {
                         // The default users get: fsync on every commit.
                         return OpenSqlite(dir, limits, sqlite::Durability::kFull);
                       },
                       [](const std::string& dir, const Limits& limits) {
                         return OpenSqlite(dir, limits, sqlite::Durability::kNormal);
                       }});
  // PostgreSQL joins here once src/store/postgres exists: when
  // JOBTAPE_TEST_PG_DSN is set, push {"postgres", make} where make creates a
  // fresh schema (or database) per call, and link jobtape_store_postgres in
  // CMakeLists.txt. No test changes. Until then say so rather than skip quietly.
  if (const char* dsn = std::getenv("JOBTAPE_TEST_PG_DSN"); dsn != nullptr && *dsn != '\0') {
    std::fprintf(stderr,
                 "note: JOBTAPE_TEST_PG_DSN is set but this build has no PostgreSQL store; "
                 "running the suite against SQLite only\n");
  }
  return factories;
}

}  // namespace

const std::vector<StoreFactory>& StoreFactories() {
  static const std::vector<StoreFactory> factories = Build();
  return factories;
}

}  // namespace jobtape::store::testing
