#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

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
  // The request counters of a version, shared between successive tables; null: not counted.
  virtual std::shared_ptr<VersionCounters> countersFor(const std::string& function,
                                                       const std::string& version) {
    (void)function;
    (void)version;
    return nullptr;
  }
};

// What the invoke path counted: read once per metrics sample. Thread-safe.
class RequestSource {
 public:
  virtual ~RequestSource() = default;
  virtual std::vector<RequestTotals> requestTotals() const = 0;
  virtual std::map<std::string, int> inFlightByEnvironment() const = 0;
};

// The Router as a RouteSink and a RequestSource.
class RouterSink final : public RouteSink, public RequestSource {
 public:
  explicit RouterSink(Router* router) : router_(router) {}
  void publish(RoutingTable table) override;
  RouteSlotPtr slotFor(const std::string& environment_id, const std::string& host, uint16_t port,
                       int max_concurrency) override;
  std::shared_ptr<VersionCounters> countersFor(const std::string& function,
                                               const std::string& version) override;
  std::vector<RequestTotals> requestTotals() const override;
  std::map<std::string, int> inFlightByEnvironment() const override;

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
