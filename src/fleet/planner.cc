#include "fleet/planner.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "fleet/placement.h"

namespace hearth {

namespace {

bool isLiveState(PlacedState s) {
  return s == PlacedState::kAssigned || s == PlacedState::kStarting || s == PlacedState::kReady;
}

constexpr std::string_view kScalingLimitCode = "CapacityProviderScalingLimitExceeded";

// How long after its drain deadline a draining EE is forgotten even if its agent never confirms.
constexpr std::chrono::seconds kDrainConfirmMargin{5};

// Builds a plan by applying each decision to a working copy of the fleet as it goes, so later
// steps see the effect of earlier ones.
class Planner {
 public:
  explicit Planner(const PlanInput& in) : in_(in), fleet_(*in.observed) {}

  FleetPlan run() {
    loseSilentInstances();
    failSlowInits();
    std::set<VersionKey> desired_keys;
    for (const DesiredVersion& d : in_.desired->versions) {
      desired_keys.insert(d.key);
      planVersion(d);
    }
    retireUnwanted(desired_keys);
    startAssigned();
    keepHeadroom();
    releaseIdleInstances();
    return std::move(plan_);
  }

 private:
  void emit(FleetAction action) {
    if (const auto* state = std::get_if<SetVersionState>(&action);
        state != nullptr && state->state == VersionState::kFailed) {
      failed_now_.insert(state->key);
    }
    apply(action, in_.now, fleet_);
    plan_.actions.push_back(std::move(action));
  }

  std::chrono::milliseconds drainFor(const ObservedEnvironment& env) const {
    if (env.state != PlacedState::kReady) {
      return std::chrono::milliseconds(0);
    }
    return std::chrono::seconds(env.timeout_seconds) + in_.options.drain_grace;
  }

  void drain(const std::string& env_id) {
    const ObservedEnvironment& env = fleet_.environments.at(env_id);
    DrainEnvironment action{env_id, "", 0, drainFor(env)};
    if (auto it = fleet_.instances.find(env.instance_id);
        it != fleet_.instances.end() && it->second.state == InstanceState::kRunning) {
      action.host = it->second.host;
      action.port = it->second.port;
    }
    emit(std::move(action));
  }

  void loseSilentInstances() {
    std::vector<std::string> lost;
    for (const auto& [id, instance] : fleet_.instances) {
      bool silent = instance.state == InstanceState::kRunning &&
                    in_.now - instance.last_heartbeat > in_.options.heartbeat_timeout;
      bool never_registered = instance.state == InstanceState::kPending &&
                              in_.now - instance.launched_at > in_.options.register_timeout;
      bool exited = instance.state == InstanceState::kTerminated;
      if (silent || never_registered || exited) {
        lost.push_back(id);
      }
    }
    for (const auto& id : lost) {
      emit(TerminateInstance{id, /*lost=*/true});
    }
  }

  void failSlowInits() {
    std::vector<std::string> slow;
    for (const auto& [id, env] : fleet_.environments) {
      if (env.state == PlacedState::kStarting && in_.now - env.sent_at > env.init_timeout) {
        slow.push_back(id);
      }
    }
    for (const auto& id : slow) {
      emit(FailEnvironment{id, "FunctionError.InitTimeout",
                           "The execution environment did not finish init in time."});
    }
  }

  std::vector<std::string> environmentsOf(const VersionKey& key, auto&& predicate) const {
    std::vector<std::string> ids;
    for (const auto& [id, env] : fleet_.environments) {
      if (env.key == key && predicate(env)) {
        ids.push_back(id);
      }
    }
    return ids;
  }

