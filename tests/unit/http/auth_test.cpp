#include "http/auth.hpp"

#include <gtest/gtest.h>

namespace jobtape::http {
namespace {

constexpr const char* kAdmin = "admin-secret-0123456789";
constexpr const char* kWorker = "worker-secret-0123456789";

Authenticator TwoTokens() {
  auto a = Authenticator::Create({{"ops", Role::kAdmin, kAdmin}, {"", Role::kWorker, kWorker}});
  EXPECT_TRUE(a.ok()) << a.status().ToString();
  return std::move(a).value();
}

TEST(RoleTableTest, AdminMayDoEverything) {
  for (int p = 0; p <= static_cast<int>(Permission::kSchedulesAdmin); ++p) {
    EXPECT_TRUE(RoleAllows(Role::kAdmin, static_cast<Permission>(p)));
  }
}

TEST(RoleTableTest, ProducerSubmitsReadsCancelsRetries) {
  EXPECT_TRUE(RoleAllows(Role::kProducer, Permission::kJobsSubmit));
  EXPECT_TRUE(RoleAllows(Role::kProducer, Permission::kRead));
  EXPECT_TRUE(RoleAllows(Role::kProducer, Permission::kJobsCancel));
  EXPECT_TRUE(RoleAllows(Role::kProducer, Permission::kJobsRetry));
  EXPECT_FALSE(RoleAllows(Role::kProducer, Permission::kClaims));
  EXPECT_FALSE(RoleAllows(Role::kProducer, Permission::kLeases));
  EXPECT_FALSE(RoleAllows(Role::kProducer, Permission::kQueuesAdmin));
  EXPECT_FALSE(RoleAllows(Role::kProducer, Permission::kSchedulesAdmin));
}

TEST(RoleTableTest, WorkerClaimsLeasesAndReads) {
  EXPECT_TRUE(RoleAllows(Role::kWorker, Permission::kClaims));
  EXPECT_TRUE(RoleAllows(Role::kWorker, Permission::kLeases));
  EXPECT_TRUE(RoleAllows(Role::kWorker, Permission::kRead));
  EXPECT_FALSE(RoleAllows(Role::kWorker, Permission::kJobsSubmit));
  EXPECT_FALSE(RoleAllows(Role::kWorker, Permission::kJobsCancel));
}

TEST(RoleTableTest, ReaderOnlyReads) {
  for (int p = 0; p <= static_cast<int>(Permission::kSchedulesAdmin); ++p) {
    auto perm = static_cast<Permission>(p);
    EXPECT_EQ(RoleAllows(Role::kReader, perm),
              perm == Permission::kRead || perm == Permission::kPublic)
        << PermissionName(perm);
  }
}

TEST(AuthenticatorTest, KnownTokenGivesItsPrincipal) {
  Authenticator auth = TwoTokens();
  EXPECT_TRUE(auth.enabled());
  auto p = auth.Authenticate(std::string("Bearer ") + kAdmin);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->name, "ops");
  EXPECT_EQ(p->role, Role::kAdmin);
  auto w = auth.Authenticate(std::string("bearer   ") + kWorker + " ");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->name, "token-1");
  EXPECT_EQ(w->role, Role::kWorker);
}

TEST(AuthenticatorTest, RefusesMissingMalformedAndUnknown) {
  Authenticator auth = TwoTokens();
  for (auto header : {std::optional<std::string_view>(), std::optional<std::string_view>(""),
                      std::optional<std::string_view>(kAdmin),
                      std::optional<std::string_view>("Basic YWRtaW46eA=="),
                      std::optional<std::string_view>("Bearer"),
                      std::optional<std::string_view>("Bearer wrong-secret-0123456789"),
                      std::optional<std::string_view>("Bearer admin-secret-012345678")}) {
    auto p = auth.Authenticate(header);
    ASSERT_FALSE(p.ok()) << header.value_or("<none>");
    EXPECT_EQ(p.status().code(), ErrorCode::kUnauthenticated);
  }
}

TEST(AuthenticatorTest, OpenModeIsAnonymousAdmin) {
  Authenticator open = Authenticator::Open();
  EXPECT_FALSE(open.enabled());
  auto p = open.Authenticate(std::nullopt);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->role, Role::kAdmin);
  EXPECT_EQ(p->name, "anonymous");
}

TEST(AuthenticatorTest, AuthorizeNamesTheMissingPermission) {
  Status s = Authenticator::Authorize({"r", Role::kReader}, Permission::kJobsSubmit);
  EXPECT_EQ(s.code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(s.message().find("jobs.submit"), std::string::npos);
  EXPECT_TRUE(Authenticator::Authorize({"w", Role::kWorker}, Permission::kLeases).ok());
}

TEST(AuthenticatorTest, RefusesWeakOrDuplicateTokens) {
  auto short_token = Authenticator::Create({{"", Role::kAdmin, "short"}});
  EXPECT_EQ(short_token.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(short_token.status().field(), "tokens[0]");
  auto spaced = Authenticator::Create({{"", Role::kAdmin, "has a space in it 0123"}});
  EXPECT_FALSE(spaced.ok());
  auto twice = Authenticator::Create({{"", Role::kAdmin, kAdmin}, {"", Role::kReader, kAdmin}});
  EXPECT_EQ(twice.status().field(), "tokens[1]");
}

TEST(AuthenticatorTest, HashIsSha256) {
  auto h = Authenticator::HashToken("abc");
  const unsigned char expected[] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
                                    0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
                                    0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
                                    0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
  EXPECT_TRUE(std::equal(h.begin(), h.end(), expected));
}

TEST(ParseTokenListTest, ParsesRolesAndTokens) {
  auto list = ParseTokenList(" admin:aaaaaaaaaaaaaaaa, worker:bb:cc ,");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].role, Role::kAdmin);
  EXPECT_EQ((*list)[0].token, "aaaaaaaaaaaaaaaa");
  EXPECT_EQ((*list)[1].role, Role::kWorker);
  EXPECT_EQ((*list)[1].token, "bb:cc");
  EXPECT_TRUE(ParseTokenList("")->empty());
}

TEST(ParseTokenListTest, RejectsBadEntries) {
  EXPECT_EQ(ParseTokenList("admin:x,nocolon").status().field(), "tokens[1]");
  EXPECT_EQ(ParseTokenList("root:abc").status().field(), "tokens[0]");
}

TEST(BindSecurityTest, LoopbackAddresses) {
  for (const char* a :
       {"127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(IsLoopbackAddress(a)) << a;
  }
  for (const char* a : {"0.0.0.0", "::", "10.0.0.1", "192.168.1.1", "example.com", "", "128.0.0.1",
                        "::ffff:10.0.0.1", "::2"}) {
    EXPECT_FALSE(IsLoopbackAddress(a)) << a;
  }
}

TEST(BindSecurityTest, RefusesPublicBindWithoutTokens) {
  Authenticator open = Authenticator::Open();
  Status s = CheckBindSecurity("0.0.0.0", open);
  EXPECT_EQ(s.code(), ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(CheckBindSecurity("127.0.0.1", open).ok());
  EXPECT_TRUE(CheckBindSecurity("0.0.0.0", TwoTokens()).ok());
}

}  // namespace
}  // namespace jobtape::http
