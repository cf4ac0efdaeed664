#include "net/connection_limiter.h"

namespace hearth {

Admission ConnectionLimiter::tryAdmit(const std::string& client) {
  MutexLock lock(&mu_);
  if (total_ >= limits_.max_total) {
    return Admission::kServerOverCap;
  }
  size_t& held = per_client_[client];
  if (held >= limits_.max_per_client) {
    if (held == 0) {
      per_client_.erase(client);
    }
    return Admission::kClientOverCap;
  }
  ++held;
  ++total_;
  return Admission::kAdmitted;
}

void ConnectionLimiter::release(const std::string& client) {
  MutexLock lock(&mu_);
  auto it = per_client_.find(client);
  if (it == per_client_.end() || it->second == 0) {
    return;
  }
  --total_;
  if (--it->second == 0) {
    per_client_.erase(it);
  }
}

size_t ConnectionLimiter::total() const {
  MutexLock lock(&mu_);
  return total_;
}

size_t ConnectionLimiter::forClient(const std::string& client) const {
  MutexLock lock(&mu_);
  auto it = per_client_.find(client);
  return it == per_client_.end() ? 0 : it->second;
}

}  // namespace hearth
