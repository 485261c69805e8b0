// The disk's commit cost: the median time of an 8 KiB overwrite + fdatasync
// in a directory. Benchmarks print it first so that their figures can be read
// against it (a single-job rate, a latency or a delayed job's start is bound
// by it when the disk is slow). Errors throw std::runtime_error.
//
// Thread-safety: calls may run concurrently (each uses its own file).
#pragma once

#include <string>

namespace jobtape::bench {

// Median of 50 timed rounds (after one untimed), in microseconds. `name`
// names the scratch file (jobtape-bench-NAME-fsync-PID in `dir`), which is
// removed afterwards.
double FdatasyncMicros(const std::string& dir, const std::string& name);

// Prints "fdatasync_us=... (8 KiB overwrite in DIR, median of 50)".
void PrintFdatasyncMicros(const std::string& dir, const std::string& name);

}  // namespace jobtape::bench
