// The node's persistent identity. The built-in executor stamps the attempts it
// runs with it (Store::JobsClaim's node_id), so that after a crash the next
// start of the same node can end exactly those attempts as `interrupted`
// (Store::AttemptsRecover) while leaving remote workers' leases alone (R8).
//
// The id lives in `<data_dir>/node_id` (one line, created at first start) so
// that it survives restarts and follows the data directory; an operator may
// pin it with the `node_id` option instead (e.g. a container whose data lives
// elsewhere). Two servers must never share one.
//
// Thread-safety: plain functions; call at start-up.
#pragma once

#include <string>

#include "core/status.hpp"

namespace jobtape::cli {

// Node ids are short and printable: 1-64 of [A-Za-z0-9._-].
Status ValidateNodeId(const std::string& id);

// Reads `<data_dir>/node_id`, creating it with a fresh random id ("n-" + 16
// hex digits) if it does not exist. kFailedPrecondition if the file exists
// but holds no valid id; kUnavailable if it cannot be read or written.
Result<std::string> LoadOrCreateNodeId(const std::string& data_dir);

}  // namespace jobtape::cli
