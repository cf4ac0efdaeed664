#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "common/thread_annotations.h"
#include "metrics/fleet_sample.h"

namespace hearth {

using FleetSamplePtr = std::shared_ptr<const FleetSample>;

// The last `capacity` per-second samples of the fleet, in memory. Per-EE detail is kept for the
// newest `detailed` samples only; older samples keep their provider, instance and version rows.
// Thread-safe: the fleet appends, API readers copy out.
class MetricsHistory {
 public:
  explicit MetricsHistory(size_t capacity = 900, size_t detailed = 60);

  void append(FleetSample sample);
  FleetSamplePtr latest() const;
  // The samples taken after `after` (steady time), oldest first, at most `limit`.
  std::vector<FleetSamplePtr> since(std::chrono::steady_clock::time_point after,
                                    size_t limit) const;
  // The newest `count` samples, oldest first.
  std::vector<FleetSamplePtr> newest(size_t count) const;
  size_t size() const;

 private:
  const size_t capacity_;
  const size_t detailed_;
  mutable Mutex mu_;
  std::deque<FleetSamplePtr> samples_ GUARDED_BY(mu_);
};

// One entry of the activity log: a scaling decision or a fleet action, with its inputs.
struct ActivityEntry {
  uint64_t sequence = 0;
  std::chrono::system_clock::time_point wall{};
  std::string kind;  // ScaleOut, ScaleIn, LaunchInstance, TerminateInstance, Drain, LimitReached
  std::string capacity_provider;
  std::string function;
  std::string version;
  std::string subject;  // the instance or EE acted on, when there is one
  int from = 0;
  int to = 0;
  std::string reason;
  std::vector<std::pair<std::string, double>> inputs;  // what the decision saw
};

// The newest `capacity` activity entries. Thread-safe.
class ActivityLog {
 public:
  explicit ActivityLog(size_t capacity = 2000) : capacity_(capacity) {}

  // Assigns the entry its sequence number.
  void record(ActivityEntry entry);
  // Entries with sequence > `after`, oldest first, at most `limit`.
  std::vector<ActivityEntry> after(uint64_t after, size_t limit) const;
  // The newest `limit` entries, oldest first.
  std::vector<ActivityEntry> newest(size_t limit) const;

 private:
  const size_t capacity_;
  mutable Mutex mu_;
  std::deque<ActivityEntry> entries_ GUARDED_BY(mu_);
  uint64_t next_sequence_ GUARDED_BY(mu_) = 1;
};

}  // namespace hearth
