#pragma once

#include <memory>
#include <string>

#include "common/result.h"

namespace hearth {

// An exclusive lock on a data dir, held for the life of the object: `<dir>/lock`, locked with
// flock(2) and holding the owner's pid. The kernel releases it when the process exits, however it
// exits, so a crashed server never leaves a stale lock behind.
class DataDirLock {
 public:
  ~DataDirLock();
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

  // Takes the lock, or returns kConflict naming the process that holds it (kUnavailable when the
  // lock file cannot be opened).
  static Result<std::unique_ptr<DataDirLock>> acquire(const std::string& dir);

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace hearth
