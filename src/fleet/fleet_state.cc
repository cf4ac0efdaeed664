#include "fleet/fleet_state.h"

#include <set>

namespace hearth {

namespace {
// A started EE its agent has not reported for this long after the start was sent is gone.
constexpr std::chrono::seconds kStartReportGrace{2};
}  // namespace

namespace {
// An EE an agent reports that this server did not place: it ran before a restart.
ObservedEnvironment adoptedEnvironment(const ObservedInstance& instance,
                                       const protocol::EnvironmentStatus& status, SteadyTime now) {
  const protocol::EnvironmentIdentity& id = *status.identity;
  ObservedEnvironment env;
  env.id = status.id;
  env.instance_id = instance.id;
  env.key = {id.function_name, id.version};
  env.deployment = {id.code_sha256_hex, id.revision_id};
  env.capacity_provider = instance.capacity_provider;
  env.vcpus = id.vcpus;
  env.memory_mib = id.memory_mb;
  env.max_concurrency = id.max_concurrency;
  env.timeout_seconds = id.timeout_seconds;
  switch (status.phase) {
    case protocol::EnvironmentPhase::kReady:
      env.state = PlacedState::kReady;
      break;
    case protocol::EnvironmentPhase::kDraining:
      env.state = PlacedState::kDraining;  // the agent finishes it; the server waits
      env.drain_deadline = now + std::chrono::seconds(id.timeout_seconds + 5);
      break;
    default:
      env.state = PlacedState::kStarting;
      break;
  }
  env.sent_at = now;
  env.init_timeout = std::max(std::chrono::seconds(130), std::chrono::seconds(id.timeout_seconds));
  return env;
}
}  // namespace

void FleetState::notify() const {
  if (on_change_) {
    on_change_();
  }
}

ObservedFleet FleetState::snapshot() const {
  MutexLock lock(&mu_);
  return fleet_;
}

void FleetState::apply(const FleetPlan& plan, SteadyTime now) {
  MutexLock lock(&mu_);
  for (const auto& action : plan.actions) {
    hearth::apply(action, now, fleet_);
  }
}

void FleetState::adopt(const std::vector<ObservedInstance>& instances, SteadyTime now) {
  MutexLock lock(&mu_);
  for (ObservedInstance instance : instances) {
    if (exited_unknown_.contains(instance.id)) {
      continue;
    }
    instance.state = InstanceState::kRunning;
    instance.adopting = true;
    instance.launched_at = now;
    instance.last_heartbeat = now;
    instance.last_used = now;
    fleet_.instances[instance.id] = std::move(instance);
  }
}

bool FleetState::recovering() const {
  MutexLock lock(&mu_);
  for (const auto& [id, instance] : fleet_.instances) {
    if (instance.adopting) {
      return true;
    }
  }
  return false;
}

Status FleetState::onRegister(const protocol::Registration& registration, SteadyTime now) {
  {
    MutexLock lock(&mu_);
    auto it = fleet_.instances.find(registration.instance_id);
    if (it == fleet_.instances.end() || it->second.state == InstanceState::kTerminated) {
      return notFound("unknown instance " + registration.instance_id);
    }
    it->second.state = InstanceState::kRunning;
    it->second.host = registration.host;
    it->second.port = registration.port;
    it->second.last_heartbeat = now;
    it->second.last_used = now;
  }
  notify();
  return Status::ok();
}

Result<protocol::HeartbeatReply> FleetState::onHeartbeat(const protocol::Heartbeat& heartbeat,
                                                         SteadyTime now) {
  protocol::HeartbeatReply reply;
  bool changed = false;
  {
    MutexLock lock(&mu_);
    auto it = fleet_.instances.find(heartbeat.instance_id);
    if (it == fleet_.instances.end() || it->second.state != InstanceState::kRunning) {
      return notFound("unknown instance " + heartbeat.instance_id);
    }
    it->second.last_heartbeat = now;
    bool adopting = it->second.adopting;
    it->second.adopting = false;
    std::set<std::string> reported;
    for (const auto& status : heartbeat.environments) {
      reported.insert(status.id);
      auto env_it = fleet_.environments.find(status.id);
      if (env_it == fleet_.environments.end() && adopting && status.identity &&
          (status.phase == protocol::EnvironmentPhase::kReady ||
           status.phase == protocol::EnvironmentPhase::kStarting ||
           status.phase == protocol::EnvironmentPhase::kDraining)) {
        env_it = fleet_.environments.emplace(status.id, adoptedEnvironment(it->second, status, now))
                     .first;
        changed = true;
      }
      if (env_it == fleet_.environments.end() ||
          env_it->second.instance_id != heartbeat.instance_id) {
        reply.stop.push_back(status.id);
        continue;
      }
      ObservedEnvironment& env = env_it->second;
      env.usage.outstanding = status.outstanding;
      if (status.cpu_utilization) {
        env.usage.cpu_utilization = *status.cpu_utilization;
        env.usage.sampled_at = now;
      }
      if (status.resident_bytes) {
        env.usage.resident_bytes = *status.resident_bytes;
      }
      PlacedState next = env.state;
      using protocol::EnvironmentPhase;
      if (env.state == PlacedState::kDraining || env.state == PlacedState::kGone) {
        // Leaving: only the agent's confirmation (no longer reported) matters.
      } else if (status.phase == EnvironmentPhase::kReady &&
                 (env.state == PlacedState::kStarting || env.state == PlacedState::kAssigned)) {
        next = PlacedState::kReady;
      } else if (status.phase == EnvironmentPhase::kInitFailed) {
        next = PlacedState::kFailed;
        env.error_type = status.error_type;
        env.error_message = status.error_message;
      } else if (status.phase == EnvironmentPhase::kExited) {
        next = env.state == PlacedState::kReady ? PlacedState::kGone : PlacedState::kFailed;
        if (env.error_type.empty()) {
          env.error_type = status.error_type.empty() ? "Runtime.ExitError" : status.error_type;
          env.error_message = status.error_message.empty() ? "The runtime exited during init."
                                                           : status.error_message;
        }
      }
      if (next != env.state) {
        env.state = next;
        changed = true;
      }
    }
    // EEs the agent should have but does not report: gone (it restarted), or, when draining,
    // finished.
    for (auto env_it = fleet_.environments.begin(); env_it != fleet_.environments.end();) {
      ObservedEnvironment& env = env_it->second;
      bool missing = env.instance_id == heartbeat.instance_id &&
                     env.state != PlacedState::kAssigned && !reported.contains(env.id) &&
                     now - env.sent_at > kStartReportGrace;
      if (missing && env.state == PlacedState::kDraining) {
        env_it = fleet_.environments.erase(env_it);
        it->second.last_used = now;
        changed = true;
        continue;
      }
      if (missing && env.state != PlacedState::kGone) {
        env.state = PlacedState::kGone;
        changed = true;
      }
      ++env_it;
    }
  }
  if (changed) {
    notify();
  }
  return reply;
}

void FleetState::onInstanceExit(const std::string& instance_id) {
  {
    MutexLock lock(&mu_);
    auto it = fleet_.instances.find(instance_id);
    if (it == fleet_.instances.end()) {
      if (exited_unknown_.size() < 4096) {
        exited_unknown_.insert(instance_id);
      }
      return;
    }
    it->second.state = InstanceState::kTerminated;
    for (auto& [id, env] : fleet_.environments) {
      if (env.instance_id == instance_id) {
        env.state = PlacedState::kGone;
      }
    }
  }
  notify();
}

void FleetState::onLaunchFailed(const std::string& instance_id, const std::string& message) {
  MutexLock lock(&mu_);
  auto it = fleet_.instances.find(instance_id);
  if (it == fleet_.instances.end()) {
    return;
  }
  it->second.state = InstanceState::kTerminated;
  fleet_.launch_failures[it->second.capacity_provider] = it->second.launched_at;
  for (auto& [id, env] : fleet_.environments) {
    if (env.instance_id == instance_id && env.state != PlacedState::kDraining) {
      env.state = PlacedState::kFailed;
      env.error_type = std::string(kInstanceLaunchFailed);
      env.error_message = "Hearth could not launch an instance: " + message;
    }
  }
}

void FleetState::onStartFailed(const std::string& environment_id, bool refused) {
  MutexLock lock(&mu_);
  auto it = fleet_.environments.find(environment_id);
  if (it == fleet_.environments.end() || it->second.state != PlacedState::kStarting) {
    return;
  }
  if (refused) {
    it->second.state = PlacedState::kFailed;
    it->second.error_type = "Runtime.Unavailable";
    it->second.error_message = "The instance's agent refused the execution environment.";
  } else {
    it->second.state = PlacedState::kGone;  // placed again on the next pass
  }
}

FleetState::Stats FleetState::stats() const {
  MutexLock lock(&mu_);
  Stats stats;
  for (const auto& [id, instance] : fleet_.instances) {
    if (instance.state != InstanceState::kTerminated) {
      ++stats.instances;
    }
  }
  for (const auto& [id, env] : fleet_.environments) {
    ++stats.environments;
    if (env.state == PlacedState::kReady) {
      ++stats.ready_environments;
    }
  }
  return stats;
}

}  // namespace hearth
