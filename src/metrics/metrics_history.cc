#include "metrics/metrics_history.h"

#include <algorithm>

namespace hearth {

MetricsHistory::MetricsHistory(size_t capacity, size_t detailed)
    : capacity_(std::max<size_t>(capacity, 1)), detailed_(std::min(detailed, capacity_)) {}

void MetricsHistory::append(FleetSample sample) {
  auto next = std::make_shared<const FleetSample>(std::move(sample));
  MutexLock lock(&mu_);
  samples_.push_back(std::move(next));
  while (samples_.size() > capacity_) {
    samples_.pop_front();
  }
  if (samples_.size() > detailed_) {
    // The sample that just left the detailed span keeps its summary rows only. Readers holding
    // the old pointer keep their copy.
    FleetSamplePtr& aged = samples_[samples_.size() - detailed_ - 1];
    if (!aged->environments.empty()) {
      auto summary = std::make_shared<FleetSample>(*aged);
      summary->environments.clear();
      aged = std::move(summary);
    }
  }
}

FleetSamplePtr MetricsHistory::latest() const {
  MutexLock lock(&mu_);
  return samples_.empty() ? nullptr : samples_.back();
}

std::vector<FleetSamplePtr> MetricsHistory::since(std::chrono::steady_clock::time_point after,
                                                  size_t limit) const {
  MutexLock lock(&mu_);
  auto first = std::find_if(samples_.begin(), samples_.end(),
                            [&](const FleetSamplePtr& s) { return s->steady > after; });
  std::vector<FleetSamplePtr> out(first, samples_.end());
  if (out.size() > limit) {
    out.erase(out.begin(), out.end() - static_cast<std::ptrdiff_t>(limit));
  }
  return out;
}

std::vector<FleetSamplePtr> MetricsHistory::newest(size_t count) const {
  MutexLock lock(&mu_);
  size_t n = std::min(count, samples_.size());
  return std::vector<FleetSamplePtr>(samples_.end() - static_cast<std::ptrdiff_t>(n),
                                     samples_.end());
}

size_t MetricsHistory::size() const {
  MutexLock lock(&mu_);
  return samples_.size();
}

void ActivityLog::record(ActivityEntry entry) {
  MutexLock lock(&mu_);
  entry.sequence = next_sequence_++;
  entries_.push_back(std::move(entry));
  while (entries_.size() > capacity_) {
    entries_.pop_front();
  }
}

std::vector<ActivityEntry> ActivityLog::after(uint64_t after, size_t limit) const {
  MutexLock lock(&mu_);
  std::vector<ActivityEntry> out;
  for (const auto& e : entries_) {
    if (e.sequence > after) {
      out.push_back(e);
      if (out.size() >= limit) {
        break;
      }
    }
  }
  return out;
}

std::vector<ActivityEntry> ActivityLog::newest(size_t limit) const {
  MutexLock lock(&mu_);
  size_t n = std::min(limit, entries_.size());
  return std::vector<ActivityEntry>(entries_.end() - static_cast<std::ptrdiff_t>(n),
                                    entries_.end());
}

}  // namespace hearth
