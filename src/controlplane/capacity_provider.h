#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hearth {

enum class CapacityProviderState { kPending, kActive, kFailed, kDeleting };
std::string_view capacityProviderStateName(CapacityProviderState state);
std::optional<CapacityProviderState> parseCapacityProviderState(std::string_view name);

inline constexpr int64_t kDefaultMaxVCpuCount = 400;

// CapacityProviderScalingConfig.
struct CapacityProviderScaling {
  struct TargetTracking {
    std::string metric_type;  // PredefinedMetricType
    double target_value = 0;  // percent
    bool operator==(const TargetTracking&) const = default;
  };
  int64_t max_vcpu_count = kDefaultMaxVCpuCount;
  std::string scaling_mode = "Auto";     // Auto or Manual
  std::vector<TargetTracking> policies;  // ScalingPolicies; Manual mode only, else empty

  bool operator==(const CapacityProviderScaling&) const = default;
};

// A capacity provider as the control plane works on it (the CapacityProvider shape). JSON is only
// its form in API answers and in the Store.
struct CapacityProvider {
  struct PropagateTags {
    std::string mode = "None";  // None or Explicit
    std::optional<std::map<std::string, std::string>> explicit_tags;
    bool operator==(const PropagateTags&) const = default;
  };
  struct Logging {
    std::optional<std::string> system_log_level;
    std::optional<std::string> log_group;
    bool operator==(const Logging&) const = default;
  };
  struct Telemetry {
    std::optional<Logging> logging;
    bool operator==(const Telemetry&) const = default;
  };

  std::string arn;
  CapacityProviderState state = CapacityProviderState::kPending;
  std::vector<std::string> subnet_ids;  // the zones instances spread over
  std::vector<std::string> security_group_ids;
  std::string operator_role_arn;
  std::string architecture = "x86_64";
  std::optional<std::vector<std::string>> allowed_instance_types;
  std::optional<std::vector<std::string>> excluded_instance_types;
  CapacityProviderScaling scaling;
  std::optional<std::string> kms_key_arn;
  std::optional<PropagateTags> propagate_tags;
  std::optional<Telemetry> telemetry;
  std::string last_modified;  // AWS timestamp

  // The last segment of the ARN.
  std::string name() const;

  // The CapacityProvider shape, for the API and the Store.
  boost::json::object toJson() const;
  // From the Store. Members that are absent or of another type keep their defaults.
  static CapacityProvider fromJson(const boost::json::object& o);

  bool operator==(const CapacityProvider&) const = default;
};

}  // namespace hearth
