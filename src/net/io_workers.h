#pragma once

#include <memory>

namespace hearth {

// A fixed set of I/O threads, each running an event loop of its own. A connection stays on one
// worker from accept to close, and the requests an HttpServer handler sends through an
// AsyncHttpClient on the same workers run on the handler's thread: a proxied request is read,
// forwarded, answered and written by one thread, with no hand-off and no wake-up of another.
// Boost-free; the net .cc files reach the loops through io_workers_impl.h. Thread-safe.
class IoWorkers {
 public:
  virtual ~IoWorkers() = default;

  // `threads` workers (at least 1); they run once start() is called.
  static std::shared_ptr<IoWorkers> create(int threads);

  virtual int size() const = 0;
  // Starts the threads. Idempotent.
  virtual void start() = 0;
  // Stops the loops (queued work is dropped) and joins the threads. Idempotent. Servers and
  // clients on these workers must have drained first.
  virtual void stop() = 0;
};

using IoWorkersPtr = std::shared_ptr<IoWorkers>;

}  // namespace hearth
