#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace hearth {

// A fixed pool of threads draining a bounded FIFO of tasks. Used for blocking control-plane work
// (state store I/O) so that it never runs on an I/O thread. Thread-safe.
//
// A task that throws does not end the process: the exception is caught at the queue boundary,
// logged to stderr, and counted in failedTasks(). Tasks should still return errors as values.
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

  // Tasks that ended by throwing.
  uint64_t failedTasks() const { return failed_tasks_.load(std::memory_order_relaxed); }

 private:
  void run();

  const size_t max_queued_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool draining_ = false;
  std::vector<std::thread> threads_;
  std::atomic<uint64_t> failed_tasks_{0};
};

}  // namespace hearth
