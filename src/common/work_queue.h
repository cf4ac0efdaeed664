#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace hearth {

// A fixed pool of threads draining a bounded FIFO of tasks. Used for blocking control-plane work
// (state store I/O) so that it never runs on an I/O thread. Thread-safe.
class WorkQueue {
 public:
  WorkQueue(size_t threads, size_t max_queued);
  ~WorkQueue();  // drains: runs every queued task, then joins

  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Queues `task`. Returns false, without queueing, when the queue is full or draining.
  [[nodiscard]] bool trySubmit(std::function<void()> task);

  // Stops accepting tasks, runs those queued, and joins the threads. Idempotent.
  void drain();

 private:
  void run();

  const size_t max_queued_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool draining_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace hearth
