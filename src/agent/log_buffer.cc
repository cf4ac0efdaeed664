#include "agent/log_buffer.h"

#include <algorithm>

namespace hearth {

void LogBuffer::append(protocol::LogLine line) {
  MutexLock lock(&mu_);
  if (lines_.size() >= capacity_) {
    lines_.pop_front();
    ++first_seq_;
    ++dropped_;
  }
  lines_.push_back(std::move(line));
}

LogBuffer::Batch LogBuffer::peek(size_t max) const {
  MutexLock lock(&mu_);
  Batch batch;
  batch.first = first_seq_;
  size_t n = std::min(lines_.size(), max);
  batch.lines.assign(lines_.begin(), lines_.begin() + static_cast<std::ptrdiff_t>(n));
  batch.dropped = dropped_;
  return batch;
}

void LogBuffer::ack(const Batch& batch, bool stored) {
  MutexLock lock(&mu_);
  uint64_t end = batch.first + batch.lines.size();
  // Evicted while in flight: delivered with the batch (or refused with it), not lost.
  uint64_t evicted = std::min(first_seq_, end) - std::min(first_seq_, batch.first);
  dropped_ -= std::min<int64_t>(dropped_, static_cast<int64_t>(evicted));
  if (stored) {
    dropped_ -= std::min(dropped_, batch.dropped);  // reported with the batch
  }
  while (!lines_.empty() && first_seq_ < end) {
    lines_.pop_front();
    ++first_seq_;
  }
  if (!stored) {
    dropped_ += static_cast<int64_t>(batch.lines.size());
  }
}

size_t LogBuffer::size() const {
  MutexLock lock(&mu_);
  return lines_.size();
}

int64_t LogBuffer::dropped() const {
  MutexLock lock(&mu_);
  return dropped_;
}

}  // namespace hearth