  void planVersion(const DesiredVersion& d) {
    bool may_run = d.state == VersionState::kPending || d.state == VersionState::kActive;
    // EEs of an older deployment, or on an instance past its lifetime, are replaced: they drain
    // once the version has enough Ready EEs without them.
    auto current = [&](const ObservedEnvironment& e) {
      return e.deployment == d.deployment && !retiring(e.instance_id);
    };
    auto live =
        environmentsOf(d.key, [&](const auto& e) { return current(e) && isLiveState(e.state); });
    int count = 0;
    if (may_run) {
      ScalingContext context;
      context.version = &d;
      if (in_.signals != nullptr) {
        if (auto it = in_.signals->find(d.key); it != in_.signals->end()) {
          context.history = &it->second;
        }
      }
      context.current = static_cast<int>(live.size());
      context.now = in_.now;
      ScalingDecision decision = in_.policy->decide(context);
      count = decision.environments;
      plan_.scaling[d.key] =
          FleetPlan::Scaling{std::move(decision), context.current, d.capacity_provider};
    }
    auto ready = environmentsOf(
        d.key, [&](const auto& e) { return current(e) && e.state == PlacedState::kReady; });
    auto failed = environmentsOf(
        d.key, [&](const auto& e) { return current(e) && e.state == PlacedState::kFailed; });

    if (d.state == VersionState::kDeactivating &&
        environmentsOf(d.key, [](const auto&) { return true; }).empty()) {
      emit(SetVersionState{d.key, VersionState::kDeactivated,
                           "The function version was deactivated by its scaling config.", ""});
    }
    if (count > 0 && d.state == VersionState::kPending && !failed.empty()) {
      const ObservedEnvironment& env = fleet_.environments.at(failed.front());
      emit(SetVersionState{d.key, VersionState::kFailed, env.error_type + ": " + env.error_message,
                           initFailureCode(env.error_type)});
      return;
    }
    if (count > 0 && d.state == VersionState::kPending && static_cast<int>(ready.size()) >= count) {
      emit(SetVersionState{d.key, VersionState::kActive, "", ""});
    }
    if (static_cast<int>(ready.size()) >= count) {
      // The current deployment serves on its own: older ones drain.
      for (const auto& id : environmentsOf(
               d.key, [&](const auto& e) { return !current(e) && isLiveState(e.state); })) {
        drain(id);
      }
    }
    int missing = count - static_cast<int>(live.size());
    if (recovering(d.capacity_provider)) {
      return;  // the EEs of recovered instances are not known yet
    }
    if (d.state == VersionState::kActive && d.state_reason_code == kScalingLimitCode &&
        missing <= 0) {
      emit(SetVersionState{d.key, VersionState::kActive, "", ""});
    }
    if (missing > 0) {
      int placed = place(d, missing);
      if (placed < missing) {
        std::string reason = fmt::format(
            "The capacity provider {} cannot provide {} execution environments "
            "within its MaxVCpuCount of {}.",
            d.capacity_provider, count, d.max_vcpus);
        plan_.capacity_limited[d.key] = reason;
        if (d.state == VersionState::kPending) {
          emit(SetVersionState{d.key, VersionState::kFailed, std::move(reason),
                               std::string(kScalingLimitCode)});
        } else if (d.state_reason_code != kScalingLimitCode) {
          // Active, short of what the scaler wants: the reason says so until it is not.
          emit(SetVersionState{d.key, VersionState::kActive, std::move(reason),
                               std::string(kScalingLimitCode)});
        }
      }
    } else if (missing < 0) {
      // Surplus, one at a time: from the zone with the most of the version's EEs (the spread
      // stays even), EEs not yet ready first, then those on the emptiest instances (so
      // instances empty and are released), then the least busy.
      std::map<std::string, int> on_instance;  // live EEs of any version
      for (const auto& [id, env] : fleet_.environments) {
        on_instance[env.instance_id] += isLiveState(env.state) ? 1 : 0;
      }
      auto zoneOf = [&](const ObservedEnvironment& env) {
        auto it = fleet_.instances.find(env.instance_id);
        return it == fleet_.instances.end() ? std::string() : it->second.zone;
      };
      std::vector<const ObservedEnvironment*> candidates;
      for (const auto& id : live) {
        candidates.push_back(&fleet_.environments.at(id));
      }
      auto better = [&](const ObservedEnvironment* a, const ObservedEnvironment* b) {
        bool a_ready = a->state == PlacedState::kReady;
        bool b_ready = b->state == PlacedState::kReady;
        if (a_ready != b_ready) {
          return !a_ready;
        }
        if (on_instance[a->instance_id] != on_instance[b->instance_id]) {
          return on_instance[a->instance_id] < on_instance[b->instance_id];
        }
        return a->usage.outstanding < b->usage.outstanding;
      };
      std::vector<std::string> victims;
      for (int i = 0; i < -missing && !candidates.empty(); ++i) {
        std::map<std::string, int> per_zone;
        for (const auto* c : candidates) {
          ++per_zone[zoneOf(*c)];
        }
        auto pick = candidates.begin();
        for (auto it = candidates.begin(); it != candidates.end(); ++it) {
          int zone_it = per_zone[zoneOf(**it)];
          int zone_pick = per_zone[zoneOf(**pick)];
          if (zone_it > zone_pick || (zone_it == zone_pick && better(*it, *pick))) {
            pick = it;
          }
        }
        victims.push_back((*pick)->id);
        --on_instance[(*pick)->instance_id];
        candidates.erase(pick);
      }
      for (const auto& id : victims) {
        drain(id);
      }
    }
  }

