#include "http/router.hpp"

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace jobtape::http {
namespace {
using testing::ErrorOf;
using testing::MakeRequest;
using testing::RunCoroutine;

// A handler that answers with its name and the parameters it saw.
Handler Named(std::string name) {
  return [name](Request& r) -> boost::asio::awaitable<Response> {
    std::string body = name;
    for (const auto& [k, v] : r.params)
      body += " " + k + "=" + v;
    if (r.principal) body += " as " + r.principal->name;
    co_return JsonResponse(200, body);
  };
}

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() : router_(auth_) {
    router_.Add(Method::kGet, "/v1/jobs", Permission::kPublic, Named("list"));
    router_.Add(Method::kPost, "/v1/jobs", Permission::kPublic, Named("submit"),
                RequestBody::kJson);
    router_.Add(Method::kGet, "/v1/jobs/{id}", Permission::kPublic, Named("get"));
    router_.Add(Method::kGet, "/v1/jobs/stats", Permission::kPublic, Named("stats"));
    router_.Add(Method::kGet, "/v1/jobs/{id}/events", Permission::kPublic, Named("events"));
    router_.Add(Method::kPost, "/v1/leases/{job}/{attempt}/heartbeat", Permission::kPublic,
                Named("heartbeat"));
    router_.Add(Method::kGet, "/", Permission::kPublic, Named("root"));
  }

  Response Call(Method m, std::string target, std::string body = {}, HeaderList headers = {}) {
    Request r = MakeRequest(m, std::move(target), std::move(body), std::move(headers));
    return RunCoroutine(router_.Dispatch(r));
  }

  Authenticator auth_ = Authenticator::Open();
  Router router_;
};

TEST_F(RouterTest, MatchesLiteralRoutesAndExtractsParameters) {
  EXPECT_EQ(Call(Method::kGet, "/v1/jobs").body, "list");
  EXPECT_EQ(Call(Method::kPost, "/v1/jobs").body, "submit");
  EXPECT_EQ(Call(Method::kGet, "/v1/jobs/42").body, "get id=42");
  EXPECT_EQ(Call(Method::kGet, "/v1/jobs/42/events?after=3").body, "events id=42");
  EXPECT_EQ(Call(Method::kPost, "/v1/leases/7/2/heartbeat").body, "heartbeat job=7 attempt=2");
  EXPECT_EQ(Call(Method::kGet, "/").body, "root");
}

TEST_F(RouterTest, ParametersArePercentDecodedSegments) {
  EXPECT_EQ(Call(Method::kGet, "/v1/jobs/a%20b").body, "get id=a b");
  // An encoded slash stays inside its segment instead of splitting the path.
  EXPECT_EQ(Call(Method::kGet, "/v1/jobs/a%2Fb/events").body, "events id=a/b");
}

TEST_F(RouterTest, LiteralSegmentBeatsParameter) {
  EXPECT_EQ(Call(Method::kGet, "/v1/jobs/stats").body, "stats");
  EXPECT_EQ(Call(Method::kGet, "/v1/jobs/statz").body, "get id=statz");
}

TEST_F(RouterTest, UnknownPathIsJson404) {
  for (const char* target : {"/v2/jobs", "/v1/jobs/1/nope", "/v1/jobs/", "/v1//jobs"}) {
    Response r = Call(Method::kGet, target);
    EXPECT_EQ(r.status, 404) << target;
    EXPECT_EQ(r.content_type, "application/json");
    auto error = ErrorOf(r.body);
    EXPECT_EQ(error.at("code").as_string(), "not_found") << target;
    EXPECT_EQ(error.at("request_id").as_string(), "test-1");
  }
}

TEST_F(RouterTest, WrongMethodIsJson405WithAllow) {
  Response r = Call(Method::kDelete, "/v1/jobs");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.Header("Allow").value_or(""), "GET, POST");
  EXPECT_EQ(ErrorOf(r.body).at("code").as_string(), "method_not_allowed");

  Response h = Call(Method::kGet, "/v1/leases/7/2/heartbeat");
  EXPECT_EQ(h.status, 405);
  EXPECT_EQ(h.Header("Allow").value_or(""), "POST");
}

TEST_F(RouterTest, JsonRouteRequiresJsonContentTypeForABody) {
  Response wrong = Call(Method::kPost, "/v1/jobs", "{}", {{"Content-Type", "text/plain"}});
  EXPECT_EQ(wrong.status, 415);
  auto error = ErrorOf(wrong.body);
  EXPECT_EQ(error.at("code").as_string(), "unsupported_media_type");
  EXPECT_EQ(error.at("field").as_string(), "Content-Type");

  EXPECT_EQ(Call(Method::kPost, "/v1/jobs", "{}").status, 415);  // no Content-Type at all
  EXPECT_EQ(
      Call(Method::kPost, "/v1/jobs", "{}", {{"content-type", "application/json; charset=utf-8"}})
          .body,
      "submit");
  EXPECT_EQ(Call(Method::kPost, "/v1/jobs").body, "submit");  // an empty body needs no type
}

