#include "fleet/control_plane_source.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include "controlplane/capacity_providers.h"
#include "controlplane/functions.h"

namespace hearth {

int defaultConcurrencyPerVCpu(const std::string& runtime) {
  if (runtime.rfind("nodejs", 0) == 0)
    return 64;
  if (runtime.rfind("java", 0) == 0 || runtime.rfind("dotnet", 0) == 0)
    return 32;
  if (runtime.rfind("python", 0) == 0)
    return 16;
  return 8;
}

namespace {

// A stored figure, or `fallback` when it is out of range.
int64_t within(int64_t value, int64_t lo, int64_t hi, int64_t fallback) {
  return value < lo || value > hi ? fallback : value;
}

VersionState fleetState(FunctionState state) {
  switch (state) {
    case FunctionState::kActive:
      return VersionState::kActive;
    case FunctionState::kFailed:
      return VersionState::kFailed;
    case FunctionState::kPending:
      return VersionState::kPending;
    case FunctionState::kDeactivating:
      return VersionState::kDeactivating;
    case FunctionState::kDeactivated:
      return VersionState::kDeactivated;
    default:
      return VersionState::kInactive;
  }
}

constexpr int64_t kMaxInt = 1 << 30;

}  // namespace

Result<DesiredFleet> ControlPlaneSource::read() {
  HEARTH_ASSIGN_OR_RETURN(auto versions, functions_->managedVersions());
  HEARTH_ASSIGN_OR_RETURN(auto aliases, functions_->allAliases());
  DesiredFleet out;
  std::map<std::string, std::optional<CapacityProviderRecord>> providers;
  for (const auto& mv : versions) {
    auto& provider = providers[mv.capacity_provider];
    if (!provider) {
      auto loaded = providers_->load(mv.capacity_provider);
      if (!loaded.isOk()) {
        if (loaded.status().code() == StatusCode::kNotFound) {
          continue;
        }
        return loaded.status();
      }
      provider = std::move(loaded).value();
    }
    DesiredVersion d;
    d.key = {mv.function, mv.version};
    d.capacity_provider = mv.capacity_provider;
    d.state = fleetState(mv.config.state);
    d.state_reason_code = mv.config.state_reason_code;
    const FunctionConfiguration& config = mv.config;
    d.deployment = {mv.code_hex, config.revision_id};
    d.function_arn = config.function_arn;
    d.scaling.min_environments = default_min_environments_;
    if (mv.scaling) {
      d.scaling.min_environments =
          static_cast<int>(std::clamp<int64_t>(mv.scaling->min_environments, 0, kMaxInt));
      if (mv.scaling->max_environments) {
        d.scaling.max_environments =
            static_cast<int>(std::clamp<int64_t>(*mv.scaling->max_environments, 0, kMaxInt));
      }
    }
    const std::optional<ManagedInstancesConfig>& lmi = config.managed_instances;
    double ratio = lmi && lmi->memory_gib_per_vcpu > 0 ? lmi->memory_gib_per_vcpu : 2.0;
    int64_t memory = within(config.memory_size_mb, 128, int64_t{1} << 30, 2048);
    d.size.memory_mib = memory;
    d.size.memory_gib_per_vcpu = ratio;
    d.size.vcpus = std::max<int>(1, static_cast<int>(std::ceil(memory / (ratio * 1024.0))));
    int64_t default_concurrency = int64_t{defaultConcurrencyPerVCpu(config.runtime)} * d.size.vcpus;
    d.max_concurrency = static_cast<int>(
        lmi && lmi->per_environment_max_concurrency
            ? within(*lmi->per_environment_max_concurrency, 1, kMaxInt, default_concurrency)
            : default_concurrency);
    // AWS caps Timeout at 900 s; the agent bounds a drain by that.
    d.timeout_seconds = static_cast<int>(within(config.timeout_seconds, 1, 900, 3));

    protocol::EnvironmentSpec& spec = d.spec;
    spec.function_name = d.key.function;
    spec.version = d.key.version;
    spec.function_arn = d.function_arn;
    spec.runtime = config.runtime;
    spec.handler = config.handler.value_or("");
    spec.code_sha256_hex = mv.code_hex;
    spec.revision_id = d.deployment.revision_id;
    spec.memory_mb = memory;
    spec.ephemeral_storage_mb = within(config.ephemeral_storage_mb, 512, 10240, 512);
    spec.timeout_seconds = d.timeout_seconds;
    spec.max_concurrency = d.max_concurrency;
    spec.vcpus = d.size.vcpus;
    if (config.environment) {
      spec.environment = *config.environment;
    }
    if (config.logging) {
      spec.log_group = config.logging->log_group;
    }

    const CapacityProvider& p = provider->provider;
    d.zones = p.subnet_ids;
    d.requirements.architecture = p.architecture;
    d.requirements.allowed = p.allowed_instance_types.value_or(std::vector<std::string>{});
    d.requirements.excluded = p.excluded_instance_types.value_or(std::vector<std::string>{});
    d.max_vcpus = static_cast<int>(std::clamp<int64_t>(p.scaling.max_vcpu_count, 0, kMaxInt));
    if (p.scaling.scaling_mode == "Manual") {
      for (const auto& policy : p.scaling.policies) {
        if (policy.target_value > 0) {
          d.target = ScalingTarget{true, std::clamp(policy.target_value, 1.0, 100.0) / 100.0};
          break;
        }
      }
    }
    out.versions.push_back(std::move(d));
  }
  for (const auto& a : aliases) {
    out.aliases.push_back(
        AliasTarget{a.function, a.name, a.version, a.additional_version, a.additional_weight});
  }
  return out;
}

Status ControlPlaneSource::setVersionState(const SetVersionState& change) {
  FunctionState state = change.state == VersionState::kActive        ? FunctionState::kActive
                        : change.state == VersionState::kFailed      ? FunctionState::kFailed
                        : change.state == VersionState::kPending     ? FunctionState::kPending
                        : change.state == VersionState::kDeactivated ? FunctionState::kDeactivated
                                                                     : FunctionState::kInactive;
  return functions_->setVersionState(change.key.function, change.key.version, state, change.reason,
                                     change.reason_code);
}

}  // namespace hearth