  // Past its maximum lifetime: nothing new goes on it, its EEs are replaced, and it is released
  // once empty.
  bool retiring(const std::string& instance_id) const {
    auto it = fleet_.instances.find(instance_id);
    return it != fleet_.instances.end() && it->second.state != InstanceState::kTerminated &&
           in_.now - it->second.launched_at >= in_.options.max_instance_lifetime;
  }

  bool recovering(const std::string& capacity_provider) const {
    for (const auto& [id, instance] : fleet_.instances) {
      if (instance.adopting && instance.capacity_provider == capacity_provider) {
        return true;
      }
    }
    return false;
  }

  // Places up to `missing` EEs of `d`; returns how many were placed.
  int place(const DesiredVersion& d, int missing) {
    if (d.zones.empty()) {
      return 0;
    }
    auto type = chooseInstanceType(*in_.catalog, d.requirements, d.size,
                                   in_.options.preferred_environments_per_instance);
    if (!type) {
      return 0;
    }
    PlacementRequest request;
    request.size = d.size;
    request.count = missing;
    std::vector<InstanceCapacity> capacities;
    int used_vcpus = 0;
    for (const auto& [id, instance] : fleet_.instances) {
      if (instance.capacity_provider != d.capacity_provider ||
          instance.state == InstanceState::kTerminated || retiring(id)) {
        continue;  // a retiring instance's vCPUs do not count: rotation may exceed the budget
      }
      used_vcpus += instance.type.vcpus;
      InstanceCapacity capacity{id, instance.zone, instance.type.vcpus, instance.type.memory_mib};
      for (const auto& [eid, env] : fleet_.environments) {
        if (env.instance_id == id) {
          capacity.free_vcpus -= env.vcpus;
          capacity.free_memory_mib -= env.memory_mib;
        }
      }
      capacities.push_back(capacity);
    }
    for (const auto& [eid, env] : fleet_.environments) {
      if (env.key == d.key && env.deployment == d.deployment && isLiveState(env.state) &&
          !retiring(env.instance_id)) {
        if (auto inst = fleet_.instances.find(env.instance_id); inst != fleet_.instances.end()) {
          ++request.existing_per_zone[inst->second.zone];
        }
      }
    }
    PlacementDecision decision =
        placeEnvironments(request, d.zones, capacities, *type, used_vcpus, d.max_vcpus);
    std::vector<std::string> launched;
    for (const auto& launch : decision.launches) {
      ObservedInstance instance;
      instance.id = in_.ids->newInstanceId();
      instance.capacity_provider = d.capacity_provider;
      instance.zone = launch.zone;
      instance.type = launch.type;
      instance.launched_at = in_.now;
      instance.last_used = in_.now;
      launched.push_back(instance.id);
      emit(LaunchInstance{std::move(instance)});
    }
    int placed = 0;
    for (const auto& assignment : decision.assignments) {
      std::string instance_id = assignment.instance_id;
      if (instance_id.rfind("new:", 0) == 0) {
        size_t k = 0;
        for (char c : instance_id.substr(4)) {
          k = k * 10 + static_cast<size_t>(c - '0');
        }
        instance_id = k < launched.size() ? launched[k] : "";
      }
      if (instance_id.empty()) {
        continue;
      }
      ObservedEnvironment env;
      env.id = in_.ids->newEnvironmentId();
      env.instance_id = instance_id;
      env.key = d.key;
      env.deployment = d.deployment;
      env.capacity_provider = d.capacity_provider;
      env.vcpus = d.size.vcpus;
      env.memory_mib = d.size.memory_mib;
      env.max_concurrency = d.max_concurrency;
      env.timeout_seconds = d.timeout_seconds;
      env.init_timeout =
          std::max(in_.options.min_init_timeout, std::chrono::seconds(d.timeout_seconds));
      emit(PlaceEnvironment{std::move(env)});
      ++placed;
    }
    return placed;
  }

