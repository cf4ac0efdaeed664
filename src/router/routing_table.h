#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "metrics/request_counters.h"

namespace hearth {

// One execution environment the router can send invocations to. Shared between successive
// routing tables so its outstanding count survives a table swap.
struct RouteSlot {
  std::string environment_id;
  std::string host;  // the agent's address
  uint16_t port = 0;
  int max_concurrency = 1;
  std::atomic<int> outstanding{0};
  std::atomic<bool> draining{false};

  // Reserves a slot if one is free. Lock-free.
  bool tryReserve() {
    int current = outstanding.load(std::memory_order_relaxed);
    while (current < max_concurrency && !draining.load(std::memory_order_relaxed)) {
      if (outstanding.compare_exchange_weak(current, current + 1, std::memory_order_acq_rel)) {
        return true;
      }
    }
    return false;
  }
  void release() { outstanding.fetch_sub(1, std::memory_order_acq_rel); }
};
using RouteSlotPtr = std::shared_ptr<RouteSlot>;

// A published version that can be invoked: its Ready environments and invoke settings.
struct VersionRoute {
  std::string function_name;
  std::string version;
  std::string function_arn;  // qualified with the version
  int timeout_seconds = 3;
  std::vector<RouteSlotPtr> slots;
  // The version's request counters, shared between successive tables. May be null.
  std::shared_ptr<VersionCounters> counters;
};

struct AliasRoute {
  std::string primary_version;
  std::string additional_version;  // empty when no weighted routing
  double additional_weight = 0;
};

struct FunctionRoute {
  bool managed = false;                          // runs on a capacity provider
  std::map<std::string, VersionRoute> versions;  // by version ("1", "$LATEST.PUBLISHED")
  std::map<std::string, AliasRoute> aliases;
};

// An immutable snapshot of everything the invoke path needs, published by the fleet manager.
// The router never reads the Store, so it keeps serving from the last table while the Store is
// slow or down.
struct RoutingTable {
  std::unordered_map<std::string, FunctionRoute> functions;
};
using RoutingTablePtr = std::shared_ptr<const RoutingTable>;

}  // namespace hearth
