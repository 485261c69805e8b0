#include "core/status.hpp"

#include <gtest/gtest.h>

namespace jobtape {
namespace {

TEST(Status, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(ErrorCodeName(s.code()), "ok");
}

TEST(Status, CodesHaveStableWireNames) {
  EXPECT_EQ(ErrorCodeName(ErrorCode::kStaleLease), "stale_lease");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kNotFound), "not_found");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kInvalidArgument), "invalid_argument");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kLimitExceeded), "limit_exceeded");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kConflict), "conflict");
}

TEST(Status, FieldPrefixBuildsAPath) {
  Status s = Status::InvalidArgument("bad", "priority");
  EXPECT_EQ(s.WithFieldPrefix("jobs[3]").field(), "jobs[3].priority");
  EXPECT_EQ(Status::InvalidArgument("bad").WithFieldPrefix("jobs[1]").field(), "jobs[1]");
}

TEST(Result, HoldsValueOrStatus) {
  Result<int> good(7);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 7);
  Result<int> bad(Status::NotFound("no job 9"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace jobtape
