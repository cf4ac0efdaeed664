#include "fleet/planner.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace hearth {
namespace {

using namespace std::chrono_literals;

class CountingIds final : public IdSource {
 public:
  std::string newInstanceId() override { return "i-" + std::to_string(++instances_); }
  std::string newEnvironmentId() override { return "ee-" + std::to_string(++environments_); }

 private:
  int instances_ = 0;
  int environments_ = 0;
};

template <typename A>
std::vector<A> actionsOf(const FleetPlan& plan) {
  std::vector<A> out;
  for (const auto& action : plan.actions) {
    if (const auto* a = std::get_if<A>(&action)) {
      out.push_back(*a);
    }
  }
  return out;
}

class PlannerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto catalog = InstanceCatalog::parse(InstanceCatalog::embeddedJson());
    ASSERT_TRUE(catalog.isOk());
    catalog_ = std::move(catalog).value();
  }

  DesiredVersion& addVersion(std::string fn, std::string version, int min,
                             VersionState state = VersionState::kPending) {
    DesiredVersion d;
    d.key = {std::move(fn), std::move(version)};
    d.capacity_provider = "pool";
    d.state = state;
    d.deployment = {"sha-1", "rev-1"};
    d.scaling.min_environments = min;
    d.size = EnvironmentSize{1, 2048, 2.0};
    d.max_concurrency = 16;
    d.timeout_seconds = 10;
    d.function_arn =
        "arn:aws:lambda:us-east-1:123456789012:function:" + d.key.function + ":" + d.key.version;
    d.spec.function_name = d.key.function;
    d.spec.version = d.key.version;
    d.spec.runtime = "python3.13";
    d.spec.code_sha256_hex = "sha-1";
    d.zones = {"zone-a", "zone-b", "zone-c"};
    desired_.versions.push_back(d);
    return desired_.versions.back();
  }

  FleetPlan step() {
    PlanInput input;
    input.desired = &desired_;
    input.observed = &observed_;
    input.catalog = &catalog_;
    input.policy = &policy_;
    input.ids = &ids_;
    input.options = options_;
    input.now = now_;
    FleetPlan result = plan(input);
    for (const auto& action : result.actions) {
      apply(action, now_, observed_);
    }
    // The control plane records version states as the executor would.
    for (const auto& change : actionsOf<SetVersionState>(result)) {
      for (auto& d : desired_.versions) {
        if (d.key == change.key) {
          d.state = change.state;
        }
      }
    }
    return result;
  }

  // Every launched instance registers and heartbeats now.
  void registerAll() {
    int port = 9000;
    for (auto& [id, instance] : observed_.instances) {
      if (instance.state == InstanceState::kPending) {
        instance.state = InstanceState::kRunning;
        instance.host = "127.0.0.1";
        instance.port = static_cast<uint16_t>(++port);
      }
      instance.last_heartbeat = now_;
    }
  }
  void heartbeatAll() {
    for (auto& [id, instance] : observed_.instances) {
      instance.last_heartbeat = now_;
    }
  }
  // Every started EE passes init.
  void readyAll() {
    for (auto& [id, env] : observed_.environments) {
      if (env.state == PlacedState::kStarting) {
        env.state = PlacedState::kReady;
      }
    }
  }
  int countIn(PlacedState state, const VersionKey& key) const {
    int n = 0;
    for (const auto& [id, env] : observed_.environments) {
      n += env.key == key && env.state == state ? 1 : 0;
    }
    return n;
  }
  // Brings every desired version to Active with its EEs Ready.
  void settle() {
    step();
    registerAll();
    step();
    readyAll();
    step();
  }

  InstanceCatalog catalog_;
  DesiredFleet desired_;
  ObservedFleet observed_;
  MinimumEnvironmentsPolicy policy_;
  CountingIds ids_;
  PlannerOptions options_;
  SteadyTime now_ = SteadyTime{} + 1000s;
};

