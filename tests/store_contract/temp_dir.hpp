// TempDir: a fresh directory under $TMPDIR (or /tmp), removed with everything
// in it when the object goes away.
//
// Thread-safety: a TempDir is owned by one test; path() may be read anywhere.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

namespace jobtape::store::testing {

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string(base && *base ? base : "/tmp") + "/jobtape-test-XXXXXX";
    if (char* made = ::mkdtemp(templ.data())) path_ = made;
  }
  ~TempDir() {
    if (path_.empty()) return;
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Empty if the directory could not be created.
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace jobtape::store::testing
