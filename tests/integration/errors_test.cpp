// R9 over HTTP: every class of bad request gets the right status and a JSON
// error body, and writes nothing. Auth: missing or unknown tokens are 401,
// a role without the permission is 403, health probes stay open.
#include "api_fixture.hpp"

namespace jobtape::integration {
namespace {

const std::string kAdmin = "admin-token-0123456789";
const std::string kProducer = "producer-token-0123456789";
const std::string kWorker = "worker-token-0123456789";
const std::string kReader = "reader-token-0123456789";

// Checks the one shape of every error body.
void ExpectError(const ApiReply& r, int status, const std::string& code,
                 const std::string& field = {}) {
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_EQ(r.Header("Content-Type"), "application/json") << r.body;
  ASSERT_TRUE(r.json.is_object()) << r.body;
  const auto& error = r.json.at("error");
  EXPECT_EQ(error.at("code"), boost::json::value(code)) << r.body;
  EXPECT_TRUE(error.at("message").is_string()) << r.body;
  EXPECT_TRUE(error.at("request_id").is_string()) << r.body;
  if (!field.empty()) {
    EXPECT_EQ(error.as_object().contains("field") ? error.at("field") : nullptr,
              boost::json::value(field))
        << r.body;
  }
}

class ErrorsTest : public ServerTest {
 protected:
  void SetUp() override { StartServer({"--max-body-bytes", "65536"}); }
  // Nothing was written to the queue the bad requests named.
  void ExpectNothingWritten(Api& api) {
    ApiReply list = api.Get("/v1/jobs?queue=bad");
    ASSERT_EQ(list.status, 200) << list.body;
    EXPECT_TRUE(list.json.at("jobs").as_array().empty()) << list.body;
  }
};

TEST_F(ErrorsTest, BadRequestsGetJsonErrorsAndWriteNothing) {
  Api api(port());
  // Body over --max-body-bytes: 413 before it is read.
  std::string huge = R"({"kind":"k","queue":"bad","payload":")" + std::string(70'000, 'x') + "\"}";
  ExpectError(api.Post("/v1/jobs", huge), 413, "payload_too_large");
  // Nesting deeper than 32.
  std::string deep =
      R"({"kind":"k","queue":"bad","payload":)" + std::string(40, '[') + std::string(40, ']') + "}";
  ExpectError(api.Post("/v1/jobs", deep), 400, "invalid_argument");
  // Invalid UTF-8 in a string.
  ExpectError(api.Post("/v1/jobs", "{\"kind\":\"k\xff\xfe\",\"queue\":\"bad\"}"), 400,
              "invalid_argument");
  // Malformed JSON, a non-object, wrong types, unknown fields.
  ExpectError(api.Post("/v1/jobs", R"({"kind":"k",)"), 400, "invalid_argument");
  ExpectError(api.Post("/v1/jobs", R"([1,2])"), 400, "invalid_argument");
  ExpectError(api.Post("/v1/jobs", R"({"kind":"k","queue":"bad","priority":"high"})"), 400,
              "invalid_argument", "priority");
  ExpectError(api.Post("/v1/jobs", R"({"kind":"k","queue":"bad","priorty":1})"), 400,
              "invalid_argument", "priorty");
  ExpectError(api.Post("/v1/jobs", R"({"queue":"bad"})"), 400, "invalid_argument", "kind");
  // Well-formed but out of range: 422, with the field path.
  ExpectError(api.Post("/v1/jobs", R"({"kind":"k","queue":"bad","priority":1000})"), 422,
              "invalid_argument", "priority");
  ExpectError(api.Post("/v1/jobs", R"({"kind":"k","queue":"bad","max_attempts":0})"), 422,
              "invalid_argument", "max_attempts");
  ExpectError(api.Post("/v1/jobs", R"({"kind":"no spaces","queue":"bad"})"), 422,
              "invalid_argument", "kind");
  ExpectError(api.Post("/v1/jobs", R"({"jobs":[{"kind":"k","queue":"bad"},
                                               {"kind":"k","queue":"bad","priority":-101}]})"),
              422, "invalid_argument", "jobs[1].priority");
  // A batch over 1,000 jobs: 413 limit_exceeded, nothing of it written.
  std::string batch = R"({"jobs":[)";
  for (int i = 0; i < 1001; ++i)
    batch += (i ? "," : "") + std::string(R"({"kind":"k","queue":"bad"})");
  batch += "]}";
  ExpectError(api.Post("/v1/jobs", batch), 413, "limit_exceeded", "jobs");
  // Wrong content type, unknown route, wrong method, bad path parameter, bad query.
  ExpectError(api.Call("POST", "/v1/jobs", R"({"kind":"k","queue":"bad"})",
                       {{"Content-Type", "text/plain"}}),
              415, "unsupported_media_type");
  ExpectError(api.Get("/v1/nope"), 404, "not_found");
  ApiReply wrong_method = api.Call("DELETE", "/v1/jobs");
  ExpectError(wrong_method, 405, "method_not_allowed");
  EXPECT_EQ(wrong_method.Header("Allow"), "POST, GET");
  ExpectError(api.Get("/v1/jobs/abc"), 400, "invalid_argument", "id");
  ExpectError(api.Get("/v1/jobs?limit=ten"), 400, "invalid_argument", "limit");
  ExpectError(api.Get("/v1/jobs?limit=5000"), 422, "invalid_argument", "limit");
  ExpectError(api.Get("/v1/jobs?batch=seven"), 400, "invalid_argument", "batch");
  ExpectError(api.Get("/v1/jobs?batch=0"), 422, "invalid_argument", "batch");
  ExpectError(api.Get("/v1/jobs?colour=red"), 400, "invalid_argument", "colour");
  ExpectError(api.Get("/v1/jobs?state=sleeping"), 400, "invalid_argument", "state");
  // Worker protocol inputs.
  ExpectError(api.Post("/v1/claims", R"({"queues":[]})"), 422, "invalid_argument", "queues");
  ExpectError(api.Post("/v1/claims", R"({"queues":["bad"],"max":100000})"), 422, "invalid_argument",
              "max");
  ExpectError(api.Post("/v1/claims", R"({"queues":["bad"],"lease_ms":10})"), 422,
              "invalid_argument", "lease_ms");
  ExpectError(api.Post("/v1/claims", R"({"queues":"bad"})"), 400, "invalid_argument", "queues");
  ExpectError(api.Post("/v1/leases/1/1/heartbeat", R"({})"), 400, "invalid_argument",
              "lease_token");
  ExpectNothingWritten(api);
  // And the server is still fine.
  EXPECT_EQ(api.Get("/health/ready").status, 200);
}

