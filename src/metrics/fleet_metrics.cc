#include "metrics/fleet_metrics.h"

namespace hearth {

void FleetMetrics::record(FleetSample sample, std::vector<RequestTotals> totals) {
  {
    MutexLock lock(&mu_);
    cost_.add(sample);
    totals_ = std::move(totals);
  }
  history_.append(std::move(sample));
}

CostReport FleetMetrics::cost() const {
  MutexLock lock(&mu_);
  return cost_.report();
}

std::vector<RequestTotals> FleetMetrics::totals() const {
  MutexLock lock(&mu_);
  return totals_;
}

}  // namespace hearth
