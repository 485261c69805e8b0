#include "exec/child_ledger.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace jobtape::exec {
namespace {

std::string RecordPath(const std::string& dir, pid_t pgid) {
  return dir + "/" + std::to_string(pgid) + ".group";
}

}  // namespace

uint64_t ProcessStartTime(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!in || !std::getline(in, stat)) return 0;
  // The command name (field 2) may hold spaces and parentheses: fields after
  // it are counted from the last ')'.
  std::size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  // Fields 3..22; the start time is field 22.
  for (int i = 3; i <= 22; ++i) {
    if (!(rest >> field)) return 0;
  }
  return std::strtoull(field.c_str(), nullptr, 10);
}

Result<ChildLedger> ChildLedger::Open(std::string dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::Unavailable("cannot create " + dir + ": " + ec.message());
  return ChildLedger(std::move(dir));
}

Status ChildLedger::Record(pid_t pgid, JobId job_id, int attempt) const {
  const uint64_t start = ProcessStartTime(pgid);
  const std::string line = std::to_string(pgid) + " " + std::to_string(start) + " " +
                           std::to_string(job_id) + " " + std::to_string(attempt) + "\n";
  const std::string path = RecordPath(dir_, pgid);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::Unavailable("cannot write " + path + ": " + std::strerror(errno));
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::close(fd);
  if (!ok) return Status::Unavailable("cannot write " + path);
  return Status::Ok();
}

void ChildLedger::Remove(pid_t pgid) const {
  ::unlink(RecordPath(dir_, pgid).c_str());
}

std::vector<LeftoverGroup> ChildLedger::KillLeftovers() const {
  std::vector<LeftoverGroup> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    if (entry.path().extension() != ".group") continue;
    std::ifstream in(entry.path());
    LeftoverGroup g;
    uint64_t start = 0;
    if (in >> g.pgid >> start >> g.job_id >> g.attempt && g.pgid > 1) {
      const uint64_t now_start = ProcessStartTime(g.pgid);
      // The pid now names another process: the old group emptied before it
      // could be reused. Otherwise signal the group (ESRCH: nothing left).
      if (now_start == 0 || now_start == start) {
        g.signalled = ::kill(-g.pgid, SIGKILL) == 0;
      }
      out.push_back(g);
    }
    std::filesystem::remove(entry.path(), ec);
  }
  return out;
}

}  // namespace jobtape::exec
