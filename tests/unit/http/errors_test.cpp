#include "http/errors.hpp"

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace jobtape::http {
namespace {
using testing::ErrorOf;

TEST(ErrorsTest, EveryCodeHasItsStatus) {
  struct Case {
    ErrorCode code;
    int decode;
    int apply;
  };
  const Case cases[] = {
      {ErrorCode::kInvalidArgument, 400, 422}, {ErrorCode::kNotFound, 404, 404},
      {ErrorCode::kStaleLease, 409, 409},      {ErrorCode::kConflict, 409, 409},
      {ErrorCode::kLimitExceeded, 413, 413},   {ErrorCode::kPayloadTooLarge, 413, 413},
      {ErrorCode::kUnauthenticated, 401, 401}, {ErrorCode::kPermissionDenied, 403, 403},
      {ErrorCode::kUnavailable, 503, 503},     {ErrorCode::kFailedPrecondition, 503, 503},
      {ErrorCode::kInternal, 500, 500},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(HttpStatusFor(c.code, Phase::kDecode), c.decode) << ErrorCodeName(c.code);
    EXPECT_EQ(HttpStatusFor(c.code, Phase::kApply), c.apply) << ErrorCodeName(c.code);
  }
  EXPECT_EQ(HttpStatusFor(ErrorCode::kInvalidArgument), 422);  // kApply by default
}

TEST(ErrorsTest, BodyCarriesCodeMessageFieldAndRequestId) {
  Response r = ErrorResponse(Status::InvalidArgument("must be an integer", "jobs[2].priority"),
                             Phase::kDecode, "abc-1");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.content_type, "application/json");
  auto e = ErrorOf(r.body);
  EXPECT_EQ(e.at("code").as_string(), "invalid_argument");
  EXPECT_EQ(e.at("message").as_string(), "must be an integer");
  EXPECT_EQ(e.at("field").as_string(), "jobs[2].priority");
  EXPECT_EQ(e.at("request_id").as_string(), "abc-1");
}

TEST(ErrorsTest, FieldIsOmittedWhenEmpty) {
  Response r = ErrorResponse(Status::StaleLease("lease expired"), Phase::kApply, "");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.body, R"({"error":{"code":"stale_lease","message":"lease expired"}})");
}

TEST(ErrorsTest, ChallengesAndRetryHints) {
  Response unauth =
      ErrorResponse(Status(ErrorCode::kUnauthenticated, "no token"), Phase::kApply, "");
  EXPECT_EQ(unauth.Header("WWW-Authenticate").value_or(""), "Bearer realm=\"jobtape\"");
  Response busy = ErrorResponse(Status::Unavailable("shutting down"), Phase::kApply, "");
  EXPECT_EQ(busy.Header("Retry-After").value_or(""), "1");
}

TEST(ErrorsTest, InternalErrorRevealsOnlyTheRequestId) {
  Response r = InternalErrorResponse("req-9");
  EXPECT_EQ(r.status, 500);
  auto e = ErrorOf(r.body);
  EXPECT_EQ(e.at("code").as_string(), "internal");
  EXPECT_EQ(e.at("request_id").as_string(), "req-9");
}

TEST(ErrorsTest, MessagesWithInvalidUtf8StillMakeValidJson) {
  // core cuts echoed input at 64 bytes, which can split a UTF-8 sequence.
  Response r = ErrorResponse(Status::InvalidArgument("got '\xc3'", "kind"), Phase::kApply, "");
  EXPECT_EQ(ErrorOf(r.body).at("message").as_string(), "got '\xef\xbf\xbd'");
}

}  // namespace
}  // namespace jobtape::http
