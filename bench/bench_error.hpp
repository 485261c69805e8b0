// Die: how a benchmark stops on an error. It throws std::runtime_error rather
// than exiting, so that a running server (BenchServer) or worker pool
// (BenchWorkers) is stopped on the way out; each benchmark's main() catches
// it and prints the message.
//
// Thread-safety: no state.
#pragma once

#include <stdexcept>
#include <string>

namespace jobtape::bench {

[[noreturn]] inline void Die(const std::string& what) {
  throw std::runtime_error(what);
}

}  // namespace jobtape::bench
