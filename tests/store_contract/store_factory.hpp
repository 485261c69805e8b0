// The registry of Store implementations the contract suite, the stress test
// and anything else under tests/store_contract/ runs against.
//
// A new store joins every test by adding one entry in store_factory.cpp; no
// test is copied. SQLite is always present; PostgreSQL joins when the
// environment variable JOBTAPE_TEST_PG_DSN is set (CI always sets it).
//
// Thread-safety: StoreFactories() is safe to call from any thread; each
// factory's `make` may be called concurrently for different directories.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "core/limits.hpp"
#include "store/store.hpp"

namespace jobtape::store::testing {

struct StoreFactory {
  std::string name;  // a valid GoogleTest parameter name: "sqlite", "postgres"
  // Opens a fresh, empty store whose files (if any) live under `dir`, a
  // directory that exists for the lifetime of the store and is removed after.
  // Returns nullptr (after reporting a test failure) if the store cannot open.
  std::function<std::unique_ptr<Store>(const std::string& dir, const Limits& limits)> make;
  // Optional: the same store configured to skip per-commit fsyncs, for load
  // tests whose subject is not durability (the stress test). Empty = `make`.
  std::function<std::unique_ptr<Store>(const std::string& dir, const Limits& limits)> make_fast;

  std::unique_ptr<Store> MakeFast(const std::string& dir, const Limits& limits) const {
    return make_fast ? make_fast(dir, limits) : make(dir, limits);
  }
};

// Every store available in this build and environment.
const std::vector<StoreFactory>& StoreFactories();

// For GoogleTest's parameter names and failure messages.
inline std::string FactoryName(const ::testing::TestParamInfo<StoreFactory>& info) {
  return info.param.name;
}
inline void PrintTo(const StoreFactory& f, std::ostream* os) {
  *os << f.name;
}

}  // namespace jobtape::store::testing
