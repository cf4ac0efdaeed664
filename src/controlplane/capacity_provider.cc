#include "controlplane/capacity_provider.h"

#include <boost/json/array.hpp>

#include "controlplane/stored_fields.h"

namespace hearth {
namespace json = boost::json;

std::string_view capacityProviderStateName(CapacityProviderState state) {
  switch (state) {
    case CapacityProviderState::kPending:
      return "Pending";
    case CapacityProviderState::kActive:
      return "Active";
    case CapacityProviderState::kFailed:
      return "Failed";
    case CapacityProviderState::kDeleting:
      return "Deleting";
  }
  return "Pending";
}

std::optional<CapacityProviderState> parseCapacityProviderState(std::string_view name) {
  for (auto state : {CapacityProviderState::kPending, CapacityProviderState::kActive,
                     CapacityProviderState::kFailed, CapacityProviderState::kDeleting}) {
    if (capacityProviderStateName(state) == name) {
      return state;
    }
  }
  return std::nullopt;
}

std::string CapacityProvider::name() const {
  return arn.substr(arn.rfind(':') + 1);
}

json::object CapacityProvider::toJson() const {
  json::object o;
  o["CapacityProviderArn"] = arn;
  o["State"] = capacityProviderStateName(state);
  o["VpcConfig"] = json::object{{"SubnetIds", stored::toJsonArray(subnet_ids)},
                                {"SecurityGroupIds", stored::toJsonArray(security_group_ids)}};
  o["PermissionsConfig"] = json::object{{"CapacityProviderOperatorRoleArn", operator_role_arn}};
  json::object requirements;
  if (allowed_instance_types) {
    requirements["AllowedInstanceTypes"] = stored::toJsonArray(*allowed_instance_types);
  }
  if (excluded_instance_types) {
    requirements["ExcludedInstanceTypes"] = stored::toJsonArray(*excluded_instance_types);
  }
  requirements["Architectures"] = json::array{json::value(architecture)};
  o["InstanceRequirements"] = std::move(requirements);
  json::object sc{{"MaxVCpuCount", scaling.max_vcpu_count}, {"ScalingMode", scaling.scaling_mode}};
  if (!scaling.policies.empty()) {
    json::array policies;
    for (const auto& p : scaling.policies) {
      policies.push_back(
          json::object{{"PredefinedMetricType", p.metric_type}, {"TargetValue", p.target_value}});
    }
    sc["ScalingPolicies"] = std::move(policies);
  }
  o["CapacityProviderScalingConfig"] = std::move(sc);
  if (kms_key_arn) {
    o["KmsKeyArn"] = *kms_key_arn;
  }
  if (propagate_tags) {
    json::object p{{"Mode", propagate_tags->mode}};
    if (propagate_tags->explicit_tags) {
      p["ExplicitTags"] = stored::toJsonObject(*propagate_tags->explicit_tags);
    }
    o["PropagateTags"] = std::move(p);
  }
  if (telemetry) {
    json::object t;
    if (telemetry->logging) {
      json::object lc;
      if (telemetry->logging->system_log_level) {
        lc["SystemLogLevel"] = *telemetry->logging->system_log_level;
      }
      if (telemetry->logging->log_group) {
        lc["LogGroup"] = *telemetry->logging->log_group;
      }
      t["LoggingConfig"] = std::move(lc);
    }
    o["TelemetryConfig"] = std::move(t);
  }
  o["LastModified"] = last_modified;
  return o;
}

CapacityProvider CapacityProvider::fromJson(const json::object& o) {
  using stored::objectAt;
  CapacityProvider p;
  stored::readString(o, "CapacityProviderArn", &p.arn);
  if (auto state = stored::stringAt(o, "State")) {
    p.state = parseCapacityProviderState(*state).value_or(CapacityProviderState::kPending);
  }
  if (const auto* vpc = objectAt(o, "VpcConfig")) {
    p.subnet_ids = stored::stringsAt(*vpc, "SubnetIds").value_or(std::vector<std::string>{});
    p.security_group_ids =
        stored::stringsAt(*vpc, "SecurityGroupIds").value_or(std::vector<std::string>{});
  }
  if (const auto* permissions = objectAt(o, "PermissionsConfig")) {
    stored::readString(*permissions, "CapacityProviderOperatorRoleArn", &p.operator_role_arn);
  }
  if (const auto* ir = objectAt(o, "InstanceRequirements")) {
    if (auto archs = stored::stringsAt(*ir, "Architectures"); archs && !archs->empty()) {
      p.architecture = archs->front();
    }
    p.allowed_instance_types = stored::stringsAt(*ir, "AllowedInstanceTypes");
    p.excluded_instance_types = stored::stringsAt(*ir, "ExcludedInstanceTypes");
  }
  if (const auto* sc = objectAt(o, "CapacityProviderScalingConfig")) {
    p.scaling.max_vcpu_count = stored::intAt(*sc, "MaxVCpuCount").value_or(kDefaultMaxVCpuCount);
    stored::readString(*sc, "ScalingMode", &p.scaling.scaling_mode);
    if (const json::value* policies = sc->if_contains("ScalingPolicies");
        policies != nullptr && policies->is_array()) {
      for (const auto& item : policies->get_array()) {
        if (!item.is_object()) {
          continue;
        }
        CapacityProviderScaling::TargetTracking policy;
        stored::readString(item.get_object(), "PredefinedMetricType", &policy.metric_type);
        policy.target_value = stored::doubleAt(item.get_object(), "TargetValue").value_or(0);
        p.scaling.policies.push_back(std::move(policy));
      }
    }
  }
  p.kms_key_arn = stored::stringAt(o, "KmsKeyArn");
  if (const auto* tags = objectAt(o, "PropagateTags")) {
    PropagateTags propagate;
    stored::readString(*tags, "Mode", &propagate.mode);
    propagate.explicit_tags = stored::stringMapAt(*tags, "ExplicitTags");
    p.propagate_tags = std::move(propagate);
  }
  if (const auto* telemetry = objectAt(o, "TelemetryConfig")) {
    Telemetry t;
    if (const auto* lc = objectAt(*telemetry, "LoggingConfig")) {
      t.logging =
          Logging{stored::stringAt(*lc, "SystemLogLevel"), stored::stringAt(*lc, "LogGroup")};
    }
    p.telemetry = std::move(t);
  }
  stored::readString(o, "LastModified", &p.last_modified);
  return p;
}

}  // namespace hearth
