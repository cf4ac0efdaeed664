#pragma once

#include <map>
#include <mutex>

#include "net/event_loop.h"

namespace hearth {

// A deterministic EventLoop for tests: posted tasks and timers run only when the test calls
// runPosted() / fire() / fireAll(). Thread-safe.
class FakeEventLoop final : public EventLoop {
 public:
  void post(std::function<void()> task) override {
    std::lock_guard lock(mu_);
    posted_.push_back(std::move(task));
  }
  uint64_t runAfter(std::chrono::milliseconds delay, std::function<void()> task) override {
    std::lock_guard lock(mu_);
    uint64_t id = next_id_++;
    timers_[id] = {delay, std::move(task)};
    return id;
  }
  bool cancel(uint64_t id) override {
    std::lock_guard lock(mu_);
    return timers_.erase(id) > 0;
  }
  void stop() override {}

  size_t pendingTimers() const {
    std::lock_guard lock(mu_);
    return timers_.size();
  }
  // Runs every timer whose delay is <= `max_delay`, in id order.
  void fireUpTo(std::chrono::milliseconds max_delay) {
    for (;;) {
      std::function<void()> task;
      {
        std::lock_guard lock(mu_);
        auto it = timers_.begin();
        while (it != timers_.end() && it->second.first > max_delay) {
          ++it;
        }
        if (it == timers_.end()) {
          return;
        }
        task = std::move(it->second.second);
        timers_.erase(it);
      }
      task();
    }
  }
  // Runs the timers pending now whose delay is <= `max_delay`, in id order; timers they set
  // wait for the next call.
  void fireRound(std::chrono::milliseconds max_delay) {
    std::vector<std::function<void()>> due;
    {
      std::lock_guard lock(mu_);
      for (auto it = timers_.begin(); it != timers_.end();) {
        if (it->second.first <= max_delay) {
          due.push_back(std::move(it->second.second));
          it = timers_.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (auto& task : due) {
      task();
    }
  }
  void runPosted() {
    for (;;) {
      std::vector<std::function<void()>> tasks;
      {
        std::lock_guard lock(mu_);
        tasks.swap(posted_);
      }
      if (tasks.empty()) {
        return;
      }
      for (auto& t : tasks) {
        t();
      }
    }
  }

 private:
  mutable std::mutex mu_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, std::pair<std::chrono::milliseconds, std::function<void()>>> timers_;
  std::vector<std::function<void()>> posted_;
};

}  // namespace hearth
