#include "exec/kind_registry.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "test_util.hpp"

namespace jobtape::exec {
namespace {

// Sets a file's (or directory's) mtime explicitly, so change detection is
// tested without sleeping past the file system's timestamp granularity.
void SetMtime(const std::string& path, time_t sec) {
  timespec times[2] = {{sec, 0}, {sec, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), times, 0), 0) << path;
}

std::string Kind(const std::string& name, const std::string& prog = "/bin/true") {
  return "name = \"" + name + "\"\nargv = [\"" + prog + "\"]\n";
}

class KindRegistryTest : public ::testing::Test {
 protected:
  // Writes `file` and pins its mtime and the directory's, so the next change
  // is visible only through what the test changes on purpose.
  std::string Put(const std::string& file, const std::string& text, time_t mtime = 1000) {
    std::string path = dir_.Write(file, text);
    SetMtime(path, mtime);
    SetMtime(dir_.path(), 5000);
    return path;
  }
  testing::TempDir dir_;
};

TEST_F(KindRegistryTest, StartsEmptyAtGenerationZero) {
  KindRegistry reg(dir_.path());
  EXPECT_EQ(reg.Current()->generation, 0u);
  EXPECT_TRUE(reg.Current()->kinds.empty());
}

TEST_F(KindRegistryTest, LoadsKindsAndParsesNothingWhenUnchanged) {
  Put("a.toml", Kind("a"));
  Put("b.toml", Kind("b"));
  KindRegistry reg(dir_.path());
  auto first = reg.Refresh();
  EXPECT_TRUE(first->dir_status.ok());
  EXPECT_EQ(first->generation, 1u);
  ASSERT_EQ(first->kinds.size(), 2u);
  ASSERT_NE(first->Find("a"), nullptr);
  EXPECT_EQ(first->Find("a")->argv[0], "/bin/true");
  EXPECT_EQ(first->Find("zzz"), nullptr);
  EXPECT_EQ(reg.parses(), 2u);

  auto again = reg.Refresh();
  EXPECT_EQ(again, first);  // the cached snapshot itself
  EXPECT_EQ(again->generation, 1u);
  EXPECT_EQ(reg.parses(), 2u);
  EXPECT_EQ(reg.Current(), first);
}

TEST_F(KindRegistryTest, MtimeChangeReparsesOnlyThatFile) {
  std::string a = Put("a.toml", Kind("a"));
  Put("b.toml", Kind("b"));
  KindRegistry reg(dir_.path());
  reg.Refresh();
  SetMtime(a, 2000);  // same content, same size, same inode
  auto snap = reg.Refresh();
  EXPECT_EQ(snap->generation, 2u);
  EXPECT_EQ(reg.parses(), 3u);
}

TEST_F(KindRegistryTest, SizeChangeWithSameMtimeIsDetected) {
  std::string a = Put("a.toml", Kind("a"));
  KindRegistry reg(dir_.path());
  reg.Refresh();
  Put("a.toml", Kind("a", "/bin/false"));  // mtime pinned back to 1000
  auto snap = reg.Refresh();
  EXPECT_EQ(snap->generation, 2u);
  EXPECT_EQ(snap->Find("a")->argv[0], "/bin/false");
}

TEST_F(KindRegistryTest, InodeChangeWithSameMtimeAndSizeIsDetected) {
  Put("a.toml", Kind("a", "/bin/aaa"));
  KindRegistry reg(dir_.path());
  reg.Refresh();
  // An editor's atomic save: write a temp file, rename it over the original.
  std::string tmp = Put("a.tmp", Kind("a", "/bin/bbb"));
  ASSERT_EQ(std::rename(tmp.c_str(), (dir_.path() + "/a.toml").c_str()), 0);
  SetMtime(dir_.path(), 5000);
  auto snap = reg.Refresh();
  EXPECT_EQ(snap->generation, 2u);
  EXPECT_EQ(snap->Find("a")->argv[0], "/bin/bbb");
}

TEST_F(KindRegistryTest, HotAddAndDelete) {
  Put("a.toml", Kind("a"));
  KindRegistry reg(dir_.path());
  reg.Refresh();
  std::string b = Put("b.toml", Kind("b"));
  SetMtime(dir_.path(), 6000);
  auto added = reg.Refresh();
  EXPECT_EQ(added->generation, 2u);
  EXPECT_NE(added->Find("b"), nullptr);
  EXPECT_EQ(reg.parses(), 2u);  // a.toml was not parsed again

  ASSERT_EQ(std::remove(b.c_str()), 0);
  SetMtime(dir_.path(), 7000);
  auto removed = reg.Refresh();
  EXPECT_EQ(removed->generation, 3u);
  EXPECT_EQ(removed->Find("b"), nullptr);
  EXPECT_NE(removed->Find("a"), nullptr);
  // The old snapshot is immutable and still usable.
  EXPECT_NE(added->Find("b"), nullptr);
}

TEST_F(KindRegistryTest, MalformedFileIsSkippedWithItsErrorOthersLoad) {
  Put("a.toml", Kind("a"));
  std::string bad = Put("bad.toml", Kind("bad") + "retries = 3\n");
  KindRegistry reg(dir_.path());
  auto snap = reg.Refresh();
  EXPECT_NE(snap->Find("a"), nullptr);
  EXPECT_EQ(snap->Find("bad"), nullptr);
  ASSERT_EQ(snap->errors.size(), 1u);
  EXPECT_EQ(snap->errors[0].path, bad);
  EXPECT_NE(snap->errors[0].status.message().find("retries: unknown key"), std::string::npos)
      << snap->errors[0].status.message();

  Put("bad.toml", Kind("bad"), 2000);  // fixed
  snap = reg.Refresh();
  EXPECT_NE(snap->Find("bad"), nullptr);
  EXPECT_TRUE(snap->errors.empty());
}

TEST_F(KindRegistryTest, DuplicateNameIsAnErrorForTheLaterFile) {
  Put("a.toml", Kind("same", "/bin/first"));
  std::string b = Put("b.toml", Kind("same", "/bin/second"));
  KindRegistry reg(dir_.path());
  auto snap = reg.Refresh();
  ASSERT_NE(snap->Find("same"), nullptr);
  EXPECT_EQ(snap->Find("same")->argv[0], "/bin/first");
  ASSERT_EQ(snap->errors.size(), 1u);
  EXPECT_EQ(snap->errors[0].path, b);
  EXPECT_NE(snap->errors[0].status.message().find("already defined in"), std::string::npos);
}

TEST_F(KindRegistryTest, IgnoresOtherAndHiddenFiles) {
  Put("a.toml", Kind("a"));
  Put("notes.txt", "not a kind");
  Put(".hidden.toml", "garbage = ");
  KindRegistry reg(dir_.path());
  auto snap = reg.Refresh();
  EXPECT_EQ(snap->kinds.size(), 1u);
  EXPECT_TRUE(snap->errors.empty());
  EXPECT_EQ(reg.parses(), 1u);
}

TEST_F(KindRegistryTest, MissingDirectoryIsAnErrorInTheSnapshot) {
  std::string dir = dir_.path() + "/kinds";
  KindRegistry reg(dir);
  auto snap = reg.Refresh();
  EXPECT_EQ(snap->dir_status.code(), ErrorCode::kNotFound);
  EXPECT_NE(snap->dir_status.message().find(dir), std::string::npos);
  EXPECT_TRUE(snap->kinds.empty());
  EXPECT_EQ(snap->generation, 1u);
  EXPECT_EQ(reg.Refresh()->generation, 1u);  // still missing: no change

  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  std::string f = dir + "/a.toml";
  { std::ofstream(f) << Kind("a"); }
  snap = reg.Refresh();
  EXPECT_TRUE(snap->dir_status.ok());
  EXPECT_EQ(snap->generation, 2u);
  EXPECT_NE(snap->Find("a"), nullptr);
}

TEST_F(KindRegistryTest, CurrentIsSafeWhileRefreshing) {
  Put("a.toml", Kind("a"));
  KindRegistry reg(dir_.path());
  reg.Refresh();
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    uint64_t last = 0;
    while (!stop.load()) {
      auto snap = reg.Current();
      EXPECT_GE(snap->generation, last);  // never goes back
      last = snap->generation;
      EXPECT_NE(snap->Find("a"), nullptr);
    }
  });
  for (int i = 0; i < 50; ++i) {
    SetMtime(dir_.path() + "/a.toml", 2000 + i);
    EXPECT_EQ(reg.Refresh()->generation, static_cast<uint64_t>(i + 2));
  }
  stop.store(true);
  reader.join();
}

}  // namespace
}  // namespace jobtape::exec
