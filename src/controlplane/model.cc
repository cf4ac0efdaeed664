#include "controlplane/model.h"

namespace hearth {

std::string_view functionStateName(FunctionState state) {
  switch (state) {
    case FunctionState::kPending:
      return "Pending";
    case FunctionState::kActive:
      return "Active";
    case FunctionState::kInactive:
      return "Inactive";
    case FunctionState::kFailed:
      return "Failed";
    case FunctionState::kActiveNonInvocable:
      return "ActiveNonInvocable";
    case FunctionState::kDeactivating:
      return "Deactivating";
    case FunctionState::kDeactivated:
      return "Deactivated";
  }
  return "Pending";
}

std::optional<FunctionState> parseFunctionState(std::string_view name) {
  for (auto state : {FunctionState::kPending, FunctionState::kActive, FunctionState::kInactive,
                     FunctionState::kFailed, FunctionState::kActiveNonInvocable,
                     FunctionState::kDeactivating, FunctionState::kDeactivated}) {
    if (functionStateName(state) == name) {
      return state;
    }
  }
  return std::nullopt;
}

boost::json::object ScalingConfig::toJson() const {
  boost::json::object o{{"MinExecutionEnvironments", min_environments}};
  if (max_environments) {
    o["MaxExecutionEnvironments"] = *max_environments;
  }
  return o;
}

ScalingConfig ScalingConfig::fromJson(const boost::json::object& o) {
  ScalingConfig config;
  if (const auto* min = o.if_contains("MinExecutionEnvironments"); min && min->is_int64()) {
    config.min_environments = min->get_int64();
  }
  if (const auto* max = o.if_contains("MaxExecutionEnvironments"); max && max->is_int64()) {
    config.max_environments = max->get_int64();
  }
  return config;
}

}  // namespace hearth
