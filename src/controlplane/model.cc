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

boost::json::object AliasRecord::toJson() const {
  boost::json::object o{{"AliasArn", arn},
                        {"Name", name},
                        {"FunctionVersion", function_version},
                        {"Description", description},
                        {"RevisionId", revision_id}};
  if (!additional_weights.empty()) {
    boost::json::object weights;
    for (const auto& [version, weight] : additional_weights) {
      weights[version] = weight;
    }
    o["RoutingConfig"] = boost::json::object{{"AdditionalVersionWeights", std::move(weights)}};
  }
  return o;
}

std::optional<AliasRecord> AliasRecord::fromJson(const boost::json::value& v) {
  if (!v.is_object()) {
    return std::nullopt;
  }
  const auto& o = v.get_object();
  auto str = [&](std::string_view key) {
    const auto* m = o.if_contains(key);
    return m != nullptr && m->is_string() ? std::string(m->get_string()) : std::string();
  };
  AliasRecord alias;
  alias.name = str("Name");
  alias.arn = str("AliasArn");
  alias.function_version = str("FunctionVersion");
  alias.description = str("Description");
  alias.revision_id = str("RevisionId");
  if (const auto* rc = o.if_contains("RoutingConfig"); rc && rc->is_object()) {
    if (const auto* w = rc->get_object().if_contains("AdditionalVersionWeights");
        w && w->is_object()) {
      for (const auto& [version, weight] : w->get_object()) {
        if (weight.is_double()) {
          alias.additional_weights[std::string(version)] = weight.get_double();
        } else if (weight.is_int64()) {
          alias.additional_weights[std::string(version)] = static_cast<double>(weight.get_int64());
        }
      }
    }
  }
  return alias;
}

}  // namespace hearth
