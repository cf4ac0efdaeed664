#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

namespace hearth {

// Runs posted tasks and timers on its own threads. Boost-free face of an Asio io_context, for
// components (agent, router) that need deadlines without depending on Asio. Thread-safe.
class EventLoop {
 public:
  virtual ~EventLoop() = default;

  // Starts `threads` threads.
  static std::unique_ptr<EventLoop> create(int threads);

  virtual void post(std::function<void()> task) = 0;
  // Runs `task` after `delay` unless cancelled first. Returns an id for cancel().
  virtual uint64_t runAfter(std::chrono::milliseconds delay, std::function<void()> task) = 0;
  // Cancels a pending timer; returns false if it already ran or was cancelled.
  virtual bool cancel(uint64_t timer_id) = 0;
  // Stops the threads after the tasks already queued; pending timers are dropped. Idempotent.
  virtual void stop() = 0;
};

using EventLoopPtr = std::unique_ptr<EventLoop>;

}  // namespace hearth