  void retireUnwanted(const std::set<VersionKey>& desired_keys) {
    std::vector<std::string> to_drain;
    std::vector<std::string> to_forget;
    for (const auto& [id, env] : fleet_.environments) {
      if (isLiveState(env.state) && !desired_keys.contains(env.key)) {
        to_drain.push_back(id);
      }
    }
    for (const auto& id : to_drain) {
      drain(id);
    }
    std::vector<std::string> to_stop;
    for (const auto& [id, env] : fleet_.environments) {
      if (env.state == PlacedState::kFailed || env.state == PlacedState::kGone) {
        to_stop.push_back(id);
      } else if (env.state == PlacedState::kDraining &&
                 in_.now > env.drain_deadline + kDrainConfirmMargin) {
        to_forget.push_back(id);
      }
    }
    for (const auto& id : to_stop) {
      drain(id);  // failed or gone: stopped at once where its agent is still reachable
      emit(ForgetEnvironment{id});
    }
    for (const auto& id : to_forget) {
      emit(ForgetEnvironment{id});
    }
  }

  void startAssigned() {
    std::map<VersionKey, const DesiredVersion*> by_key;
    for (const auto& d : in_.desired->versions) {
      by_key[d.key] = &d;
    }
    std::vector<StartEnvironment> starts;
    for (const auto& [id, env] : fleet_.environments) {
      if (env.state != PlacedState::kAssigned) {
        continue;
      }
      auto inst = fleet_.instances.find(env.instance_id);
      auto d = by_key.find(env.key);
      if (inst == fleet_.instances.end() || inst->second.state != InstanceState::kRunning ||
          d == by_key.end()) {
        continue;
      }
      starts.push_back(
          StartEnvironment{id, inst->first, inst->second.host, inst->second.port, d->second->spec});
    }
    for (auto& start : starts) {
      emit(std::move(start));
    }
  }

  // Free EE slots of `size` on an instance, after the EEs placed on it.
  int freeSlots(const std::string& instance_id, const EnvironmentSize& size) const {
    const ObservedInstance& inst = fleet_.instances.at(instance_id);
    int vcpus = inst.type.vcpus;
    int64_t memory = inst.type.memory_mib;
    for (const auto& [id, env] : fleet_.environments) {
      if (env.instance_id == instance_id) {
        vcpus -= env.vcpus;
        memory -= env.memory_mib;
      }
    }
    if (vcpus < size.vcpus || memory < size.memory_mib || size.vcpus <= 0 || size.memory_mib <= 0) {
      return 0;
    }
    return static_cast<int>(std::min<int64_t>(vcpus / size.vcpus, memory / size.memory_mib));
  }

