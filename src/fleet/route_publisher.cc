#include "fleet/route_publisher.h"

#include <fmt/format.h>

#include "router/router.h"

namespace hearth {

void RouterSink::publish(RoutingTable table) {
  router_->publish(std::move(table));
}

RouteSlotPtr RouterSink::slotFor(const std::string& environment_id, const std::string& host,
                                 uint16_t port, int max_concurrency) {
  return router_->slotFor(environment_id, host, port, max_concurrency);
}

std::shared_ptr<VersionCounters> RouterSink::countersFor(const std::string& function,
                                                         const std::string& version) {
  return router_->countersFor(function, version);
}

std::vector<RequestTotals> RouterSink::requestTotals() const {
  return router_->requestTotals();
}

std::map<std::string, int> RouterSink::inFlightByEnvironment() const {
  return router_->inFlightByEnvironment();
}

namespace {

bool routable(const ObservedEnvironment& env, const ObservedFleet& observed) {
  if (env.state != PlacedState::kReady) {
    return false;
  }
  auto inst = observed.instances.find(env.instance_id);
  return inst != observed.instances.end() && inst->second.state == InstanceState::kRunning;
}

// Everything a table is built from, as text, to tell whether a new one is needed.
std::string fingerprint(const DesiredFleet& desired, const ObservedFleet& observed) {
  std::string out;
  for (const auto& d : desired.versions) {
    out += fmt::format("v|{}|{}|{}|{}|{}\n", d.key.function, d.key.version,
                       static_cast<int>(d.state), d.function_arn, d.timeout_seconds);
  }
  for (const auto& a : desired.aliases) {
    out += fmt::format("a|{}|{}|{}|{}|{}\n", a.function, a.name, a.version, a.additional_version,
                       a.additional_weight);
  }
  for (const auto& [id, env] : observed.environments) {
    if (routable(env, observed)) {
      const auto& inst = observed.instances.at(env.instance_id);
      out += fmt::format("e|{}|{}|{}|{}:{}\n", id, env.key.function, env.key.version, inst.host,
                         inst.port);
    }
  }
  return out;
}

}  // namespace

RoutingTable buildRoutingTable(const DesiredFleet& desired, const ObservedFleet& observed,
                               RouteSink& sink) {
  RoutingTable table;
  for (const auto& d : desired.versions) {
    FunctionRoute& fn = table.functions[d.key.function];
    fn.managed = true;
    if (d.state != VersionState::kActive && d.state != VersionState::kPending) {
      continue;
    }
    VersionRoute route;
    route.function_name = d.key.function;
    route.version = d.key.version;
    route.function_arn = d.function_arn;
    route.timeout_seconds = d.timeout_seconds;
    route.counters = sink.countersFor(d.key.function, d.key.version);
    for (const auto& [id, env] : observed.environments) {
      if (env.key == d.key && routable(env, observed)) {
        const auto& inst = observed.instances.at(env.instance_id);
        route.slots.push_back(sink.slotFor(id, inst.host, inst.port, env.max_concurrency));
      }
    }
    if (d.state == VersionState::kActive || !route.slots.empty()) {
      fn.versions.emplace(d.key.version, std::move(route));
    }
  }
  for (const auto& alias : desired.aliases) {
    auto fn = table.functions.find(alias.function);
    if (fn != table.functions.end()) {
      fn->second.aliases[alias.name] =
          AliasRoute{alias.version, alias.additional_version, alias.additional_weight};
    }
  }
  return table;
}

bool RoutePublisher::publishIfChanged(const DesiredFleet& desired, const ObservedFleet& observed) {
  std::string next = fingerprint(desired, observed);
  if (next == last_fingerprint_) {
    return false;
  }
  sink_->publish(buildRoutingTable(desired, observed, *sink_));
  last_fingerprint_ = std::move(next);
  return true;
}

}  // namespace hearth
