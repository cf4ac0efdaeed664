#pragma once

#include <functional>
#include <string>

#include "fleet/fleet_model.h"
#include "router/routing_table.h"

namespace hearth {

class Router;

// Where routing tables go: the router. Thread-safe.
class RouteSink {
 public:
  virtual ~RouteSink() = default;
  virtual void publish(RoutingTable table) = 0;
  // The slot object for an EE, shared between successive tables.
  virtual RouteSlotPtr slotFor(const std::string& environment_id, const std::string& host,
                               uint16_t port, int max_concurrency) = 0;
};

// The Router as a RouteSink.
class RouterSink final : public RouteSink {
 public:
  explicit RouterSink(Router* router) : router_(router) {}
  void publish(RoutingTable table) override;
  RouteSlotPtr slotFor(const std::string& environment_id, const std::string& host, uint16_t port,
                       int max_concurrency) override;

 private:
  Router* router_;
};

// The invoke path's view of a fleet: every managed function; for each Active version (and each
// Pending one with Ready EEs: a first publish half-way, or a $LATEST.PUBLISHED rollover), its
// Ready EEs on running instances, of any deployment; and the aliases. Draining EEs are left out.
// Pure, except for `sink.slotFor`.
RoutingTable buildRoutingTable(const DesiredFleet& desired, const ObservedFleet& observed,
                               RouteSink& sink);

// Publishes a routing table when what it would hold changed since the last one. Runs on the
// reconcile thread.
class RoutePublisher {
 public:
  explicit RoutePublisher(RouteSink* sink) : sink_(sink) {}
  // Returns true when a new table was published.
  bool publishIfChanged(const DesiredFleet& desired, const ObservedFleet& observed);

 private:
  RouteSink* sink_;
  std::string last_fingerprint_;
};

}  // namespace hearth