TEST_F(PlannerTest, PlacesTheMinimumAcrossZonesAndLaunchesInstancesForThem) {
  addVersion("fn", "1", 3);
  FleetPlan first = step();
  auto launches = actionsOf<LaunchInstance>(first);
  auto placed = actionsOf<PlaceEnvironment>(first);
  ASSERT_EQ(placed.size(), 3u);
  ASSERT_EQ(launches.size(), 3u);
  std::set<std::string> zones;
  for (const auto& l : launches) {
    zones.insert(l.instance.zone);
  }
  EXPECT_EQ(zones, (std::set<std::string>{"zone-a", "zone-b", "zone-c"}));
  // Nothing starts before the instances register.
  EXPECT_TRUE(actionsOf<StartEnvironment>(first).empty());
  registerAll();
  FleetPlan second = step();
  auto starts = actionsOf<StartEnvironment>(second);
  ASSERT_EQ(starts.size(), 3u);
  EXPECT_EQ(starts[0].spec.function_name, "fn");
  EXPECT_FALSE(starts[0].host.empty());
  EXPECT_TRUE(actionsOf<LaunchInstance>(second).empty());
}

TEST_F(PlannerTest, TurnsActiveOnceTheMinimumIsReady) {
  addVersion("fn", "1", 3);
  step();
  registerAll();
  step();
  EXPECT_TRUE(actionsOf<SetVersionState>(step()).empty());  // still starting
  readyAll();
  auto changes = actionsOf<SetVersionState>(step());
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].state, VersionState::kActive);
  EXPECT_TRUE(actionsOf<SetVersionState>(step()).empty());  // once
}

TEST_F(PlannerTest, AnInitFailureFailsAPendingVersionWithAnAwsCode) {
  addVersion("fn", "1", 3);
  step();
  registerAll();
  step();
  auto& env = observed_.environments.begin()->second;
  env.state = PlacedState::kFailed;
  env.error_type = "Runtime.InvalidEntrypoint";
  env.error_message = "no bootstrap";
  FleetPlan failed = step();
  auto changes = actionsOf<SetVersionState>(failed);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].state, VersionState::kFailed);
  EXPECT_EQ(changes[0].reason_code, "FunctionError.InvalidEntryPoint");
  // A failed version keeps no EEs.
  step();
  EXPECT_TRUE(observed_.environments.empty() ||
              countIn(PlacedState::kDraining, {"fn", "1"}) ==
                  static_cast<int>(observed_.environments.size()));
  EXPECT_EQ(initFailureCode("Runtime.ExitError"), "FunctionError.RuntimeInitError");
  EXPECT_EQ(initFailureCode("FunctionError.InitTimeout"), "FunctionError.InitTimeout");
  EXPECT_EQ(initFailureCode("Runtime.InvalidRuntime"), "InvalidRuntime");
}

TEST_F(PlannerTest, AnInitThatNeverEndsTimesOut) {
  addVersion("fn", "1", 1);
  step();
  registerAll();
  step();
  now_ += options_.min_init_timeout + 1s;
  heartbeatAll();
  auto changes = actionsOf<SetVersionState>(step());
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].reason_code, "FunctionError.InitTimeout");
}

TEST_F(PlannerTest, ALostAgentsEnvironmentsArePlacedAgain) {
  addVersion("fn", "1", 3);
  settle();
  ASSERT_EQ(countIn(PlacedState::kReady, {"fn", "1"}), 3);
  std::string lost = observed_.instances.begin()->first;
  now_ += options_.heartbeat_timeout + 1s;
  for (auto& [id, instance] : observed_.instances) {
    if (id != lost) {
      instance.last_heartbeat = now_;
    }
  }
  FleetPlan plan = step();
  auto terminated = actionsOf<TerminateInstance>(plan);
  ASSERT_EQ(terminated.size(), 1u);
  EXPECT_EQ(terminated[0].instance_id, lost);
  EXPECT_TRUE(terminated[0].lost);
  EXPECT_EQ(observed_.instances.count(lost), 0u);
  EXPECT_EQ(actionsOf<PlaceEnvironment>(plan).size(), 1u);
  EXPECT_EQ(countIn(PlacedState::kReady, {"fn", "1"}), 2);
  // The replacement goes to the lost zone, on a new instance.
  EXPECT_EQ(actionsOf<LaunchInstance>(plan).size(), 1u);
}

