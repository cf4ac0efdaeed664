#pragma once

#include <chrono>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "fleet/fleet_model.h"
#include "fleet/instance_types.h"
#include "fleet/scaling_policy.h"

namespace hearth {

// --- Actions: each is one decision; apply() records it in the model, the executor carries out its
// effect (if any) afterwards, outside every lock. ---

struct LaunchInstance {
  ObservedInstance instance;  // state kPending
};
struct TerminateInstance {
  std::string instance_id;
  bool lost = false;     // silent or never registered (else: released)
  bool rotated = false;  // released at the end of its maximum lifetime (else: after being idle)
};
struct PlaceEnvironment {
  ObservedEnvironment environment;  // state kAssigned
};
struct StartEnvironment {
  std::string environment_id;
  std::string instance_id;
  std::string host;
  uint16_t port = 0;
  protocol::EnvironmentSpec spec;
};
// Takes the EE out of the routing table, then asks its agent to refuse new invocations, let
// outstanding ones finish for at most `drain`, and stop the runtime (at once when drain is 0).
struct DrainEnvironment {
  std::string environment_id;
  std::string host;  // empty when the instance is gone: nothing to send
  uint16_t port = 0;
  std::chrono::milliseconds drain{0};
};
struct FailEnvironment {
  std::string environment_id;
  std::string error_type;
  std::string error_message;
};
struct ForgetEnvironment {
  std::string environment_id;
};
struct SetVersionState {
  VersionKey key;
  VersionState state = VersionState::kActive;
  std::string reason;
  std::string reason_code;
};

using FleetAction =
    std::variant<LaunchInstance, TerminateInstance, PlaceEnvironment, StartEnvironment,
                 DrainEnvironment, FailEnvironment, ForgetEnvironment, SetVersionState>;

struct FleetPlan {
  std::vector<FleetAction> actions;
  // The scaling policy's decision for each version that may run, with the EEs it had.
  struct Scaling {
    ScalingDecision decision;
    int current = 0;  // live EEs of the current deployment before this plan
    std::string capacity_provider;
  };
  std::map<VersionKey, Scaling> scaling;
  // Versions whose missing EEs did not fit the capacity provider's MaxVCpuCount.
  std::map<VersionKey, std::string> capacity_limited;
};

// Names for new instances and EEs. Injected so plans are deterministic in tests.
class IdSource {
 public:
  virtual ~IdSource() = default;
  virtual std::string newInstanceId() = 0;
  virtual std::string newEnvironmentId() = 0;
};

struct PlannerOptions {
  std::chrono::milliseconds heartbeat_timeout{3000};    // a silent instance is lost after this
  std::chrono::milliseconds register_timeout{30000};    // a launched agent must register by then
  std::chrono::milliseconds idle_instance_ttl{120000};  // empty instances are released after this
  std::chrono::seconds min_init_timeout{130};           // LMI: max(130 s, function timeout)
  std::chrono::seconds drain_grace{5};                  // drain deadline: Timeout + this
  std::chrono::seconds max_instance_lifetime{14 * 24 * 3600};  // then the instance is rotated
  int preferred_environments_per_instance = 4;
  // Spare EE slots each provider keeps on running instances, as a fraction of the EEs its
  // versions want (at least one EE); 0 turns it off.
  double headroom_fraction = 0.25;
  // After a failed launch, no instance is launched for headroom on that provider for this long.
  std::chrono::seconds headroom_retry_after{30};
};

struct PlanInput {
  const DesiredFleet* desired = nullptr;
  const ObservedFleet* observed = nullptr;
  const InstanceCatalog* catalog = nullptr;
  const ScalingPolicy* policy = nullptr;
  const ScalingSignals* signals = nullptr;  // may be null: no load sampled
  IdSource* ids = nullptr;
  PlannerOptions options;
  SteadyTime now{};
};

// The fleet's decisions for one pass: a pure function of what is desired, what is observed and
// the time. No I/O, no locks, no clock of its own. Applying every action of the plan, in order,
// to the observed fleet gives the fleet the plan intends. In order:
//  1. instances silent past heartbeat_timeout (or unregistered past register_timeout) are lost;
//     their EEs are gone;
//  2. EEs still starting past their init timeout fail with FunctionError.InitTimeout;
//  3. per desired version: a Pending version with a failed EE fails (FunctionError.* codes); one
//     with enough Ready EEs turns Active; once the current deployment has enough Ready EEs, EEs of
//     an older deployment drain; missing EEs are placed (launching instances within MaxVCpuCount;
//     a Pending version that cannot be placed fails with CapacityProviderScalingLimitExceeded);
//     surplus EEs drain, the not-yet-ready and the least busy first;
//  4. EEs of versions no longer desired drain; failed and gone EEs are stopped and forgotten, and
//     draining ones once past their deadline;
//  5. assigned EEs on running instances are started;
//  6. each capacity provider keeps free room for headroom_fraction of its wanted EEs, launching
//     instances for it within MaxVCpuCount;
//  7. running instances empty for idle_instance_ttl are released (unless the headroom needs
//     them), and those past
//     max_instance_lifetime as soon as they are empty.
// An instance past max_instance_lifetime is rotated: nothing new is placed on it, its EEs count
// as an older deployment (replacements are placed elsewhere, then they drain), and its vCPUs do
// not count against MaxVCpuCount meanwhile.
// Ready EEs drain for their version's Timeout plus drain_grace; EEs not yet ready stop at once.
FleetPlan plan(const PlanInput& input);

// Records `action` in `fleet` as of `now`. Pure.
void apply(const FleetAction& action, SteadyTime now, ObservedFleet& fleet);

// The reason code a Pending version fails with when one of its EEs failed init with `error_type`.
std::string initFailureCode(const std::string& error_type);

}  // namespace hearth
