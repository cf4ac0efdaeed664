#pragma once

#include <vector>

#include "common/thread_annotations.h"
#include "metrics/cost_meter.h"
#include "metrics/metrics_history.h"
#include "metrics/request_counters.h"

namespace hearth {

// Where the fleet's metrics live: the per-second history, the activity log, the cost meter and
// the cumulative request totals as of the last sample. The fleet manager records; the API and the
// CLI read. Thread-safe.
class FleetMetrics {
 public:
  explicit FleetMetrics(size_t history_seconds = 900) : history_(history_seconds) {}

  // Records one second: the sample and the request totals it was computed from.
  void record(FleetSample sample, std::vector<RequestTotals> totals);

  const MetricsHistory& history() const { return history_; }
  ActivityLog& activity() { return activity_; }
  const ActivityLog& activity() const { return activity_; }
  CostReport cost() const;
  std::vector<RequestTotals> totals() const;

 private:
  MetricsHistory history_;
  ActivityLog activity_;
  mutable Mutex mu_;
  CostMeter cost_ GUARDED_BY(mu_);
  std::vector<RequestTotals> totals_ GUARDED_BY(mu_);
};

}  // namespace hearth
