#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/thread_annotations.h"
#include "fleet/agent_registry.h"
#include "fleet/control_plane_source.h"
#include "fleet/fleet_executor.h"
#include "fleet/fleet_state.h"
#include "fleet/instance_types.h"
#include "fleet/planner.h"
#include "fleet/route_publisher.h"
#include "fleet/scaling_policy.h"
#include "metrics/fleet_metrics.h"
#include "net/http.h"

namespace hearth {

class CodeStore;
class LogStore;

struct FleetOptions {
  std::chrono::milliseconds reconcile_interval{200};
  std::chrono::milliseconds sample_interval{1000};  // metrics and scaling signals
  std::chrono::milliseconds signal_window{65000};   // the load history the policy sees
  PlannerOptions planner;
};

// What the fleet manager works through. Every pointer must outlive the manager; `logs`, `code`
// and `ids` may be null (no log intake, no code downloads, random ids).
struct FleetDeps {
  DesiredSource* desired = nullptr;
  VersionStateSink* versions = nullptr;
  InstanceProvider* instances = nullptr;
  AgentChannel* agents = nullptr;
  RouteSink* routes = nullptr;
  const ScalingPolicy* policy = nullptr;
  LogStore* logs = nullptr;
  CodeStore* code = nullptr;
  IdSource* ids = nullptr;
  const Clock* clock = nullptr;
  RequestSource* requests = nullptr;  // may be null: no request figures
  FleetMetrics* metrics = nullptr;    // may be null: no samples, no activity, no load signals
  std::string agent_token;
};

// Keeps the fleet as the control plane wants it, by plan and execute. Each pass (every
// reconcile_interval, and at once after poke() or an agent report):
//   read the desired fleet → snapshot the observed fleet → (once per sample_interval: sample the
//   fleet and the router's counters into the metrics) → plan (pure; the scaling policy reads the
//   sampled load) → record the plan in the observed state and its activity in the log → publish
//   the routing table if it changed → carry out the plan's effects.
// Routes are published before any effect, so a draining EE leaves the routing table before its
// agent is asked to drain it. No lock is held across a read, a launch or a network call.
// Threads: one reconcile thread of its own; handleAgentRequest and onInstanceExit run on the
// caller's thread (the control work queue, the launcher) and only touch the FleetState.
class FleetManager {
 public:
  FleetManager(FleetOptions options, InstanceCatalog catalog, FleetDeps deps);
  ~FleetManager();

  // Adopts the instances that outlived an earlier server (InstanceProvider::recover()).
  // REQUIRES: before start() and before agents can reach handleAgentRequest.
  void recover();
  // True while an adopted instance has not reported its EEs yet (and has not been lost).
  bool recovering() const { return state_.recovering(); }
  // Passes completed so far (each publishes the routing table if it changed).
  uint64_t passes() const { return passes_.load(); }

  // Starts the reconcile thread. Tests may instead call reconcileOnce() themselves.
  void start();
  // Stops the reconcile thread. Instances keep running (a restarted server adopts them; local
  // agents stop themselves when no server comes back). Idempotent.
  void stop();

  // One pass, as of `now`. Returns false when the desired fleet could not be read (the pass is
  // skipped: the fleet and the routing table stay as they are). Not concurrent with itself.
  bool reconcileOnce(SteadyTime now);

  // The agent protocol under /_hearth/agent/v1/. Thread-safe; never blocks on the Store.
  HttpResponse handleAgentRequest(const HttpRequest& request) { return registry_.handle(request); }
  // An instance's agent process exited (from the instance provider).
  void onInstanceExit(const std::string& instance_id, int exit_code);
  // Wakes the reconcile loop now (after a control-plane change).
  void poke();

  FleetState::Stats stats() const { return state_.stats(); }
  ObservedFleet observed() const { return state_.snapshot(); }

 private:
  void loop();
  // Appends one metrics sample as of `now`. Reconcile thread.
  void sample(const DesiredFleet& desired, const ObservedFleet& observed, SteadyTime now)
      REQUIRES(reconcile_mu_);

  FleetOptions options_;
  InstanceCatalog catalog_;
  FleetDeps deps_;
  std::unique_ptr<IdSource> own_ids_;
  FleetState state_;
  AgentRegistry registry_;
  FleetExecutor executor_;
  RoutePublisher publisher_;
  Mutex reconcile_mu_;  // serialises passes
  // The last sample's time, request totals and load, and the last plan's scaling.
  SteadyTime last_sample_ GUARDED_BY(reconcile_mu_){};
  std::vector<RequestTotals> last_totals_ GUARDED_BY(reconcile_mu_);
  std::map<VersionKey, FleetPlan::Scaling> last_scaling_ GUARDED_BY(reconcile_mu_);
  std::map<VersionKey, std::string> last_limited_ GUARDED_BY(reconcile_mu_);
  ScalingSignals signals_ GUARDED_BY(reconcile_mu_);  // the load as of the last sample

  Mutex mu_;
  CondVar wake_;
  bool stopping_ GUARDED_BY(mu_) = false;
  bool poked_ GUARDED_BY(mu_) = false;
  std::thread thread_;
  std::atomic<uint64_t> passes_{0};
};

// Random instance ids (i-…) and EE ids (ee-…).
class RandomIdSource final : public IdSource {
 public:
  std::string newInstanceId() override;
  std::string newEnvironmentId() override;
};

}  // namespace hearth
