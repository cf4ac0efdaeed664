#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>

namespace hearth {

// Time source. Every component that reads time takes a Clock& so tests can inject FakeClock.
// Implementations are safe to call from any thread.
class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time, for deadlines and intervals.
  virtual std::chrono::steady_clock::time_point steadyNow() const = 0;
  // Wall-clock time, for timestamps shown to users.
  virtual std::chrono::system_clock::time_point wallNow() const = 0;
};

class RealClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point steadyNow() const override {
    return std::chrono::steady_clock::now();
  }
  std::chrono::system_clock::time_point wallNow() const override {
    return std::chrono::system_clock::now();
  }
};

// A clock that only moves when told to. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(std::chrono::system_clock::time_point wall_start =
                         std::chrono::system_clock::time_point(std::chrono::seconds(1764547200)))
      : wall_(wall_start) {}

  std::chrono::steady_clock::time_point steadyNow() const override {
    std::lock_guard lock(mu_);
    return steady_;
  }
  std::chrono::system_clock::time_point wallNow() const override {
    std::lock_guard lock(mu_);
    return wall_;
  }
  void advance(std::chrono::nanoseconds by) {
    std::lock_guard lock(mu_);
    steady_ += by;
    wall_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(by);
  }

 private:
  mutable std::mutex mu_;
  std::chrono::steady_clock::time_point steady_{};
  std::chrono::system_clock::time_point wall_;
};

// Formats a wall-clock time as AWS does for LastModified: 2024-01-02T03:04:05.000+0000.
std::string formatAwsTimestamp(std::chrono::system_clock::time_point t);
// ISO-8601 with a Z suffix, as used by the 2025-11-30 operations.
std::string formatIso8601(std::chrono::system_clock::time_point t);

}  // namespace hearth
