#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"

namespace hearth {

// Function logs: one append-only file per function under a directory, bounded by rotation (the
// current file plus one rotated file, each at most max_bytes). Lines are addressed by a byte
// cursor that keeps growing across rotations, so readers can follow. Thread-safe.
class LogStore {
 public:
  static Result<std::unique_ptr<LogStore>> open(std::string dir, size_t max_bytes = 8u << 20);

  // Appends lines (without newlines; embedded newlines are escaped by the writer).
  Status append(const std::string& function, const std::vector<std::string>& lines);

  struct Page {
    std::vector<std::string> lines;
    uint64_t cursor = 0;  // pass back to read() to continue
  };
  // Lines from `cursor` on (older lines that were rotated away are skipped), at most max_lines.
  Result<Page> read(const std::string& function, uint64_t cursor, size_t max_lines);
  // The last `count` lines, and the cursor after them.
  Result<Page> tail(const std::string& function, size_t count);

 private:
  LogStore(std::string dir, size_t max_bytes) : dir_(std::move(dir)), max_bytes_(max_bytes) {}
  std::string path(const std::string& function, bool rotated) const;
  uint64_t base(const std::string& function) const;  // cursor of the current file's first byte

  const std::string dir_;
  const size_t max_bytes_;
  std::mutex mu_;
};

}  // namespace hearth
