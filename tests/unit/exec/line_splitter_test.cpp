#include "exec/line_splitter.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace jobtape::exec {
namespace {

struct Collect {
  std::vector<std::pair<std::string, bool>> lines;
  LineSplitter::Emit fn() {
    return [this](std::string_view l, bool cut) { lines.emplace_back(std::string(l), cut); };
  }
};

TEST(LineSplitter, JoinsChunksAndFlushesTheLastLine) {
  LineSplitter s(100);
  Collect c;
  s.Feed("ab", c.fn());
  s.Feed("c\nde\n\nf", c.fn());
  EXPECT_EQ(c.lines.size(), 3u);
  s.Finish(c.fn());
  ASSERT_EQ(c.lines.size(), 4u);
  EXPECT_EQ(c.lines[0].first, "abc");
  EXPECT_EQ(c.lines[1].first, "de");
  EXPECT_EQ(c.lines[2].first, "");
  EXPECT_EQ(c.lines[3].first, "f");
}

TEST(LineSplitter, CutsOverlongLineOnceAndDiscardsItsTail) {
  LineSplitter s(4);
  Collect c;
  s.Feed("abcdefgh", c.fn());
  s.Feed("ijk\nxy\n", c.fn());
  ASSERT_EQ(c.lines.size(), 2u);
  EXPECT_EQ(c.lines[0], std::make_pair(std::string("abcd"), true));
  EXPECT_EQ(c.lines[1], std::make_pair(std::string("xy"), false));
}

TEST(LineSplitter, LineOfExactlyTheCapIsNotCut) {
  LineSplitter s(4);
  Collect c;
  s.Feed("abcd", c.fn());
  s.Feed("\n", c.fn());
  ASSERT_EQ(c.lines.size(), 1u);
  EXPECT_EQ(c.lines[0], std::make_pair(std::string("abcd"), false));
}

}  // namespace
}  // namespace jobtape::exec
