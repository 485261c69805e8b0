// ChildLedger: a file per running attempt's process group, so that the next
// start of a server that was killed (kill -9, OOM, power cut of the process)
// can kill whatever that attempt left running.
//
// PR_SET_PDEATHSIG (spawn.hpp) kills each command's leader when the server
// dies, but not what the leader started (a shell's background jobs, a build's
// compilers): those keep the leader's process group. The ledger records the
// group id and the leader's start time (field 22 of /proc/<pid>/stat) when
// the command starts, and forgets it when the attempt ends. At start-up,
// KillLeftovers() sends SIGKILL to each recorded group that may still have
// members, then forgets the records. A group id is safe to signal because
// Linux never hands out a pid that is still some group's id; if the pid has
// been reused by a new process (its start time differs), the old group was
// already empty and is left alone.
//
// Records are small files written without fsync: they must survive the
// process, not the machine (after a reboot nothing is left to kill).
//
// Thread-safety: Record/Remove may be called from any thread; KillLeftovers
// runs once at start-up before any Record.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/job.hpp"
#include "core/status.hpp"

namespace jobtape::exec {

struct LeftoverGroup {
  pid_t pgid = 0;
  JobId job_id = 0;
  int attempt = 0;
  bool signalled = false;  // SIGKILL went to a group that still had members
};

class ChildLedger {
 public:
  // Creates `dir` if needed. kUnavailable if it cannot.
  static Result<ChildLedger> Open(std::string dir);

  // Notes that `pgid` (the leader's pid) runs `job_id`'s `attempt`. Errors
  // are returned for logging; the attempt runs either way.
  Status Record(pid_t pgid, JobId job_id, int attempt) const;
  void Remove(pid_t pgid) const;

  // Kills the groups recorded by an earlier run (see the file comment) and
  // removes their records.
  std::vector<LeftoverGroup> KillLeftovers() const;

  const std::string& dir() const { return dir_; }

 private:
  explicit ChildLedger(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
};

// The start time of `pid` in clock ticks since boot, or 0 if it does not exist.
uint64_t ProcessStartTime(pid_t pid);

}  // namespace jobtape::exec
