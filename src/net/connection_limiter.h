#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>

#include "common/thread_annotations.h"

namespace hearth {

struct ConnectionLimits {
  size_t max_total = 4096;
  // Connections one client address may hold at once, so that one client cannot take them all.
  size_t max_per_client = 1024;
};

enum class Admission { kAdmitted, kClientOverCap, kServerOverCap };

// Counts open connections in total and per client address. Thread-safe.
class ConnectionLimiter {
 public:
  explicit ConnectionLimiter(ConnectionLimits limits) : limits_(limits) {}

  // Admits a connection from `client` if both caps allow it; an admitted connection holds its
  // place until release(client).
  Admission tryAdmit(const std::string& client) EXCLUDES(mu_);
  // REQUIRES: a matching admitted tryAdmit(client).
  void release(const std::string& client) EXCLUDES(mu_);

  size_t total() const EXCLUDES(mu_);
  size_t forClient(const std::string& client) const EXCLUDES(mu_);

 private:
  const ConnectionLimits limits_;
  mutable Mutex mu_;
  size_t total_ GUARDED_BY(mu_) = 0;
  std::unordered_map<std::string, size_t> per_client_ GUARDED_BY(mu_);
};

}  // namespace hearth