TEST_F(PlannerTest, AnExitedAgentIsForgottenAndItsEnvironmentsReplaced) {
  addVersion("fn", "1", 3);
  settle();
  auto& instance = observed_.instances.begin()->second;
  instance.state = InstanceState::kTerminated;
  for (auto& [id, env] : observed_.environments) {
    if (env.instance_id == instance.id) {
      env.state = PlacedState::kGone;
    }
  }
  FleetPlan plan = step();
  EXPECT_EQ(actionsOf<PlaceEnvironment>(plan).size(), 1u);
  EXPECT_EQ(countIn(PlacedState::kGone, {"fn", "1"}), 0);
}

TEST_F(PlannerTest, ARepublishRollsOverWithoutCuttingTheOldEnvironments) {
  addVersion("fn", "$LATEST.PUBLISHED", 3, VersionState::kActive);
  settle();
  std::set<std::string> old_ids;
  for (const auto& [id, env] : observed_.environments) {
    old_ids.insert(id);
  }
  desired_.versions[0].deployment = {"sha-2", "rev-2"};
  desired_.versions[0].state = VersionState::kPending;
  FleetPlan placing = step();
  EXPECT_EQ(actionsOf<PlaceEnvironment>(placing).size(), 3u);
  EXPECT_TRUE(actionsOf<DrainEnvironment>(placing).empty()) << "the old EEs serve meanwhile";
  registerAll();
  step();
  EXPECT_EQ(countIn(PlacedState::kReady, {"fn", "$LATEST.PUBLISHED"}), 3);
  readyAll();
  FleetPlan rolled = step();
  auto drains = actionsOf<DrainEnvironment>(rolled);
  ASSERT_EQ(drains.size(), 3u);
  for (const auto& drain : drains) {
    EXPECT_TRUE(old_ids.contains(drain.environment_id));
    EXPECT_EQ(drain.drain, 10s + options_.drain_grace) << "Timeout plus grace";
    EXPECT_FALSE(drain.host.empty());
  }
  auto changes = actionsOf<SetVersionState>(rolled);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].state, VersionState::kActive);
  // Draining EEs are kept until their agent confirms or the deadline passes.
  now_ += 5s;
  heartbeatAll();
  step();
  EXPECT_EQ(countIn(PlacedState::kDraining, {"fn", "$LATEST.PUBLISHED"}), 3);
  now_ += 20s;
  heartbeatAll();
  step();
  EXPECT_EQ(countIn(PlacedState::kDraining, {"fn", "$LATEST.PUBLISHED"}), 0);
}

TEST_F(PlannerTest, ScaleInDrainsTheLeastBusyReadyEnvironments) {
  addVersion("fn", "1", 3, VersionState::kActive);
  settle();
  int outstanding = 0;
  for (auto& [id, env] : observed_.environments) {
    env.usage.outstanding = outstanding++;  // 0, 1, 2
  }
  desired_.versions[0].scaling.min_environments = 1;
  FleetPlan plan = step();
  auto drains = actionsOf<DrainEnvironment>(plan);
  ASSERT_EQ(drains.size(), 2u);
  for (const auto& drain : drains) {
    EXPECT_LT(observed_.environments.at(drain.environment_id).usage.outstanding, 2);
    EXPECT_EQ(drain.drain, 10s + options_.drain_grace);
  }
  EXPECT_EQ(countIn(PlacedState::kReady, {"fn", "1"}), 1);
  EXPECT_TRUE(actionsOf<PlaceEnvironment>(step()).empty());
}

