#include "server/data_dir_lock.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace hearth {

DataDirLock::~DataDirLock() {
  ::close(fd_);  // releases the flock
}

Result<std::unique_ptr<DataDirLock>> DataDirLock::acquire(const std::string& dir) {
  std::string path = dir + "/lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status(StatusCode::kUnavailable,
                  fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int error = errno;
    char buffer[32] = {};
    ssize_t n = ::pread(fd, buffer, sizeof(buffer) - 1, 0);
    ::close(fd);
    std::string holder = n > 0 ? std::string(buffer, static_cast<size_t>(n)) : "";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) {
      holder.pop_back();
    }
    if (error == EWOULDBLOCK) {
      return Status(StatusCode::kConflict,
                    fmt::format("data dir {} is in use by another hearth server (pid {}); stop it "
                                "or choose another --data-dir",
                                dir, holder.empty() ? "unknown" : holder));
    }
    return Status(StatusCode::kUnavailable,
                  fmt::format("cannot lock {}: {}", path, std::strerror(error)));
  }
  std::string pid = fmt::format("{}\n", ::getpid());
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    // The lock is held; only the diagnostic pid is missing.
  }
  return std::unique_ptr<DataDirLock>(new DataDirLock(fd));
}

}  // namespace hearth
