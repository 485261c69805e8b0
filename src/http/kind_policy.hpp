// KindPolicy: what the server's defined job kinds mean for a submission and
// for readiness, seen from the HTTP layer (which knows nothing of kind files
// or processes; the CLI adapts the built-in executor's KindRegistry to it).
//
// A submission naming a defined kind takes the kind's queue, max_attempts and
// backoff where the client left them out. A submission to a queue the
// built-in executor serves must name one of its kinds: such a queue runs only
// operator-defined commands, so anything else could never run there.
//
// Thread-safety: implementations are called from any HTTP thread at once.
#pragma once

#include <string>
#include <vector>

#include "core/job.hpp"
#include "core/status.hpp"

namespace jobtape::http {

// Which optional fields the client sent (absent ones hold JobSpec defaults).
struct SubmittedFields {
  bool queue = false;
  bool max_attempts = false;
  bool backoff = false;
};

struct KindProblem {
  std::string file;
  std::string message;
};

class KindPolicy {
 public:
  virtual ~KindPolicy() = default;
  // Fills defaults from the job's kind; kInvalidArgument (field "kind") for a
  // kind that is not defined in a queue of the built-in executor.
  virtual Status Apply(JobSpec& spec, const SubmittedFields& fields) const = 0;
  // Kinds loaded now, and the kind files that failed to load (skipped).
  virtual int LoadedKinds() const = 0;
  virtual std::vector<KindProblem> Problems() const = 0;
};

}  // namespace jobtape::http
