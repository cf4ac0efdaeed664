#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "metrics/latency_histogram.h"

namespace hearth {

// Cumulative request figures of one function version, as of one read.
struct RequestTotals {
  std::string function;
  std::string version;
  uint64_t invocations = 0;  // answered by the function (successes and function errors)
  uint64_t function_errors = 0;
  uint64_t concurrency_throttles = 0;  // every EE was at its concurrency cap (429)
  uint64_t other_failures = 0;         // the platform could not deliver it
  uint64_t busy_nanos = 0;             // sum of the answered invocations' latencies
  HistogramCounts latency;
};

// What the router counts per version: lock-free, updated on the invoke path.
class VersionCounters {
 public:
  VersionCounters(std::string function, std::string version)
      : function_(std::move(function)), version_(std::move(version)) {}

  void recordAnswered(std::chrono::nanoseconds latency, bool function_error) {
    invocations_.fetch_add(1, std::memory_order_relaxed);
    if (function_error) {
      function_errors_.fetch_add(1, std::memory_order_relaxed);
    }
    busy_nanos_.fetch_add(static_cast<uint64_t>(latency.count()), std::memory_order_relaxed);
    latency_.record(latency);
  }
  void recordConcurrencyThrottle() {
    concurrency_throttles_.fetch_add(1, std::memory_order_relaxed);
  }
  void recordFailure() { other_failures_.fetch_add(1, std::memory_order_relaxed); }

  RequestTotals totals() const {
    RequestTotals t;
    t.function = function_;
    t.version = version_;
    t.invocations = invocations_.load(std::memory_order_relaxed);
    t.function_errors = function_errors_.load(std::memory_order_relaxed);
    t.concurrency_throttles = concurrency_throttles_.load(std::memory_order_relaxed);
    t.other_failures = other_failures_.load(std::memory_order_relaxed);
    t.busy_nanos = busy_nanos_.load(std::memory_order_relaxed);
    t.latency = latency_.snapshot();
    return t;
  }

 private:
  const std::string function_;
  const std::string version_;
  std::atomic<uint64_t> invocations_{0};
  std::atomic<uint64_t> function_errors_{0};
  std::atomic<uint64_t> concurrency_throttles_{0};
  std::atomic<uint64_t> other_failures_{0};
  std::atomic<uint64_t> busy_nanos_{0};
  LatencyHistogram latency_;
};

}  // namespace hearth
