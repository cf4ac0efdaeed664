#include "metrics/latency_histogram.h"

#include <cmath>

namespace hearth {

namespace {
constexpr double kFirstBoundMs = 0.05;
}

int LatencyHistogram::bucketOf(std::chrono::nanoseconds latency) {
  double ms = static_cast<double>(latency.count()) / 1e6;
  if (ms < kFirstBoundMs) {
    return 0;
  }
  int k = 1 + static_cast<int>(std::floor(4.0 * std::log2(ms / kFirstBoundMs)));
  return k >= kLatencyBuckets ? kLatencyBuckets - 1 : k;
}

double LatencyHistogram::upperBoundMs(int bucket) {
  return kFirstBoundMs * std::exp2(static_cast<double>(bucket) / 4.0);
}

void LatencyHistogram::record(std::chrono::nanoseconds latency) {
  counts_[static_cast<size_t>(bucketOf(latency))].fetch_add(1, std::memory_order_relaxed);
}

HistogramCounts LatencyHistogram::snapshot() const {
  HistogramCounts out;
  for (size_t i = 0; i < counts_.size(); ++i) {
    out.counts[i] = counts_[i].load(std::memory_order_relaxed);
  }
  return out;
}

uint64_t HistogramCounts::total() const {
  uint64_t sum = 0;
  for (uint64_t c : counts) {
    sum += c;
  }
  return sum;
}

HistogramCounts HistogramCounts::since(const HistogramCounts& earlier) const {
  HistogramCounts out;
  for (size_t i = 0; i < counts.size(); ++i) {
    out.counts[i] = counts[i] >= earlier.counts[i] ? counts[i] - earlier.counts[i] : counts[i];
  }
  return out;
}

double HistogramCounts::quantileMs(double q) const {
  uint64_t n = total();
  if (n == 0) {
    return 0;
  }
  auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(n)));
  if (rank < 1) {
    rank = 1;
  }
  uint64_t seen = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    seen += counts[i];
    if (seen >= rank) {
      return LatencyHistogram::upperBoundMs(static_cast<int>(i));
    }
  }
  return LatencyHistogram::upperBoundMs(kLatencyBuckets - 1);
}

}  // namespace hearth
