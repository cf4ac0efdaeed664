#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace hearth {

// Log-spaced latency buckets: bucket 0 holds [0, 50 µs), bucket k ≥ 1 holds [50 µs · 2^((k-1)/4),
// 50 µs · 2^(k/4)), the last one everything above (~15 min). Four buckets per doubling keep a
// quantile within 19% of the true value.
inline constexpr int kLatencyBuckets = 100;

struct HistogramCounts {
  std::array<uint64_t, kLatencyBuckets> counts{};
  uint64_t total() const;
  // Counts since `earlier` (a snapshot of the same histogram taken before).
  HistogramCounts since(const HistogramCounts& earlier) const;
  // The q-quantile (0 < q ≤ 1) in milliseconds: the upper bound of the bucket holding it. 0 when
  // empty.
  double quantileMs(double q) const;
};

// A latency histogram that many threads record into without a lock.
class LatencyHistogram {
 public:
  void record(std::chrono::nanoseconds latency);
  HistogramCounts snapshot() const;

  static int bucketOf(std::chrono::nanoseconds latency);
  static double upperBoundMs(int bucket);

 private:
  std::array<std::atomic<uint64_t>, kLatencyBuckets> counts_{};
};

}  // namespace hearth
