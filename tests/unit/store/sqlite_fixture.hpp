// The SQLite store tests' fixture: a fresh database path per test, and a
// way to run store operations as requests of a Writer of one's own.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <latch>
#include <optional>
#include <string>

#include "store/sqlite/ops.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "store/sqlite/writer.hpp"

namespace jobtape::store::sqlite {

namespace fs = std::filesystem;

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("jobtape-sqlite-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "jobs.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<Store> OpenOrDie() {
    auto s = Open(Options{.path = path_});
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }

  static JobSpec Spec(std::string kind = "k") {
    JobSpec s;
    s.kind = std::move(kind);
    return s;
  }

  fs::path dir_;
  std::string path_;
  const TimePoint now_ = FromMicros(1'700'000'000'000'000);
};

// Runs `fn` as one request of `writer` and returns its result.
template <typename T>
Result<T> RunRequest(Writer& writer, std::function<Result<T>(WriteCtx&)> fn) {
  std::optional<Result<T>> out;
  std::latch done(1);
  writer.Submit(std::make_unique<TypedWriteRequest<T>>(std::move(fn), [&](Result<T> r) {
    out.emplace(std::move(r));
    done.count_down();
  }));
  done.wait();
  return std::move(*out);
}

}  // namespace jobtape::store::sqlite
