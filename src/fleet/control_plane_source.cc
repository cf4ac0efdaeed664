#include "fleet/control_plane_source.h"

#include <algorithm>
#include <boost/json/object.hpp>
#include <cmath>
#include <map>
#include <optional>

#include "controlplane/capacity_providers.h"
#include "controlplane/function_config.h"
#include "controlplane/functions.h"
#include "controlplane/json_fields.h"

namespace hearth {
namespace json = boost::json;

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

// Members of stored documents, with a fallback when absent, of another type or out of range.
int64_t intMember(const json::object& o, std::string_view key, int64_t fallback, int64_t lo,
                  int64_t hi) {
  auto value = readInt(o, key);
  if (!value.isOk() || !*value || **value < lo || **value > hi) {
    return fallback;
  }
  return **value;
}

double doubleMember(const json::object& o, std::string_view key, double fallback) {
  auto value = readDouble(o, key);
  return value.isOk() && *value && **value > 0 ? **value : fallback;
}

const json::object* objectMember(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? &v->get_object() : nullptr;
}

std::vector<std::string> stringsMember(const json::object& o, std::string_view key) {
  std::vector<std::string> out;
  if (const json::value* v = o.if_contains(key); v != nullptr && v->is_array()) {
    for (const auto& s : v->get_array()) {
      if (s.is_string()) {
        out.emplace_back(s.get_string());
      }
    }
  }
  return out;
}

VersionState fleetState(FunctionState state) {
  switch (state) {
    case FunctionState::kActive:
      return VersionState::kActive;
    case FunctionState::kFailed:
      return VersionState::kFailed;
    case FunctionState::kPending:
      return VersionState::kPending;
    default:
      return VersionState::kInactive;  // Inactive, Deactivating, Deactivated
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
    d.state = fleetState(mv.state);
    d.deployment = {mv.code_hex, stringMember(mv.config, "RevisionId")};
    d.function_arn = stringMember(mv.config, "FunctionArn");
    d.scaling.min_environments = default_min_environments_;
    if (mv.scaling) {
      d.scaling.min_environments =
          static_cast<int>(std::clamp<int64_t>(mv.scaling->min_environments, 0, kMaxInt));
      if (mv.scaling->max_environments) {
        d.scaling.max_environments =
            static_cast<int>(std::clamp<int64_t>(*mv.scaling->max_environments, 0, kMaxInt));
      }
    }
    const json::object* lmi = nullptr;
    if (const auto* cp = objectMember(mv.config, "CapacityProviderConfig")) {
      lmi = objectMember(*cp, "LambdaManagedInstancesCapacityProviderConfig");
    }
    double ratio = lmi ? doubleMember(*lmi, "ExecutionEnvironmentMemoryGiBPerVCpu", 2.0) : 2.0;
    int64_t memory = intMember(mv.config, "MemorySize", 2048, 128, int64_t{1} << 30);
    d.size.memory_mib = memory;
    d.size.memory_gib_per_vcpu = ratio;
    d.size.vcpus = std::max<int>(1, static_cast<int>(std::ceil(memory / (ratio * 1024.0))));
    std::string runtime = stringMember(mv.config, "Runtime");
    int64_t default_concurrency = int64_t{defaultConcurrencyPerVCpu(runtime)} * d.size.vcpus;
    d.max_concurrency =
        static_cast<int>(lmi ? intMember(*lmi, "PerExecutionEnvironmentMaxConcurrency",
                                         default_concurrency, 1, kMaxInt)
                             : default_concurrency);
    // AWS caps Timeout at 900 s; the agent bounds a drain by that.
    d.timeout_seconds = static_cast<int>(intMember(mv.config, "Timeout", 3, 1, 900));

    protocol::EnvironmentSpec& spec = d.spec;
    spec.function_name = d.key.function;
    spec.version = d.key.version;
    spec.function_arn = d.function_arn;
    spec.runtime = runtime;
    spec.handler = stringMember(mv.config, "Handler");
    spec.code_sha256_hex = mv.code_hex;
    spec.revision_id = d.deployment.revision_id;
    spec.memory_mb = memory;
    spec.timeout_seconds = d.timeout_seconds;
    spec.max_concurrency = d.max_concurrency;
    spec.vcpus = d.size.vcpus;
    if (const auto* env = objectMember(mv.config, "Environment")) {
      if (const auto* vars = objectMember(*env, "Variables")) {
        for (const auto& [k, v] : *vars) {
          if (v.is_string()) {
            spec.environment.emplace(std::string(k), std::string(v.get_string()));
          }
        }
      }
    }
    if (const auto* lc = objectMember(mv.config, "LoggingConfig")) {
      spec.log_group = stringMember(*lc, "LogGroup");
    }

    const json::object& p = provider->provider;
    if (const auto* vpc = objectMember(p, "VpcConfig")) {
      d.zones = stringsMember(*vpc, "SubnetIds");
    }
    if (const auto* ir = objectMember(p, "InstanceRequirements")) {
      auto architectures = stringsMember(*ir, "Architectures");
      if (!architectures.empty()) {
        d.requirements.architecture = architectures.front();
      }
      d.requirements.allowed = stringsMember(*ir, "AllowedInstanceTypes");
      d.requirements.excluded = stringsMember(*ir, "ExcludedInstanceTypes");
    }
    d.max_vcpus = static_cast<int>(provider->maxVCpuCount());
    out.versions.push_back(std::move(d));
  }
  for (const auto& a : aliases) {
    out.aliases.push_back(
        AliasTarget{a.function, a.name, a.version, a.additional_version, a.additional_weight});
  }
  return out;
}

Status ControlPlaneSource::setVersionState(const SetVersionState& change) {
  FunctionState state = change.state == VersionState::kActive    ? FunctionState::kActive
                        : change.state == VersionState::kFailed  ? FunctionState::kFailed
                        : change.state == VersionState::kPending ? FunctionState::kPending
                                                                 : FunctionState::kInactive;
  return functions_->setVersionState(change.key.function, change.key.version, state, change.reason,
                                     change.reason_code);
}

}  // namespace hearth
