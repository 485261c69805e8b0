#include "cli/node_id.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>

namespace jobtape::cli {
namespace {

constexpr std::size_t kMaxNodeIdLength = 64;

std::string RandomNodeId() {
  std::array<unsigned char, 8> bytes{};
  std::size_t got = 0;
  while (got < bytes.size()) {
    ssize_t r = getrandom(bytes.data() + got, bytes.size() - got, 0);
    if (r > 0) got += static_cast<std::size_t>(r);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "n-";
  for (unsigned char b : bytes) {
    id += kHex[b >> 4];
    id += kHex[b & 15];
  }
  return id;
}

}  // namespace

Status ValidateNodeId(const std::string& id) {
  if (id.empty() || id.size() > kMaxNodeIdLength) {
    return Status::InvalidArgument("node_id must be 1-64 characters", "node_id");
  }
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return Status::InvalidArgument("node_id may hold only A-Z a-z 0-9 . _ -", "node_id");
  }
  return Status::Ok();
}

Result<std::string> LoadOrCreateNodeId(const std::string& data_dir) {
  const std::string path = data_dir + "/node_id";
  std::ifstream in(path);
  if (in) {
    std::string id;
    std::getline(in, id);
    if (!ValidateNodeId(id).ok()) {
      return Status::FailedPrecondition(path + " does not hold a valid node id ('" + id +
                                        "'); fix or remove it");
    }
    return id;
  }
  // Created exclusively, written, synced and renamed into place, so a crash
  // never leaves a half-written id and two racing starts cannot both win.
  const std::string id = RandomNodeId();
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::Unavailable("cannot create " + tmp + ": " + std::strerror(errno));
  const std::string line = id + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::link(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    if (err == EEXIST) return LoadOrCreateNodeId(data_dir);  // another start won the race
    return Status::Unavailable("cannot write " + path + ": " + std::strerror(err));
  }
  ::unlink(tmp.c_str());
  return id;
}

}  // namespace jobtape::cli
