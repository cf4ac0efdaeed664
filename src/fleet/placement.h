#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fleet/instance_types.h"

namespace hearth {

// Free capacity of one running (or launching) instance of a capacity provider.
struct InstanceCapacity {
  std::string instance_id;
  std::string zone;
  int free_vcpus = 0;
  int64_t free_memory_mib = 0;
};

// A request to place `count` more EEs of one function version.
struct PlacementRequest {
  EnvironmentSize size;
  int count = 0;
  // EEs of this version already running per zone, so new ones even out the spread.
  std::map<std::string, int> existing_per_zone;
};

// Where each new EE goes: onto an existing instance, or onto an instance to launch.
struct PlacementDecision {
  struct Assignment {
    std::string instance_id;  // existing instance, or "new:<k>" for the k-th launch below
    std::string zone;
  };
  std::vector<Assignment> assignments;
  struct Launch {
    std::string zone;
    InstanceType type;
  };
  std::vector<Launch> launches;
  // True when the request could not be fully placed within max_vcpus.
  bool vcpu_limit_exceeded = false;
};

// Pure placement: spreads EEs across `zones` (the provider's subnets, in order) so per-zone counts
// differ by at most one, packs each onto the existing instance in that zone with the least free
// capacity that still fits (best fit), and launches instances of `launch_type` in a zone when
// nothing fits, as long as `used_vcpus` + launched vCPUs stays ≤ `max_vcpus`.
//
// Deterministic; `zones` are distinct. EEs are placed one at a time:
//  1. Zone: the zone with the fewest EEs (existing_per_zone plus those assigned so far); ties go to
//     the earlier zone in `zones`. Counts for zones not in `zones` are ignored.
//  2. Instance in that zone: the existing instance that fits with the least leftover vCPUs, then
//     memory (ties: input order); else, the same rule over instances launched earlier in this
//     decision ("new:<k>", k = 0-based index into `launches`); else a new launch of
//     `launch_type` there, if used_vcpus + vCPUs of all launches + launch_type.vcpus ≤ max_vcpus.
//  3. When that zone has no room and no launch is possible, the EE goes to the first other zone,
//     in the order of step 1, with room on an existing or launched instance. This may leave the
//     spread uneven but never exceeds the limit.
//  4. When no zone has room: if a launch was refused by max_vcpus, vcpu_limit_exceeded is set; in
//     any case placement stops, so assignments holds fewer than request.count entries.
// An instance fits when its free vCPUs and free memory, less the EEs assigned to it in this
// decision, are ≥ request.size. Instances whose zone is not in `zones` are not used. Launches only
// happen when launch_type holds at least one EE. Nothing is placed when `zones` is empty or
// request.count ≤ 0.
PlacementDecision placeEnvironments(const PlacementRequest& request,
                                    const std::vector<std::string>& zones,
                                    const std::vector<InstanceCapacity>& instances,
                                    const InstanceType& launch_type, int used_vcpus, int max_vcpus);

}  // namespace hearth
