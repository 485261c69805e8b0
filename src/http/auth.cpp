#include "http/auth.hpp"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstring>
#include <string>

#include "http/request.hpp"

namespace jobtape::http {
namespace {

constexpr std::string_view kRoleNames[] = {"admin", "producer", "worker", "reader"};

constexpr std::string_view kPermissionNames[] = {
    "public", "read",   "jobs.submit",  "jobs.cancel",     "jobs.retry",
    "claims", "leases", "queues.admin", "schedules.admin",
};

// The role -> permission table; rows in Role order, columns in Permission order.
constexpr bool kAllows[4][9] = {
    //             public read  submit cancel retry  claims leases queues sched
    /*admin   */ {true, true, true, true, true, true, true, true, true},
    /*producer*/ {true, true, true, true, true, false, false, false, false},
    /*worker  */ {true, true, false, false, false, true, true, false, false},
    /*reader  */ {true, true, false, false, false, false, false, false, false},
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool IsTokenChar(unsigned char c) {
  return c > 0x20 && c < 0x7f;
}

void Wipe(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

}  // namespace

std::string_view RoleName(Role role) {
  return kRoleNames[static_cast<int>(role)];
}

std::optional<Role> ParseRole(std::string_view name) {
  for (int i = 0; i < 4; ++i) {
    if (kRoleNames[i] == name) return static_cast<Role>(i);
  }
  return std::nullopt;
}

std::string_view PermissionName(Permission p) {
  return kPermissionNames[static_cast<int>(p)];
}

bool RoleAllows(Role role, Permission permission) {
  return kAllows[static_cast<int>(role)][static_cast<int>(permission)];
}

Result<std::vector<TokenConfig>> ParseTokenList(std::string_view text) {
  std::vector<TokenConfig> out;
  std::size_t index = 0;
  while (!text.empty()) {
    std::size_t comma = text.find(',');
    std::string_view entry = Trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (entry.empty()) continue;
    std::string field = "tokens[" + std::to_string(index) + "]";
    std::size_t colon = entry.find(':');
    if (colon == std::string_view::npos) {
      return Status::InvalidArgument("expected role:token", field);
    }
    std::optional<Role> role = ParseRole(Trim(entry.substr(0, colon)));
    if (!role) {
      return Status::InvalidArgument("unknown role (admin, producer, worker, reader)", field);
    }
    TokenConfig config;
    config.name = RoleName(*role);
    config.name += "-" + std::to_string(index);
    config.role = *role;
    config.token = std::string(Trim(entry.substr(colon + 1)));
    out.push_back(std::move(config));
    ++index;
  }
  return out;
}

Authenticator::Hash Authenticator::HashToken(std::string_view token) {
  Hash hash{};
  unsigned int size = 0;
  if (EVP_Digest(token.data(), token.size(), hash.data(), &size, EVP_sha256(), nullptr) != 1 ||
      size != hash.size()) {
    // libcrypto without SHA-256 is a broken installation, not a request error.
    std::abort();
  }
  return hash;
}

Result<Authenticator> Authenticator::Create(std::vector<TokenConfig> tokens) {
  Authenticator auth;
  Status error;
  for (std::size_t i = 0; i < tokens.size() && error.ok(); ++i) {
    TokenConfig& t = tokens[i];
    std::string field = "tokens[" + std::to_string(i) + "]";
    if (t.token.size() < kMinTokenLength || t.token.size() > kMaxTokenLength) {
      error = Status::InvalidArgument("a token must be 16 to 512 characters", field);
      break;
    }
    for (unsigned char c : t.token) {
      if (!IsTokenChar(c)) {
        error = Status::InvalidArgument("a token must be printable ASCII without spaces", field);
        break;
      }
    }
    if (!error.ok()) break;
    Entry entry{HashToken(t.token), t.name.empty() ? "token-" + std::to_string(i) : t.name, t.role};
    for (const Entry& e : auth.entries_) {
      if (CRYPTO_memcmp(e.hash.data(), entry.hash.data(), entry.hash.size()) == 0) {
        error = Status::InvalidArgument("the same token is configured twice", field);
      }
    }
    auth.entries_.push_back(std::move(entry));
  }
  for (TokenConfig& t : tokens)
    Wipe(t.token);
  if (!error.ok()) return error;
  return auth;
}

Authenticator Authenticator::Open() {
  return Authenticator();
}

Result<Principal> Authenticator::Authenticate(std::optional<std::string_view> authorization) const {
  if (!enabled()) return Principal{"anonymous", Role::kAdmin};
  if (!authorization) return Status(ErrorCode::kUnauthenticated, "a bearer token is required");
  std::string_view value = Trim(*authorization);
  constexpr std::string_view kScheme = "bearer";
  if (value.size() <= kScheme.size() ||
      !EqualsIgnoreCase(value.substr(0, kScheme.size()), kScheme) ||
      (value[kScheme.size()] != ' ' && value[kScheme.size()] != '\t')) {
    return Status(ErrorCode::kUnauthenticated, "expected 'Authorization: Bearer <token>'");
  }
  std::string_view token = Trim(value.substr(kScheme.size()));
  Hash presented = HashToken(token);
  // Compare against every entry without an early exit.
  const Entry* match = nullptr;
  for (const Entry& e : entries_) {
    bool equal = CRYPTO_memcmp(e.hash.data(), presented.data(), presented.size()) == 0;
    if (equal) match = &e;
  }
  if (match == nullptr) return Status(ErrorCode::kUnauthenticated, "unknown token");
  return Principal{match->name, match->role};
}

Status Authenticator::Authorize(const Principal& principal, Permission permission) {
  if (RoleAllows(principal.role, permission)) return Status::Ok();
  return Status(ErrorCode::kPermissionDenied, "role '" + std::string(RoleName(principal.role)) +
                                                  "' lacks permission '" +
                                                  std::string(PermissionName(permission)) + "'");
}

bool IsLoopbackAddress(std::string_view address) {
  std::string a(Trim(address));
  if (a.size() >= 2 && a.front() == '[' && a.back() == ']') a = a.substr(1, a.size() - 2);
  if (EqualsIgnoreCase(a, "localhost")) return true;
  unsigned char v4[4];
  if (inet_pton(AF_INET, a.c_str(), v4) == 1) return v4[0] == 127;
  unsigned char v6[16];
  if (inet_pton(AF_INET6, a.c_str(), v6) == 1) {
    static constexpr unsigned char kLoopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static constexpr unsigned char kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(v6, kLoopback, 16) == 0) return true;
    return std::memcmp(v6, kMappedPrefix, 12) == 0 && v6[12] == 127;
  }
  return false;  // a host name or garbage: cannot prove it is loopback
}

Status CheckBindSecurity(std::string_view bind_address, const Authenticator& auth) {
  if (auth.enabled() || IsLoopbackAddress(bind_address)) return Status::Ok();
  return Status::FailedPrecondition(
      "refusing to listen on '" + std::string(bind_address) +
      "' without any API token: configure tokens (e.g. JOBTAPE_TOKENS=admin:<secret>) or bind "
      "to 127.0.0.1");
}

}  // namespace jobtape::http
