#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

#include "common/thread_annotations.h"
#include "protocol/agent_protocol.h"

namespace hearth {

// The agent's bounded buffer of log lines waiting to be shipped. A line leaves it only once the
// server has stored it (ack), so lines survive a server that is down or restarting; when full,
// the oldest line is dropped and counted. Thread-safe.
class LogBuffer {
 public:
  explicit LogBuffer(size_t capacity) : capacity_(capacity) {}

  void append(protocol::LogLine line);

  // Up to `max` of the oldest lines, without removing them, and the drops not yet reported.
  struct Batch {
    uint64_t first = 0;  // sequence number of lines.front()
    std::vector<protocol::LogLine> lines;
    int64_t dropped = 0;
  };
  Batch peek(size_t max) const;

  // The server answered for `batch`: stored (its lines leave the buffer and its drops are
  // reported), or refused as malformed (its lines leave the buffer and count as dropped, and the
  // drops it carried are still to be reported). Lines
  // dropped for room while the batch was in flight were in it and are not counted again.
  void ack(const Batch& batch, bool stored);

  size_t size() const;
  int64_t dropped() const;

 private:
  const size_t capacity_;
  mutable Mutex mu_;
  std::deque<protocol::LogLine> lines_ GUARDED_BY(mu_);
  uint64_t first_seq_ GUARDED_BY(mu_) = 0;  // sequence number of lines_.front()
  int64_t dropped_ GUARDED_BY(mu_) = 0;     // not yet reported
};

}  // namespace hearth
