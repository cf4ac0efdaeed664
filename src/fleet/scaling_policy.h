#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "fleet/fleet_model.h"
#include "metrics/fleet_sample.h"

namespace hearth {

// One second of a version's load, as sampled.
struct LoadPoint {
  SteadyTime at{};
  double seconds = 1;  // the interval it covers
  VersionSample load;
};

// The recent load of each version, oldest first.
using ScalingSignals = std::map<VersionKey, std::vector<LoadPoint>>;

struct ScalingContext {
  const DesiredVersion* version = nullptr;
  const std::vector<LoadPoint>* history = nullptr;  // may be null: nothing sampled yet
  int current = 0;  // the version's live EEs of its current deployment
  SteadyTime now{};
};

struct ScalingDecision {
  int environments = 0;  // the target, within [Min, Max]ExecutionEnvironments
  int recommended = 0;   // what the load alone asks for
  std::string reason;
  std::vector<std::pair<std::string, double>> inputs;  // what it saw, for the activity log
};

// Decides how many EEs a version should have. The planner asks it once per version per pass, for
// versions that may run (not Failed or deactivated). Implementations are pure functions of their
// inputs and the clock; the autoscaler is one.
class ScalingPolicy {
 public:
  virtual ~ScalingPolicy() = default;
  virtual ScalingDecision decide(const ScalingContext& context) const = 0;
};

// MinExecutionEnvironments, capped by MaxExecutionEnvironments when that is lower.
class MinimumEnvironmentsPolicy final : public ScalingPolicy {
 public:
  ScalingDecision decide(const ScalingContext& context) const override;
};

// The bounds of a version applied to `count`.
int clampToBounds(const ScalingBounds& bounds, int count);

}  // namespace hearth
