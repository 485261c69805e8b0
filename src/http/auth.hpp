// Bearer-token authentication and role-based authorization (DESIGN §3).
//
// Tokens are configured as plaintext (config file or environment), hashed with
// SHA-256 when the Authenticator is built, and only the hashes are kept. A
// presented token is hashed and compared with every configured hash in
// constant time, so response timing reveals neither a prefix match nor which
// token matched.
//
// Roles map to permissions in one table (RoleAllows):
//   admin     everything
//   producer  jobs: submit, read, cancel, retry
//   worker    claims and lease calls, read
//   reader    read only
//
// With no token configured the server is open (every request acts as admin);
// CheckBindSecurity refuses that on anything but a loopback address.
//
// Thread-safety: Authenticator is immutable after Create(); all functions are
// safe to call concurrently.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"

namespace jobtape::http {

enum class Role : uint8_t { kAdmin, kProducer, kWorker, kReader };

std::string_view RoleName(Role role);
std::optional<Role> ParseRole(std::string_view name);

// What a route requires. Each route in the table names exactly one.
enum class Permission : uint8_t {
  kPublic,          // no credentials needed (liveness and readiness probes)
  kRead,            // GET jobs, events, streams, queues, schedules, batches, health, metrics
  kJobsSubmit,      // POST /v1/jobs, POST /v1/batches
  kJobsCancel,      // POST /v1/jobs/{id}/cancel
  kJobsRetry,       // POST /v1/jobs/{id}/retry
  kClaims,          // POST /v1/claims
  kLeases,          // POST /v1/leases/{job}/{attempt}/...
  kQueuesAdmin,     // PATCH /v1/queues/{name}
  kSchedulesAdmin,  // PUT and DELETE /v1/schedules/{name}
};

std::string_view PermissionName(Permission p);

// The one role -> permission table.
bool RoleAllows(Role role, Permission permission);

// Who made a request.
struct Principal {
  std::string name;  // the token's configured name, or "anonymous" when open
  Role role = Role::kReader;
};

// One configured token, as read from config.
struct TokenConfig {
  std::string name;  // shown in logs; empty = "token-<n>"
  Role role = Role::kReader;
  std::string token;  // plaintext; hashed by Authenticator::Create
};

// Tokens shorter than this are refused at load: a bearer token is a password
// that is never typed, so there is no reason for it to be guessable.
inline constexpr std::size_t kMinTokenLength = 16;
inline constexpr std::size_t kMaxTokenLength = 512;

// Parses "role:token[,role:token...]" (e.g. the JOBTAPE_TOKENS variable).
// Whitespace around entries is ignored. Errors: kInvalidArgument naming the
// entry ("tokens[2]") for an unknown role or a missing ':'.
Result<std::vector<TokenConfig>> ParseTokenList(std::string_view text);

class Authenticator {
 public:
  using Hash = std::array<unsigned char, 32>;

  // Hashes the tokens and wipes the plaintext copies. Errors:
  // kInvalidArgument for a token shorter than kMinTokenLength, longer than
  // kMaxTokenLength, containing whitespace or control characters, or given
  // twice.
  static Result<Authenticator> Create(std::vector<TokenConfig> tokens);
  // No tokens: every request is anonymous admin (loopback only, see
  // CheckBindSecurity).
  static Authenticator Open();

  // True if at least one token is configured.
  bool enabled() const { return !entries_.empty(); }

  // Checks an Authorization header value ("Bearer <token>"), or its absence.
  // Returns the principal; kUnauthenticated if the header is missing, is not
  // a bearer token, or the token is unknown. When open, always anonymous admin.
  Result<Principal> Authenticate(std::optional<std::string_view> authorization) const;

  // kPermissionDenied naming the permission if the principal's role lacks it.
  static Status Authorize(const Principal& principal, Permission permission);

  static Hash HashToken(std::string_view token);

 private:
  struct Entry {
    Hash hash;
    std::string name;
    Role role;
  };
  std::vector<Entry> entries_;
};

// True for 127.0.0.0/8, ::1, ::ffff:127.0.0.0/104 and "localhost".
bool IsLoopbackAddress(std::string_view address);

// Refuses to serve a non-loopback address without any token (DESIGN §3).
// Returns kFailedPrecondition with an explanation; OK otherwise.
Status CheckBindSecurity(std::string_view bind_address, const Authenticator& auth);

}  // namespace jobtape::http