TEST_F(PlannerTest, ScaleInKeepsTheZonesEvenAndEmptiesInstances) {
  addVersion("fn", "1", 9, VersionState::kActive);
  settle();
  VersionKey key{"fn", "1"};
  ASSERT_EQ(countIn(PlacedState::kReady, key), 9);
  // A tenth EE on an instance of its own in zone-a: the emptiest instance, in the fullest zone.
  ObservedInstance lone;
  lone.id = "i-lone";
  lone.capacity_provider = "pool";
  lone.zone = "zone-a";
  lone.type = observed_.instances.begin()->second.type;
  lone.state = InstanceState::kRunning;
  lone.host = "127.0.0.1";
  lone.port = 9999;
  lone.last_heartbeat = now_;
  observed_.instances[lone.id] = lone;
  ObservedEnvironment env = observed_.environments.begin()->second;
  env.id = "ee-lone";
  env.instance_id = lone.id;
  observed_.environments[env.id] = env;
  desired_.versions[0].scaling.min_environments = 6;
  auto drains = actionsOf<DrainEnvironment>(step());
  ASSERT_EQ(drains.size(), 4u);
  EXPECT_EQ(drains[0].environment_id, "ee-lone") << "the emptiest instance empties first";
  std::map<std::string, int> per_zone;
  for (const auto& [id, e] : observed_.environments) {
    if (e.state == PlacedState::kReady) {
      ++per_zone[observed_.instances.at(e.instance_id).zone];
    }
  }
  ASSERT_EQ(per_zone.size(), 3u);
  for (const auto& [zone, n] : per_zone) {
    EXPECT_EQ(n, 2) << zone;
  }
}

TEST_F(PlannerTest, DeactivationDrainsEveryEnvironmentAndReleasesIdleInstances) {
  addVersion("fn", "1", 3, VersionState::kActive);
  settle();
  desired_.versions[0].scaling.min_environments = 0;
  desired_.versions[0].scaling.max_environments = 0;
  EXPECT_EQ(actionsOf<DrainEnvironment>(step()).size(), 3u);
  // The agents confirm the drains.
  for (auto it = observed_.environments.begin(); it != observed_.environments.end();) {
    it = observed_.environments.erase(it);
  }
  now_ += options_.idle_instance_ttl + 1s;
  heartbeatAll();
  auto released = actionsOf<TerminateInstance>(step());
  EXPECT_EQ(released.size(), 3u);
  for (const auto& r : released) {
    EXPECT_FALSE(r.lost);
  }
}

TEST_F(PlannerTest, AnInstanceWithADrainingEnvironmentIsNotReleased) {
  addVersion("fn", "1", 1, VersionState::kActive);
  settle();
  desired_.versions.clear();  // the function was deleted
  EXPECT_EQ(actionsOf<DrainEnvironment>(step()).size(), 1u);
  now_ += options_.idle_instance_ttl + 1s;
  heartbeatAll();
  observed_.environments.begin()->second.drain_deadline = now_ + 1s;  // still draining
  EXPECT_TRUE(actionsOf<TerminateInstance>(step()).empty());
}

TEST_F(PlannerTest, MaxVCpuCountExhaustionFailsAPendingVersion) {
  DesiredVersion& d = addVersion("fn", "1", 3);
  d.max_vcpus = 2;  // one .large instance at most: room for one 1-vCPU EE per zone? no, 2 vCPUs
  d.size = EnvironmentSize{2, 4096, 2.0};
  FleetPlan plan = step();
  auto changes = actionsOf<SetVersionState>(plan);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].state, VersionState::kFailed);
  EXPECT_EQ(changes[0].reason_code, "CapacityProviderScalingLimitExceeded");
  int launched_vcpus = 0;
  for (const auto& l : actionsOf<LaunchInstance>(plan)) {
    launched_vcpus += l.instance.type.vcpus;
  }
  EXPECT_LE(launched_vcpus, 2);
}

TEST_F(PlannerTest, RestartRecoveryPlacesActiveVersionsAgainWithoutTouchingTheirState) {
  addVersion("fn", "1", 2, VersionState::kActive);
  addVersion("other", "3", 1, VersionState::kActive);
  FleetPlan plan = step();  // a fresh server: nothing observed
  EXPECT_EQ(actionsOf<PlaceEnvironment>(plan).size(), 3u);
  registerAll();
  step();
  readyAll();
  EXPECT_TRUE(actionsOf<SetVersionState>(step()).empty()) << "Active stays Active";
  EXPECT_EQ(countIn(PlacedState::kReady, {"fn", "1"}), 2);
  EXPECT_EQ(countIn(PlacedState::kReady, {"other", "3"}), 1);
}

