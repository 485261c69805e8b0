// Base URLs, request targets and client option resolution.
#include <gtest/gtest.h>

#include "client/base_url.hpp"
#include "client/options.hpp"

namespace jobtape::client {
namespace {

TEST(BaseUrl, ParsesHostPortAndPrefix) {
  auto u = ParseBaseUrl("http://jobs.internal:9000/jobtape/");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->host, "jobs.internal");
  EXPECT_EQ(u->port, 9000);
  EXPECT_EQ(u->prefix, "/jobtape");
  EXPECT_EQ(u->HostHeader(), "jobs.internal:9000");
  EXPECT_EQ(u->ToString(), "http://jobs.internal:9000/jobtape");
}

TEST(BaseUrl, DefaultsPortTo80AndUnbracketsIpv6) {
  auto u = ParseBaseUrl("http://[::1]");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->prefix, "");
  EXPECT_EQ(u->HostHeader(), "[::1]:80");
}

TEST(BaseUrl, RefusesWhatItCannotServe) {
  for (const char* bad : {"https://x", "ftp://x", "x:8080", "http://u:p@x", "http://x?a=1",
                          "http://x:0", "http://x:99999", "http://", "not a url"}) {
    auto u = ParseBaseUrl(bad);
    EXPECT_FALSE(u.ok()) << bad;
    if (!u.ok()) {
      EXPECT_EQ(u.status().code(), ErrorCode::kInvalidArgument) << bad;
      EXPECT_EQ(u.status().field(), "server") << bad;
    }
  }
}

TEST(BaseUrl, BuildTargetEncodesQueryValues) {
  BaseUrl base{"h", 80, "/p"};
  EXPECT_EQ(BuildTarget(base, "/v1/jobs"), "/p/v1/jobs");
  EXPECT_EQ(BuildTarget(base, "/v1/jobs", {{"queue", "a b&c"}, {"kind", "x.y:z-_~"}}),
            "/p/v1/jobs?queue=a%20b%26c&kind=x.y%3Az-_~");
  EXPECT_EQ(PercentEncode("é/"), "%C3%A9%2F");
}

TEST(ClientOptions, FlagBeatsEnvironmentBeatsDefault) {
  auto d = ResolveClientOptions(std::nullopt, {});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->server.ToString(), "http://127.0.0.1:8080");
  EXPECT_EQ(d->token, "");

  std::map<std::string, std::string> env = {{"JOBTAPE_URL", "http://env:1"},
                                            {"JOBTAPE_TOKEN", "secret-token-123456"}};
  auto e = ResolveClientOptions(std::nullopt, env);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->server.ToString(), "http://env:1");
  EXPECT_EQ(e->token, "secret-token-123456");

  auto f = ResolveClientOptions(std::string("http://flag:2"), env);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->server.ToString(), "http://flag:2");
  EXPECT_EQ(f->token, "secret-token-123456");

  EXPECT_FALSE(ResolveClientOptions(std::string("https://flag"), env).ok());
}

}  // namespace
}  // namespace jobtape::client
