#include "api_fixture.hpp"

namespace jobtape::integration {

std::string ApiReply::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
  }
  return "";
}

std::string ApiReply::ErrorCode() const {
  if (!json.is_object()) return "";
  const auto* error = json.as_object().if_contains("error");
  if (error == nullptr || !error->is_object()) return "";
  const auto* code = error->as_object().if_contains("code");
  return code != nullptr && code->is_string() ? std::string(code->as_string()) : "";
}

Api::Api(uint16_t port, std::string token) : port_(port), token_(std::move(token)) {}

ApiReply Api::Call(const std::string& method, const std::string& target, const std::string& body,
                   Headers headers) {
  if (!token_.empty()) headers.emplace_back("Authorization", "Bearer " + token_);
  std::optional<http::testing::Reply> reply;
  for (int tries = 0; tries < 2 && !reply; ++tries) {
    if (!client_ || !client_->connected()) {
      client_ = std::make_unique<http::testing::TestClient>(port_, kGuard);
    }
    reply = client_->Send(method, target, body, headers);
    if (!reply || !reply->keep_alive) client_.reset();
  }
  ApiReply out;
  if (!reply) return out;
  out.status = reply->status;
  out.body = reply->body;
  out.headers = reply->headers;
  out.json = reply->BodyJson();
  return out;
}

int64_t Api::Submit(const std::string& queue, const std::string& extra) {
  ApiReply r = Post("/v1/jobs", "{\"kind\":\"test\",\"queue\":\"" + queue + "\"" +
                                    (extra.empty() ? "" : "," + extra) + "}");
  if ((r.status != 201 && r.status != 200) || !r.json.is_object()) return 0;
  return r.json.as_object().at("id").as_int64();
}

std::vector<TestLease> LeasesOf(const ApiReply& reply) {
  std::vector<TestLease> out;
  if (!reply.json.is_object() || !reply.json.as_object().contains("jobs")) return out;
  for (const auto& item : reply.json.at("jobs").as_array()) {
    const auto& lease = item.at("lease").as_object();
    out.push_back({lease.at("job_id").as_int64(), static_cast<int>(lease.at("attempt").as_int64()),
                   std::string(lease.at("lease_token").as_string())});
  }
  return out;
}

void ServerTest::StartServer(std::vector<std::string> extra,
                             std::map<std::string, std::string> env) {
  ASSERT_FALSE(dir_.path().empty());
  server_ =
      std::make_unique<ServerProcess>(dir_.path() + "/data", std::move(extra), std::move(env));
  ASSERT_TRUE(server_->WaitForListening()) << server_->Output();
}

}  // namespace jobtape::integration
