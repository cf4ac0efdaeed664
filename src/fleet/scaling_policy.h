#pragma once

#include "fleet/fleet_model.h"

namespace hearth {

// Decides how many EEs a version should have. The planner asks it once per version per pass, for
// versions that may run (not Failed or deactivated). Implementations are pure functions of their
// inputs and the clock; the autoscaler is one.
class ScalingPolicy {
 public:
  virtual ~ScalingPolicy() = default;
  virtual int desiredEnvironments(const DesiredVersion& version, const ObservedFleet& observed,
                                  SteadyTime now) const = 0;
};

// MinExecutionEnvironments, capped by MaxExecutionEnvironments when that is lower.
class MinimumEnvironmentsPolicy final : public ScalingPolicy {
 public:
  int desiredEnvironments(const DesiredVersion& version, const ObservedFleet&,
                          SteadyTime) const override {
    int count = version.scaling.min_environments;
    if (version.scaling.max_environments && *version.scaling.max_environments < count) {
      count = *version.scaling.max_environments;
    }
    return count < 0 ? 0 : count;
  }
};

}  // namespace hearth
