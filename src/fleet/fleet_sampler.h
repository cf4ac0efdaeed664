#pragma once

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "fleet/fleet_model.h"
#include "fleet/planner.h"
#include "fleet/scaling_policy.h"
#include "metrics/fleet_sample.h"
#include "metrics/metrics_history.h"
#include "metrics/request_counters.h"

namespace hearth {

// Everything one per-second sample is computed from.
struct SampleInput {
  const DesiredFleet* desired = nullptr;
  const ObservedFleet* observed = nullptr;
  const std::vector<RequestTotals>* totals = nullptr;     // the router's, now
  const std::vector<RequestTotals>* previous = nullptr;   // as of the last sample; may be null
  const std::map<std::string, int>* in_flight = nullptr;  // per EE, from the router; may be null
  const std::map<VersionKey, FleetPlan::Scaling>* decisions = nullptr;  // the last; may be null
  SteadyTime now{};
  std::chrono::system_clock::time_point wall{};
  double interval_seconds = 1;
};

// One second of the fleet: providers, instances, versions (requests as the difference of the
// totals, load, capacity, the scaler's last decision) and EEs. Pure.
FleetSample sampleFleet(const SampleInput& input);

// The per-version load of `samples` (oldest first) as the scaling policy reads it.
ScalingSignals signalsFrom(const std::vector<FleetSamplePtr>& samples);

// The activity a plan amounts to: scaling targets that changed since `previous`, capacity limits
// newly reached (not in `previously_limited`), instance launches and releases, and drains of
// Ready EEs. `before` is the fleet the plan was made from. Pure.
std::vector<ActivityEntry> activityOf(const FleetPlan& plan,
                                      const std::map<VersionKey, FleetPlan::Scaling>& previous,
                                      const std::map<VersionKey, std::string>& previously_limited,
                                      const ObservedFleet& before,
                                      std::chrono::system_clock::time_point wall);

}  // namespace hearth