TEST_F(ErrorsTest, ManySlowClientsDoNotStopANormalOne) {
  // 500 connections that each sent one byte of a request and then went quiet.
  std::vector<std::unique_ptr<http::testing::TestClient>> slow;
  for (int i = 0; i < 500; ++i) {
    auto c = std::make_unique<http::testing::TestClient>(port(), kGuard);
    ASSERT_TRUE(c->connected());
    ASSERT_TRUE(c->WriteRaw("G"));
    slow.push_back(std::move(c));
  }
  Api api(port());
  EXPECT_EQ(api.Get("/health/live").status, 200);
  EXPECT_EQ(api.Post("/v1/jobs", R"({"kind":"k","queue":"fast"})").status, 201);
}

class AuthTest : public ServerTest {
 protected:
  void SetUp() override {
    StartServer({"--token", "producer:" + kProducer, "--token", "worker:" + kWorker},
                {{"JOBTAPE_TOKENS", "admin:" + kAdmin + ",reader:" + kReader}});
  }
};

TEST_F(AuthTest, TokensAndRolesGateEveryRouteButTheProbes) {
  // Flags replace the environment's tokens: only producer and worker exist.
  Api anonymous(port());
  ExpectError(anonymous.Post("/v1/jobs", R"({"kind":"k","queue":"bad"})"), 401, "unauthenticated");
  EXPECT_EQ(anonymous.Post("/v1/jobs", R"({"kind":"k"})").Header("WWW-Authenticate").empty(),
            false);
  ExpectError(anonymous.Get("/v1/jobs"), 401, "unauthenticated");
  ExpectError(anonymous.Get("/metrics"), 401, "unauthenticated");
  EXPECT_EQ(anonymous.Get("/health/live").status, 200);
  EXPECT_EQ(anonymous.Get("/health/ready").status, 200);

  Api wrong(port(), "not-a-configured-token-123");
  ExpectError(wrong.Get("/v1/jobs"), 401, "unauthenticated");
  Api admin_from_env(port(), kAdmin);
  ExpectError(admin_from_env.Get("/v1/jobs"), 401, "unauthenticated");

  Api producer(port(), kProducer);
  Api worker(port(), kWorker);
  ExpectError(worker.Post("/v1/jobs", R"({"kind":"k","queue":"bad"})"), 403, "permission_denied");
  ExpectError(producer.Post("/v1/claims", R"({"queues":["bad"]})"), 403, "permission_denied");
  ExpectError(producer.Patch("/v1/queues/bad", R"({"paused":true})"), 403, "permission_denied");
  EXPECT_TRUE(producer.Get("/v1/jobs?queue=bad").json.at("jobs").as_array().empty());

  ASSERT_EQ(producer.Post("/v1/jobs", R"({"kind":"k","queue":"auth"})").status, 201);
  ApiReply claimed = worker.Post("/v1/claims", R"({"queues":["auth"]})");
  ASSERT_EQ(claimed.status, 200) << claimed.body;
  auto leases = LeasesOf(claimed);
  ASSERT_EQ(leases.size(), 1u);
  EXPECT_EQ(worker.Post(leases[0].Path("complete"), leases[0].Body()).status, 200);
  EXPECT_EQ(worker.Get("/v1/jobs?queue=auth").status, 200);
}

}  // namespace
}  // namespace jobtape::integration
