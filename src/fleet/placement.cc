#include "fleet/placement.h"

#include <algorithm>
#include <cstddef>
#include <numeric>
#include <string>

namespace hearth {
namespace {

// Capacity still free on one instance during a decision.
struct Slot {
  std::string instance_id;
  size_t zone_index = 0;
  int free_vcpus = 0;
  int64_t free_memory_mib = 0;
};

bool fits(const Slot& slot, const EnvironmentSize& size) {
  return slot.free_vcpus >= size.vcpus && slot.free_memory_mib >= size.memory_mib;
}

// Index of the slot in `zone_index` that fits `size` with the least leftover vCPUs, then memory;
// the earliest on a tie. Returns slots.size() when none fits.
size_t bestFit(const std::vector<Slot>& slots, size_t zone_index, const EnvironmentSize& size) {
  size_t best = slots.size();
  for (size_t i = 0; i < slots.size(); ++i) {
    const Slot& slot = slots[i];
    if (slot.zone_index != zone_index || !fits(slot, size)) {
      continue;
    }
    if (best == slots.size() || slot.free_vcpus < slots[best].free_vcpus ||
        (slot.free_vcpus == slots[best].free_vcpus &&
         slot.free_memory_mib < slots[best].free_memory_mib)) {
      best = i;
    }
  }
  return best;
}

void take(Slot& slot, const EnvironmentSize& size) {
  slot.free_vcpus -= size.vcpus;
  slot.free_memory_mib -= size.memory_mib;
}

}  // namespace

PlacementDecision placeEnvironments(const PlacementRequest& request,
                                    const std::vector<std::string>& zones,
                                    const std::vector<InstanceCapacity>& instances,
                                    const InstanceType& launch_type, int used_vcpus,
                                    int max_vcpus) {
  PlacementDecision decision;
  if (zones.empty() || request.count <= 0) {
    return decision;
  }
  const EnvironmentSize& size = request.size;

  auto zoneIndex = [&](const std::string& zone) {
    return static_cast<size_t>(std::find(zones.begin(), zones.end(), zone) - zones.begin());
  };

  std::vector<int> per_zone(zones.size(), 0);
  for (const auto& [zone, count] : request.existing_per_zone) {
    size_t z = zoneIndex(zone);
    if (z < zones.size()) {
      per_zone[z] += std::max(count, 0);
    }
  }

  std::vector<Slot> existing;
  for (const InstanceCapacity& instance : instances) {
    size_t z = zoneIndex(instance.zone);
    if (z < zones.size()) {
      existing.push_back({instance.instance_id, z, instance.free_vcpus, instance.free_memory_mib});
    }
  }

  std::vector<Slot> launched;
  const bool launch_holds_one =
      launch_type.vcpus >= size.vcpus && launch_type.memory_mib >= size.memory_mib;
  int64_t committed_vcpus = used_vcpus;

  // Assigns to the best-fitting existing or launched instance in zone `z`; false if none fits.
  auto assignToRoom = [&](size_t z) {
    size_t i = bestFit(existing, z, size);
    if (i < existing.size()) {
      take(existing[i], size);
      decision.assignments.push_back({existing[i].instance_id, zones[z]});
      return true;
    }
    i = bestFit(launched, z, size);
    if (i < launched.size()) {
      take(launched[i], size);
      decision.assignments.push_back({launched[i].instance_id, zones[z]});
      return true;
    }
    return false;
  };

  std::vector<size_t> order(zones.size());
  for (int placed = 0; placed < request.count; ++placed) {
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return per_zone[a] < per_zone[b]; });

    const size_t zone = order.front();
    bool assigned = assignToRoom(zone);
    bool limit_hit = false;
    if (!assigned && launch_holds_one) {
      if (committed_vcpus + launch_type.vcpus <= max_vcpus) {
        std::string id = "new:" + std::to_string(decision.launches.size());
        decision.launches.push_back({zones[zone], launch_type});
        launched.push_back({id, zone, launch_type.vcpus, launch_type.memory_mib});
        committed_vcpus += launch_type.vcpus;
        assigned = assignToRoom(zone);
      } else {
        limit_hit = true;
      }
    }
    size_t used_zone = zone;
    for (size_t k = 1; !assigned && k < order.size(); ++k) {
      used_zone = order[k];
      assigned = assignToRoom(used_zone);
    }
    if (!assigned) {
      decision.vcpu_limit_exceeded = limit_hit;
      break;
    }
    ++per_zone[used_zone];
  }
  return decision;
}

}  // namespace hearth
