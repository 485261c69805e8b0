// Kinds: the operator-defined commands the built-in executor may run.
//
// A client submits a job naming a kind and a JSON payload; it can never name a
// command (DESIGN §2 "Executors"). The operator defines each kind in its own
// TOML file (`<dir>/*.toml`, loaded by KindRegistry):
//
//   name = "thumbnail"                       # required; [A-Za-z0-9_.:-]{1,128}
//   argv = ["/usr/bin/convert", "-", "-"]    # required, non-empty
//   working_dir = "/var/lib/jobtape/work"    # absolute; default: the server's cwd
//   queue = "media"                          # default "default"
//   timeout_ms = 60000                       # per attempt; default: none
//   max_concurrent = 4                       # per-kind slots; default: unlimited
//   cancel_grace_ms = 10000                  # SIGTERM -> SIGKILL delay
//   [env]                                    # string -> string
//   LANG = "C.UTF-8"
//   [retry]
//   max_attempts = 5
//   fatal_exit_codes = [2, 64]               # or retryable_exit_codes = [75]
//   [retry.backoff]                          # optional; default: the job's
//   initial_ms = 1000
//   max_ms = 600000
//   multiplier = 2.0
//   jitter = 0.2
//
// Every key not listed above is an error: a typo must not silently fall back
// to a default.
//
// argv[0] is either an absolute path or a bare program name (no '/'), which is
// resolved at spawn time against the PATH of the *child's* environment (the
// kind's `env.PATH`, else kDefaultChildPath) — see process.hpp. Relative paths
// such as "./run.sh" are rejected: they would depend on working_dir and the
// server's cwd at once.
//
// Thread-safety: value types and a pure function; safe from any thread.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/job.hpp"
#include "core/status.hpp"

namespace jobtape::exec {

// A cancelled attempt gets this long between SIGTERM and SIGKILL: long enough
// for a well-behaved program to flush and exit, short enough that a cancel
// feels prompt.
inline constexpr Duration kDefaultCancelGrace = std::chrono::seconds(10);
// Matches JobSpec::max_attempts so a kind without [retry] behaves like a job
// submitted without max_attempts.
inline constexpr int kDefaultKindMaxAttempts = 3;
// A kind file is a few hundred bytes; anything near this is a mistake (R9).
inline constexpr std::size_t kMaxKindFileBytes = 64 * 1024;
// Guards against an argv or env that exec would refuse anyway (E2BIG).
inline constexpr std::size_t kMaxArgvEntries = 4096;

// When is a failed attempt worth retrying? One rule:
//   * exit code 0 is success and never listed;
//   * if `retryable_exit_codes` is non-empty, exactly those codes are retryable
//     and every other non-zero code is fatal;
//   * otherwise every non-zero code is retryable except those in
//     `fatal_exit_codes`.
// Setting both lists is a parse error. Deaths by signal and timeouts are always
// retryable (see attempt.hpp); the store still stops at max_attempts.
struct RetryPolicy {
  int max_attempts = kDefaultKindMaxAttempts;  // default for jobs of this kind
  std::vector<int> retryable_exit_codes;       // 1..255, sorted, unique
  std::vector<int> fatal_exit_codes;           // 1..255, sorted, unique
  std::optional<Backoff> backoff;              // absent: the job's own backoff

  // Applies the rule above to a non-zero exit code.
  bool IsRetryableExitCode(int code) const;
};

struct KindSpec {
  std::string name;
  std::vector<std::string> argv;           // non-empty; argv[0] absolute or bare
  std::map<std::string, std::string> env;  // no JOBTAPE_* keys (reserved)
  std::string working_dir;                 // absolute, or empty = server's cwd
  std::string queue = "default";
  std::optional<Duration> timeout;    // per attempt; absent = none
  std::optional<int> max_concurrent;  // absent = no per-kind limit
  Duration cancel_grace = kDefaultCancelGrace;
  RetryPolicy retry;
  std::string source_path;  // the file it was read from
};

// Reads and validates one kind file. Errors (kInvalidArgument) name the file
// and the key, e.g. "/etc/jobtape/kinds/a.toml: retry.max_attempts: must be
// between 1 and 100 (got 0)", with the key in Status::field(). A missing or
// unreadable file is kNotFound / kInvalidArgument with the OS reason; a TOML
// syntax error carries its line and column.
Result<KindSpec> ParseKindFile(const std::string& path);

// Same, from text already read; `origin` names it in messages.
Result<KindSpec> ParseKindText(std::string_view text, const std::string& origin);

}  // namespace jobtape::exec