TEST_F(PlannerTest, ARefusedStartIsPlacedAgain) {
  addVersion("fn", "1", 1);
  step();
  registerAll();
  step();
  observed_.environments.begin()->second.state = PlacedState::kGone;  // the agent refused
  FleetPlan plan = step();
  EXPECT_EQ(actionsOf<ForgetEnvironment>(plan).size(), 1u);
  EXPECT_EQ(actionsOf<PlaceEnvironment>(plan).size(), 1u);
  EXPECT_EQ(actionsOf<StartEnvironment>(plan).size(), 1u) << "onto the running instance";
}

TEST_F(PlannerTest, AnEnvironmentIsDrainedOnlyAfterLeavingTheModelsReadySet) {
  // Applying a drain takes the EE out of the Ready set, which is what routes are built from:
  // the manager publishes routes between apply() and the executor's DELETE.
  addVersion("fn", "1", 2, VersionState::kActive);
  settle();
  desired_.versions[0].scaling.min_environments = 1;
  FleetPlan plan = step();
  auto drains = actionsOf<DrainEnvironment>(plan);
  ASSERT_EQ(drains.size(), 1u);
  EXPECT_EQ(observed_.environments.at(drains[0].environment_id).state, PlacedState::kDraining);
}

TEST_F(PlannerTest, DeactivationDrainsEveryEnvironmentThenRecordsDeactivated) {
  addVersion("fn", "1", 3);
  settle();
  VersionKey key{"fn", "1"};
  ASSERT_EQ(countIn(PlacedState::kReady, key), 3);
  desired_.versions[0].state = VersionState::kDeactivating;
  FleetPlan first = step();
  EXPECT_EQ(actionsOf<DrainEnvironment>(first).size(), 3u);
  EXPECT_TRUE(actionsOf<SetVersionState>(first).empty()) << "EEs are still draining";
  EXPECT_EQ(countIn(PlacedState::kDraining, key), 3);
  // The agents confirm: the EEs are forgotten.
  observed_.environments.clear();
  FleetPlan last = step();
  auto states = actionsOf<SetVersionState>(last);
  ASSERT_EQ(states.size(), 1u);
  EXPECT_EQ(states[0].state, VersionState::kDeactivated);
  EXPECT_TRUE(actionsOf<PlaceEnvironment>(last).empty());
  // Reactivated (the control plane puts it back to Pending): placed again.
  desired_.versions[0].state = VersionState::kPending;
  FleetPlan again = step();
  EXPECT_EQ(actionsOf<PlaceEnvironment>(again).size(), 3u);
}

TEST_F(PlannerTest, AnActiveVersionShortOfMaxVCpuCountIsReportedNotFailed) {
  DesiredVersion& d = addVersion("fn", "1", 2);
  d.max_vcpus = 4;  // one c7i.xlarge: four EEs of one vCPU
  settle();
  ASSERT_EQ(desired_.versions[0].state, VersionState::kActive);
  desired_.versions[0].scaling.min_environments = 6;
  FleetPlan more = step();
  EXPECT_EQ(more.capacity_limited.count({"fn", "1"}), 1u);
  EXPECT_NE(more.capacity_limited.at({"fn", "1"}).find("MaxVCpuCount of 4"), std::string::npos);
  auto states = actionsOf<SetVersionState>(more);
  ASSERT_EQ(states.size(), 1u);
  EXPECT_EQ(states[0].state, VersionState::kActive) << "an Active version stays Active";
  EXPECT_EQ(states[0].reason_code, "CapacityProviderScalingLimitExceeded");
  desired_.versions[0].state_reason_code = states[0].reason_code;
  EXPECT_TRUE(actionsOf<SetVersionState>(step()).empty()) << "said once";
  desired_.versions[0].scaling.min_environments = 2;
  auto cleared = actionsOf<SetVersionState>(step());
  ASSERT_EQ(cleared.size(), 1u);
  EXPECT_EQ(cleared[0].reason_code, "");
}

