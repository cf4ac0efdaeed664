#include "common/work_queue.h"

#include <fmt/format.h>

#include <cstdio>
#include <exception>

namespace hearth {

WorkQueue::WorkQueue(size_t threads, size_t max_queued) : max_queued_(max_queued) {
  for (size_t i = 0; i < std::max<size_t>(1, threads); ++i) {
    threads_.emplace_back([this] { run(); });
  }
}

WorkQueue::~WorkQueue() {
  drain();
}

bool WorkQueue::trySubmit(std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    if (draining_ || tasks_.size() >= max_queued_) {
      return false;
    }
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
  return true;
}

void WorkQueue::drain() {
  {
    std::lock_guard lock(mu_);
    draining_ = true;
  }
  cv_.notify_all();
  for (auto& thread : threads_) {
    if (thread.joinable()) {
      thread.join();
    }
  }
  threads_.clear();
}

void WorkQueue::run() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return draining_ || !tasks_.empty(); });
      if (tasks_.empty()) {
        return;
      }
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    try {
      task();
    } catch (const std::exception& e) {
      failed_tasks_.fetch_add(1, std::memory_order_relaxed);
      fmt::print(stderr, "work queue: a task threw: {}\n", e.what());
    } catch (...) {
      failed_tasks_.fetch_add(1, std::memory_order_relaxed);
      fmt::print(stderr, "work queue: a task threw a non-standard exception\n");
    }
  }
}

}  // namespace hearth
