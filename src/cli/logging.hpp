// Process-wide structured logging on spdlog, to stdout: human text on a
// terminal, JSON lines ({"time","level","msg"}) otherwise, so log shippers
// get one parseable record per line.
//
// Thread-safety: call SetupLogging once at start-up, before other threads
// log; spdlog's default logger is then safe from any thread.
#pragma once

#include <string_view>

#include "core/status.hpp"

namespace jobtape::cli {

// `level`: trace | debug | info | warn | error | off. `format`: text | json |
// auto (json unless stdout is a terminal). kInvalidArgument for other values.
Status SetupLogging(std::string_view level, std::string_view format);

}  // namespace jobtape::cli
