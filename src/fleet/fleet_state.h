#pragma once

#include <functional>
#include <set>
#include <string>

#include "common/result.h"
#include "common/thread_annotations.h"
#include "fleet/fleet_model.h"
#include "fleet/planner.h"
#include "protocol/agent_protocol.h"

namespace hearth {

// The observed fleet: instances, their EEs, what their agents last reported (state, outstanding
// invocations, CPU, memory). Written by the agent protocol, by instance exits and by applied
// plans; read as snapshots by the planner, the route publisher and, later, the autoscaler.
// Thread-safe. Never calls out while holding its lock; the change listener runs after it is
// released.
class FleetState {
 public:
  // `on_change` runs (without the lock) after an agent report changed an EE's state, so the
  // manager can reconcile at once.
  explicit FleetState(std::function<void()> on_change = {}) : on_change_(std::move(on_change)) {}

  ObservedFleet snapshot() const EXCLUDES(mu_);
  void apply(const FleetPlan& plan, SteadyTime now) EXCLUDES(mu_);

  // Instances that outlived an earlier server: Running at their known address, and `adopting`
  // until their first heartbeat, whose EEs are then adopted as they are.
  void adopt(const std::vector<ObservedInstance>& instances, SteadyTime now) EXCLUDES(mu_);
  // True while an adopted instance has not been heard from (nor been lost).
  bool recovering() const EXCLUDES(mu_);

  // An agent registered. kNotFound for an instance this server did not launch (or forgot).
  Status onRegister(const protocol::Registration& registration, SteadyTime now) EXCLUDES(mu_);
  // An agent's heartbeat: EE states and usage. kNotFound for an unknown or unregistered
  // instance (the agent registers again). The reply lists EEs the agent should stop.
  Result<protocol::HeartbeatReply> onHeartbeat(const protocol::Heartbeat& heartbeat, SteadyTime now)
      EXCLUDES(mu_);
  // The instance's agent process exited: its EEs are gone.
  void onInstanceExit(const std::string& instance_id) EXCLUDES(mu_);
  // The executor could not launch the instance: its EEs fail (a Pending version fails with
  // InternalError; others are placed again on the next pass, not at once, so a launch that
  // keeps failing is retried at the reconcile interval).
  void onLaunchFailed(const std::string& instance_id, const std::string& message) EXCLUDES(mu_);
  // The agent refused the EE's spec (it fails) or could not be reached (it is gone and placed
  // again). Neither wakes the manager early.
  void onStartFailed(const std::string& environment_id, bool refused) EXCLUDES(mu_);

  struct Stats {
    size_t instances = 0;
    size_t environments = 0;
    size_t ready_environments = 0;
  };
  Stats stats() const EXCLUDES(mu_);

 private:
  void notify() const;

  std::function<void()> on_change_;
  mutable Mutex mu_;
  ObservedFleet fleet_ GUARDED_BY(mu_);
  // Exits of instances not (yet) known: an adopted instance that exited before adoption is not
  // adopted. Bounded.
  std::set<std::string> exited_unknown_ GUARDED_BY(mu_);
};

}  // namespace hearth
