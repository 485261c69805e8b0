// The kill -9 harness of the durability and schedule crash tests: the test
// binary re-executes itself as a child that runs one DISABLED_ test, which
// writes an 8-byte acknowledgement to fd 3 for each thing it has made
// durable; the parent collects them over a pipe and SIGKILLs the child
// mid-stream (or lets it kill itself), then checks the store it left.
//
// Thread-safety: WriteAck may be called from any thread of the child (8-byte
// pipe writes are atomic); RunCrashChild belongs to one test thread.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace jobtape::store::testing {

// Child side: writes `ack` to the parent; false once the parent has gone
// (the child should ignore SIGPIPE so this is EPIPE rather than death).
bool WriteAck(int64_t ack);

struct CrashChildOptions {
  // The full name of the child test ("Suite.DISABLED_Name").
  std::string test;
  // Entries of the parent's environment starting with this are not passed on...
  std::string drop_env_prefix;
  // ... and these "NAME=value" entries are added instead.
  std::vector<std::string> env;
  // SIGKILL the child after this many acks of this run; 0: it dies by itself.
  std::size_t kill_after_acks = 0;
};

struct CrashChildRun {
  bool killed_by_parent = false;  // after kill_after_acks acks
  int wait_status = 0;            // as waitpid reports it
};

// Spawns the child, appends every ack it sends to *acks until the pipe
// closes, never leaves it running, and reaps it. Fails the test (fatally)
// when it cannot spawn or reap the child, when the child sends nothing for
// 120 s, or when an ack arrives torn. How the child ended is for the caller.
void RunCrashChild(const CrashChildOptions& options, std::vector<int64_t>* acks,
                   CrashChildRun* run);

}  // namespace jobtape::store::testing
