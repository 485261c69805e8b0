// Shared by the integration tests: a JSON-over-HTTP helper on the unit tests'
// TestClient, and fixtures that start the real server binary.
//
// Thread-safety: an Api is used by one thread at a time.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "server_process.hpp"
#include "test_client.hpp"

namespace jobtape::integration {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct ApiReply {
  int status = 0;  // 0: no reply (connection failed)
  std::string body;
  boost::json::value json;  // null unless the body is JSON
  Headers headers;
  std::string Header(std::string_view name) const;
  // The "error.code" of an error body, or "".
  std::string ErrorCode() const;
};

// One keep-alive connection (re-opened when the server closed it), with an
// optional bearer token.
class Api {
 public:
  explicit Api(uint16_t port, std::string token = {});
  ApiReply Call(const std::string& method, const std::string& target, const std::string& body = {},
                Headers headers = {});
  ApiReply Get(const std::string& target) { return Call("GET", target); }
  ApiReply Post(const std::string& target, const std::string& body = {}) {
    return Call("POST", target, body);
  }
  ApiReply Patch(const std::string& target, const std::string& body) {
    return Call("PATCH", target, body);
  }

  // Submits {"kind": kind, "queue": queue, ...extra members} and returns the id (0 on failure).
  int64_t Submit(const std::string& queue, const std::string& extra = {});

 private:
  uint16_t port_;
  std::string token_;
  std::unique_ptr<http::testing::TestClient> client_;
};

// A lease from a claim reply.
struct TestLease {
  int64_t job_id = 0;
  int attempt = 0;
  std::string token;
  std::string Path(const std::string& op) const {
    return "/v1/leases/" + std::to_string(job_id) + "/" + std::to_string(attempt) + "/" + op;
  }
  std::string Body(const std::string& extra = {}) const {
    return "{\"lease_token\":\"" + token + "\"" + (extra.empty() ? "" : "," + extra) + "}";
  }
};
// The leases of a POST /v1/claims reply.
std::vector<TestLease> LeasesOf(const ApiReply& reply);

// Starts the server (with `extra` flags) in a temp dir for the whole test.
class ServerTest : public ::testing::Test {
 protected:
  void StartServer(std::vector<std::string> extra = {},
                   std::map<std::string, std::string> env = {});
  uint16_t port() const { return server_->port(); }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
};

}  // namespace jobtape::integration