  // Per capacity provider, room for headroom_fraction more of the EEs its versions want (at
  // least one EE of its largest size), so a scale-out lands on a running instance instead of
  // waiting for a launch. Launches within MaxVCpuCount; releaseIdleInstances() keeps it.
  void keepHeadroom() {
    if (in_.options.headroom_fraction <= 0) {
      return;
    }
    std::map<std::string, std::vector<const DesiredVersion*>> by_provider;
    for (const auto& d : in_.desired->versions) {
      auto failure = fleet_.launch_failures.find(d.capacity_provider);
      bool failing_launches = failure != fleet_.launch_failures.end() &&
                              in_.now - failure->second < in_.options.headroom_retry_after;
      if ((d.state == VersionState::kPending || d.state == VersionState::kActive) &&
          !d.zones.empty() && !recovering(d.capacity_provider) && !failing_launches &&
          !failed_now_.contains(d.key)) {
        by_provider[d.capacity_provider].push_back(&d);
      }
    }
    for (const auto& [provider, versions] : by_provider) {
      const DesiredVersion* largest = versions.front();
      int wanted_vcpus = 0;
      for (const DesiredVersion* d : versions) {
        if (d->size.vcpus > largest->size.vcpus ||
            (d->size.vcpus == largest->size.vcpus &&
             d->size.memory_mib > largest->size.memory_mib)) {
          largest = d;
        }
        if (auto it = plan_.scaling.find(d->key); it != plan_.scaling.end()) {
          wanted_vcpus += it->second.decision.environments * d->size.vcpus;
        }
      }
      const EnvironmentSize& size = largest->size;
      int need = 0;
      if (wanted_vcpus > 0) {
        need = std::max(1, static_cast<int>(std::ceil(in_.options.headroom_fraction * wanted_vcpus /
                                                      size.vcpus)));
      }
      int free = 0;
      int used_vcpus = 0;
      std::map<std::string, int> per_zone;
      for (const auto& zone : largest->zones) {
        per_zone[zone] = 0;
      }
      for (const auto& [id, inst] : fleet_.instances) {
        if (inst.capacity_provider != provider || inst.state == InstanceState::kTerminated ||
            retiring(id)) {
          continue;
        }
        used_vcpus += inst.type.vcpus;
        free += freeSlots(id, size);
        ++per_zone[inst.zone];
      }
      headroom_[provider] = Headroom{size, need, free};
      auto type = chooseInstanceType(*in_.catalog, largest->requirements, size,
                                     in_.options.preferred_environments_per_instance);
      if (!type || free >= need) {
        continue;
      }
      int slots = static_cast<int>(
          std::min<int64_t>(type->vcpus / size.vcpus, type->memory_mib / size.memory_mib));
      while (free < need && slots > 0 && used_vcpus + type->vcpus <= largest->max_vcpus) {
        auto zone =
            std::min_element(per_zone.begin(), per_zone.end(),
                             [](const auto& a, const auto& b) { return a.second < b.second; });
        ObservedInstance instance;
        instance.id = in_.ids->newInstanceId();
        instance.capacity_provider = provider;
        instance.zone = zone->first;
        instance.type = *type;
        instance.launched_at = in_.now;
        instance.last_used = in_.now;
        ++zone->second;
        used_vcpus += type->vcpus;
        free += slots;
        emit(LaunchInstance{std::move(instance)});
      }
      headroom_[provider].free = free;
    }
  }

  void releaseIdleInstances() {
    std::set<std::string> in_use;
    for (const auto& [id, env] : fleet_.environments) {
      in_use.insert(env.instance_id);
    }
    std::vector<std::pair<std::string, bool>> idle;  // (id, rotated)
    for (const auto& [id, instance] : fleet_.instances) {
      if (instance.state != InstanceState::kRunning || in_use.contains(id)) {
        continue;
      }
      if (retiring(id)) {
        idle.emplace_back(id, true);
      } else if (in_.now - instance.last_used > in_.options.idle_instance_ttl) {
        // Kept while its provider's headroom needs it.
        auto room = headroom_.find(instance.capacity_provider);
        if (room != headroom_.end()) {
          int slots = freeSlots(id, room->second.size);
          if (room->second.free - slots < room->second.need) {
            continue;
          }
          room->second.free -= slots;
        }
        idle.emplace_back(id, false);
      }
    }
    for (const auto& [id, rotated] : idle) {
      emit(TerminateInstance{id, /*lost=*/false, rotated});
    }
  }

  struct Headroom {
    EnvironmentSize size;  // of the provider's largest EE
    int need = 0;          // free EE slots wanted
    int free = 0;          // free EE slots on its instances
  };

  const PlanInput& in_;
  ObservedFleet fleet_;
  FleetPlan plan_;
  std::map<std::string, Headroom> headroom_;  // by capacity provider
  std::set<VersionKey> failed_now_;           // versions this plan fails
};

}  // namespace

FleetPlan plan(const PlanInput& input) {
  return Planner(input).run();
}

}  // namespace hearth