TEST(RouterTableTest, RejectsMalformedAndDuplicateRoutes) {
  Authenticator auth = Authenticator::Open();
  Router router(auth);
  Handler h = Named("x");
  router.Add(Method::kGet, "/v1/jobs/{id}", Permission::kRead, h);
  EXPECT_THROW(router.Add(Method::kGet, "/v1/jobs/{job}", Permission::kRead, h),
               std::invalid_argument);
  EXPECT_NO_THROW(router.Add(Method::kPost, "/v1/jobs/{id}", Permission::kRead, h));
  EXPECT_THROW(router.Add(Method::kGet, "v1/jobs", Permission::kRead, h), std::invalid_argument);
  EXPECT_THROW(router.Add(Method::kGet, "/v1//jobs", Permission::kRead, h), std::invalid_argument);
  EXPECT_THROW(router.Add(Method::kGet, "/v1/{}", Permission::kRead, h), std::invalid_argument);
  EXPECT_THROW(router.Add(Method::kGet, "/v1/{Id}", Permission::kRead, h), std::invalid_argument);
  EXPECT_THROW(router.Add(Method::kGet, "/v1/x{id}", Permission::kRead, h), std::invalid_argument);
  EXPECT_THROW(router.Add(Method::kGet, "/v1/{a}/{a}", Permission::kRead, h),
               std::invalid_argument);
  EXPECT_THROW(router.Add(Method::kGet, "/v1/z", Permission::kRead, Handler()),
               std::invalid_argument);
}

class RouterAuthTest : public ::testing::Test {
 protected:
  RouterAuthTest()
      : auth_(Authenticator::Create({{"prod", Role::kProducer, "producer-token-0123456789"},
                                     {"read", Role::kReader, "reader-token-0123456789"}})
                  .value()),
        router_(auth_) {
    router_.Add(Method::kGet, "/health/live", Permission::kPublic, Named("live"));
    router_.Add(Method::kGet, "/v1/jobs", Permission::kRead, Named("list"));
    router_.Add(Method::kPost, "/v1/jobs", Permission::kJobsSubmit, Named("submit"));
  }

  Response Call(Method m, std::string target, std::optional<std::string> token) {
    HeaderList headers;
    if (token) headers.emplace_back("Authorization", "Bearer " + *token);
    Request r = MakeRequest(m, std::move(target), {}, std::move(headers));
    return RunCoroutine(router_.Dispatch(r));
  }

  Authenticator auth_;
  Router router_;
};

TEST_F(RouterAuthTest, PublicRouteNeedsNoToken) {
  EXPECT_EQ(Call(Method::kGet, "/health/live", std::nullopt).body, "live");
}

TEST_F(RouterAuthTest, MissingOrUnknownTokenIs401WithChallenge) {
  for (auto token :
       {std::optional<std::string>(), std::optional<std::string>("wrong-token-0123456789")}) {
    Response r = Call(Method::kGet, "/v1/jobs", token);
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(ErrorOf(r.body).at("code").as_string(), "unauthenticated");
    EXPECT_TRUE(r.Header("WWW-Authenticate").has_value());
  }
}

TEST_F(RouterAuthTest, RoleWithoutPermissionIs403) {
  Response r = Call(Method::kPost, "/v1/jobs", "reader-token-0123456789");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(ErrorOf(r.body).at("code").as_string(), "permission_denied");
}

TEST_F(RouterAuthTest, AuthorizedRequestCarriesPrincipal) {
  EXPECT_EQ(Call(Method::kPost, "/v1/jobs", "producer-token-0123456789").body, "submit as prod");
  EXPECT_EQ(Call(Method::kGet, "/v1/jobs", "reader-token-0123456789").body, "list as read");
}

TEST(ParseTargetTest, SplitsPathAndDecodesQuery) {
  Request r;
  ASSERT_TRUE(ParseTarget("/v1/jobs?queue=a%2Fb&state=queued&kind=x+y&flag&limit=5", r).ok());
  EXPECT_EQ(r.path, "/v1/jobs");
  EXPECT_EQ(r.segments, (std::vector<std::string>{"v1", "jobs"}));
  EXPECT_EQ(r.Query("queue").value_or("?"), "a/b");
  EXPECT_EQ(r.Query("state").value_or("?"), "queued");
  EXPECT_EQ(r.Query("kind").value_or("?"), "x y");
  EXPECT_EQ(r.Query("flag").value_or("?"), "");
  EXPECT_EQ(r.Query("limit").value_or("?"), "5");
  EXPECT_FALSE(r.Query("cursor").has_value());
}

TEST(ParseTargetTest, RejectsNonOriginForm) {
  Request r;
  EXPECT_FALSE(ParseTarget("http://example.com/v1/jobs", r).ok());
  EXPECT_FALSE(ParseTarget("*", r).ok());
  EXPECT_FALSE(ParseTarget("v1/jobs", r).ok());
  EXPECT_FALSE(ParseTarget("/v1/jobs?%zz", r).ok());
}

}  // namespace
}  // namespace jobtape::http
