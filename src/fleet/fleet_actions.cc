#include <string>

#include "fleet/planner.h"

namespace hearth {

std::string_view placedStateName(PlacedState state) {
  switch (state) {
    case PlacedState::kAssigned:
      return "Assigned";
    case PlacedState::kStarting:
      return "Starting";
    case PlacedState::kReady:
      return "Ready";
    case PlacedState::kFailed:
      return "Failed";
    case PlacedState::kDraining:
      return "Draining";
    case PlacedState::kGone:
      return "Gone";
  }
  return "Gone";
}

std::string initFailureCode(const std::string& error_type) {
  if (error_type == kInstanceLaunchFailed) {
    return "InternalError";
  }
  if (error_type == "Runtime.InvalidRuntime") {
    return "InvalidRuntime";  // no interpreter of the runtime's version on the instance
  }
  if (error_type == "Runtime.InvalidEntrypoint") {
    return "FunctionError.InvalidEntryPoint";
  }
  if (error_type.rfind("FunctionError.", 0) == 0) {
    return error_type;
  }
  return "FunctionError.RuntimeInitError";
}

namespace {
bool isLiveState(PlacedState s) {
  return s == PlacedState::kAssigned || s == PlacedState::kStarting || s == PlacedState::kReady;
}
}  // namespace

void apply(const FleetAction& action, SteadyTime now, ObservedFleet& fleet) {
  auto touch = [&](const std::string& instance_id) {
    if (auto it = fleet.instances.find(instance_id); it != fleet.instances.end()) {
      it->second.last_used = now;
    }
  };
  std::visit(
      [&](const auto& a) {
        using A = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<A, LaunchInstance>) {
          fleet.instances[a.instance.id] = a.instance;
        } else if constexpr (std::is_same_v<A, TerminateInstance>) {
          fleet.instances.erase(a.instance_id);
          for (auto& [id, env] : fleet.environments) {
            if (env.instance_id == a.instance_id && env.state != PlacedState::kFailed) {
              env.state = PlacedState::kGone;  // a failure stays one: it explains the loss
            }
          }
        } else if constexpr (std::is_same_v<A, PlaceEnvironment>) {
          fleet.environments[a.environment.id] = a.environment;
          touch(a.environment.instance_id);
        } else if constexpr (std::is_same_v<A, StartEnvironment>) {
          // Only from kAssigned: a report that arrived since the plan's snapshot wins.
          if (auto it = fleet.environments.find(a.environment_id);
              it != fleet.environments.end() && it->second.state == PlacedState::kAssigned) {
            it->second.state = PlacedState::kStarting;
            it->second.sent_at = now;
          }
        } else if constexpr (std::is_same_v<A, DrainEnvironment>) {
          // Only live EEs drain; a failed or gone one is stopped and forgotten as it is.
          if (auto it = fleet.environments.find(a.environment_id);
              it != fleet.environments.end() && isLiveState(it->second.state)) {
            it->second.state = PlacedState::kDraining;
            it->second.drain_deadline = now + a.drain;
          }
        } else if constexpr (std::is_same_v<A, FailEnvironment>) {
          if (auto it = fleet.environments.find(a.environment_id); it != fleet.environments.end()) {
            it->second.state = PlacedState::kFailed;
            it->second.error_type = a.error_type;
            it->second.error_message = a.error_message;
          }
        } else if constexpr (std::is_same_v<A, ForgetEnvironment>) {
          if (auto it = fleet.environments.find(a.environment_id); it != fleet.environments.end()) {
            std::string instance_id = it->second.instance_id;
            fleet.environments.erase(it);
            touch(instance_id);
          }
        } else if constexpr (std::is_same_v<A, SetVersionState>) {
          // Recorded by the control plane, not in the fleet model.
        }
      },
      action);
}

}  // namespace hearth
