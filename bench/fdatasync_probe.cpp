#include "fdatasync_probe.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "bench_error.hpp"

namespace jobtape::bench {

double FdatasyncMicros(const std::string& dir, const std::string& name) {
  using Clk = std::chrono::steady_clock;
  const std::string path = dir + "/jobtape-bench-" + name + "-fsync-" + std::to_string(::getpid());
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) Die("cannot create " + path);
  std::vector<char> block(8192, 'x');
  std::vector<double> us;
  for (int i = 0; i < 51; ++i) {
    auto t0 = Clk::now();
    bool ok = ::pwrite(fd, block.data(), block.size(), 0) == static_cast<ssize_t>(block.size()) &&
              ::fdatasync(fd) == 0;
    if (!ok) {
      ::close(fd);
      ::unlink(path.c_str());
      Die("write/fdatasync failed in " + dir);
    }
    if (i > 0) us.push_back(std::chrono::duration<double, std::micro>(Clk::now() - t0).count());
  }
  ::close(fd);
  ::unlink(path.c_str());
  std::sort(us.begin(), us.end());
  return us[us.size() / 2];
}

void PrintFdatasyncMicros(const std::string& dir, const std::string& name) {
  std::printf("fdatasync_us=%.0f (8 KiB overwrite in %s, median of 50)\n",
              FdatasyncMicros(dir, name), dir.c_str());
}

}  // namespace jobtape::bench
