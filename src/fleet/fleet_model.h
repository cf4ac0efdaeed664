#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fleet/instance_types.h"
#include "protocol/agent_protocol.h"

namespace hearth {

// The fleet's typed model: what the control plane wants (DesiredVersion) and what the fleet has
// (ObservedFleet). The planner reads both and decides; nothing here does I/O.

using SteadyTime = std::chrono::steady_clock::time_point;

struct VersionKey {
  std::string function;
  std::string version;
  auto operator<=>(const VersionKey&) const = default;
};

enum class VersionState { kPending, kActive, kFailed, kInactive, kDeactivating, kDeactivated };

// What an EE runs. Two EEs of one version run the same thing exactly when their deployments are
// equal: a republish of $LATEST.PUBLISHED changes the revision, new code changes the sha.
struct DeploymentId {
  std::string code_sha256_hex;
  std::string revision_id;
  bool operator==(const DeploymentId&) const = default;
};

struct ScalingBounds {
  int min_environments = 3;
  std::optional<int> max_environments;
};

// The capacity provider's scaling target: Auto (Hearth picks it) or Manual with a TargetValue.
struct ScalingTarget {
  bool manual = false;
  double utilization = 0;  // Manual: the TargetValue as a fraction (0.7 for 70)
};

// One published version on a capacity provider, as the control plane wants it.
struct DesiredVersion {
  VersionKey key;
  std::string capacity_provider;
  VersionState state = VersionState::kPending;
  std::string state_reason_code;  // as the control plane has it
  DeploymentId deployment;
  ScalingBounds scaling;
  EnvironmentSize size;
  int max_concurrency = 1;
  int timeout_seconds = 3;
  std::string function_arn;           // qualified with the version
  protocol::EnvironmentSpec spec;     // what an agent needs to start one
  std::vector<std::string> zones;     // the provider's subnets
  InstanceRequirements requirements;  // the provider's instance requirements
  int max_vcpus = 400;                // the provider's MaxVCpuCount
  ScalingTarget target;               // the provider's scaling mode
};

struct AliasTarget {
  std::string function;
  std::string name;
  std::string version;
  std::string additional_version;
  double additional_weight = 0;
};

// Everything the control plane wants of the fleet, read in one pass.
struct DesiredFleet {
  std::vector<DesiredVersion> versions;
  std::vector<AliasTarget> aliases;
};

enum class InstanceState { kPending, kRunning, kTerminated };

struct ObservedInstance {
  std::string id;
  std::string capacity_provider;
  std::string zone;
  InstanceType type;
  InstanceState state = InstanceState::kPending;
  std::string host;
  uint16_t port = 0;
  SteadyTime launched_at{};
  SteadyTime last_heartbeat{};
  SteadyTime last_used{};  // last time an EE was placed on or removed from it
  // Recovered from an earlier server and not heard from yet: its EEs are unknown until its first
  // heartbeat, so nothing is placed on its capacity provider meanwhile.
  bool adopting = false;
};

// A placed EE's life as the server sees it:
//   kAssigned → kStarting (spec sent) → kReady (runtime polled /next) → kDraining → forgotten
//   kStarting → kFailed (init failed or timed out); any → kGone (lost, exited, refused).
enum class PlacedState { kAssigned, kStarting, kReady, kFailed, kDraining, kGone };
std::string_view placedStateName(PlacedState state);

struct EnvironmentUsage {
  int outstanding = 0;
  double cpu_utilization = 0;  // of the EE's vCPUs
  int64_t resident_bytes = 0;
  SteadyTime sampled_at{};
};

struct ObservedEnvironment {
  std::string id;
  std::string instance_id;
  VersionKey key;
  DeploymentId deployment;
  std::string capacity_provider;
  int vcpus = 1;
  int64_t memory_mib = 2048;
  int max_concurrency = 1;
  int timeout_seconds = 3;  // the version's Timeout: how long a drain waits
  PlacedState state = PlacedState::kAssigned;
  std::string error_type;
  std::string error_message;
  SteadyTime sent_at{};
  SteadyTime drain_deadline{};
  std::chrono::seconds init_timeout{130};
  EnvironmentUsage usage;
};

// The error type of an EE whose instance could not be launched.
inline constexpr std::string_view kInstanceLaunchFailed = "Hearth.InstanceLaunchFailed";

struct ObservedFleet {
  std::map<std::string, ObservedInstance> instances;
  std::map<std::string, ObservedEnvironment> environments;
  // When each capacity provider last failed to launch an instance (the launch's time).
  std::map<std::string, SteadyTime> launch_failures;
};

}  // namespace hearth