TEST_F(PlannerTest, AnInstancePastItsLifetimeIsReplacedBeforeItsEnvironmentsDrain) {
  options_.max_instance_lifetime = 3600s;
  addVersion("fn", "1", 3);
  settle();
  VersionKey key{"fn", "1"};
  std::set<std::string> old_instances;
  for (const auto& [id, inst] : observed_.instances) {
    old_instances.insert(id);
  }
  ASSERT_EQ(old_instances.size(), 3u);
  now_ += 3600s;
  heartbeatAll();
  FleetPlan replace = step();
  EXPECT_EQ(actionsOf<PlaceEnvironment>(replace).size(), 3u);
  EXPECT_EQ(actionsOf<LaunchInstance>(replace).size(), 3u) << "nothing new on a retiring instance";
  EXPECT_TRUE(actionsOf<DrainEnvironment>(replace).empty()) << "the old EEs serve until replaced";
  registerAll();
  step();
  readyAll();
  FleetPlan drain = step();
  EXPECT_EQ(actionsOf<DrainEnvironment>(drain).size(), 3u);
  for (const auto& d : actionsOf<DrainEnvironment>(drain)) {
    EXPECT_GT(d.drain.count(), 0) << "a Ready EE drains, it is not cut";
  }
  EXPECT_EQ(countIn(PlacedState::kReady, key), 3);
  EXPECT_EQ(desired_.versions[0].state, VersionState::kActive);
  // Drained and confirmed: the old instances go at once, as rotated.
  for (auto it = observed_.environments.begin(); it != observed_.environments.end();) {
    it = it->second.state == PlacedState::kDraining ? observed_.environments.erase(it)
                                                    : std::next(it);
  }
  heartbeatAll();
  FleetPlan release = step();
  auto terminated = actionsOf<TerminateInstance>(release);
  ASSERT_EQ(terminated.size(), 3u);
  for (const auto& t : terminated) {
    EXPECT_TRUE(old_instances.contains(t.instance_id));
    EXPECT_TRUE(t.rotated);
    EXPECT_FALSE(t.lost);
  }
}

TEST_F(PlannerTest, ProvidersKeepHeadroomOnRunningInstancesAndDoNotReleaseIt) {
  options_.headroom_fraction = 1.0;  // room for as many EEs again
  addVersion("fn", "1", 8);
  settle();
  int instances = static_cast<int>(observed_.instances.size());
  int free_slots = 0;
  for (const auto& [id, inst] : observed_.instances) {
    int used = 0;
    for (const auto& [eid, env] : observed_.environments) {
      used += env.instance_id == id ? 1 : 0;
    }
    free_slots += inst.type.vcpus - used;  // EEs of 1 vCPU
  }
  EXPECT_GE(free_slots, 8) << instances << " instances";
  // Empty spare instances stay past the idle TTL: the headroom needs them.
  now_ += options_.idle_instance_ttl + 1s;
  heartbeatAll();
  EXPECT_TRUE(actionsOf<TerminateInstance>(step()).empty());
  // With no EE wanted, nothing is kept.
  desired_.versions[0].scaling.min_environments = 0;
  desired_.versions[0].scaling.max_environments = 0;
  size_t released = actionsOf<TerminateInstance>(step()).size();  // the empty spares, at once
  EXPECT_GE(released, 1u);
  observed_.environments.clear();
  now_ += options_.idle_instance_ttl + 1s;
  heartbeatAll();
  released += actionsOf<TerminateInstance>(step()).size();
  EXPECT_EQ(released, static_cast<size_t>(instances));
}

TEST_F(PlannerTest, HeadroomIsNotLaunchedRightAfterAFailedLaunch) {
  options_.headroom_fraction = 1.0;
  addVersion("fn", "1", 8);
  observed_.launch_failures["pool"] = now_ - 5s;
  settle();
  size_t without_headroom = observed_.instances.size();
  // 30 s after the failure, the headroom is launched.
  now_ += 30s;
  heartbeatAll();
  FleetPlan later = step();
  EXPECT_FALSE(actionsOf<LaunchInstance>(later).empty());
  EXPECT_GT(observed_.instances.size(), without_headroom);
}

}  // namespace
}  // namespace hearth
