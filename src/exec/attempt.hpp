// Glue between a kind, one attempt of a job and the process runner: the
// child's environment and spawn request, and the Outcome an exit maps to.
// Shared by the server's built-in executor and `jobtape worker -- CMD`, so both
// run commands under the same contract.
//
// The environment is explicit, never inherited from the server (whose
// environment may hold database DSNs and tokens):
//   PATH=kDefaultChildPath          unless the kind's env sets PATH
//   <the kind's env>
//   JOBTAPE_JOB_ID, JOBTAPE_ATTEMPT, JOBTAPE_QUEUE, JOBTAPE_KIND
// A worker that wants to pass its own environment through copies it into a
// KindSpec::env before calling these (kind files reject JOBTAPE_* keys; these
// four always win).
//
// Thread-safety: pure functions over value types.
#pragma once

#include <string>
#include <vector>

#include "core/job.hpp"
#include "exec/kind.hpp"
#include "exec/process.hpp"

namespace jobtape::exec {

struct AttemptContext {
  JobId job_id = 0;
  int attempt = 0;    // 1-based
  std::string queue;  // the job's queue (may differ from the kind's default)
  std::string kind;
};

// "NAME=value" entries as described above, sorted by name.
std::vector<std::string> AttemptEnvironment(const KindSpec& kind, const AttemptContext& ctx);

// argv, env, working_dir, timeout and payload filled in; the caller adds the
// callbacks. `timeout` is the job's own timeout if set, else the kind's.
SpawnRequest MakeSpawnRequest(const KindSpec& kind, const AttemptContext& ctx, std::string payload,
                              std::optional<Duration> job_timeout = {});

// How an attempt that was not cancelled ends:
//   exit 0                -> Succeeded(result_json; empty = no result)
//   exit N != 0           -> Failed("exit_status"), retryable per kind.retry
//   timed out             -> Failed("timeout"), retryable
//   killed by a signal    -> Failed("signal"), retryable
//   spawn failed          -> Failed("spawn_failed"); retryable unless the
//                            cause is configuration (ENOENT, EACCES, ENOEXEC,
//                            ENOTDIR: the same spawn would fail again)
//   status lost           -> Failed("exit_unknown"), retryable
// Cancellation and shutdown are the caller's business: if it asked the runner
// to Terminate() the child it knows why, and should not call this.
Outcome AttemptOutcome(const KindSpec& kind, const ExitInfo& exit, std::string result_json);

}  // namespace jobtape::exec
