#include "fleet/fleet_sampler.h"

#include <gtest/gtest.h>

namespace hearth {
namespace {

using std::chrono::seconds;

struct Fixture {
  DesiredFleet desired;
  ObservedFleet observed;
  SteadyTime now = SteadyTime{} + seconds(1000);

  Fixture() {
    DesiredVersion d;
    d.key = {"fn", "1"};
    d.capacity_provider = "cp";
    d.max_concurrency = 4;
    d.max_vcpus = 16;
    d.size.vcpus = 1;
    desired.versions.push_back(d);
    ObservedInstance inst;
    inst.id = "i-1";
    inst.capacity_provider = "cp";
    inst.zone = "subnet-a";
    inst.type = InstanceType{"c7i.large", "c", "x86_64", 2, 4096, 0.0893};
    inst.state = InstanceState::kRunning;
    inst.launched_at = now - seconds(30);
    observed.instances[inst.id] = inst;
    for (auto [id, state, cpu] : {std::tuple{"ee-1", PlacedState::kReady, 0.5},
                                  std::tuple{"ee-2", PlacedState::kStarting, 0.0}}) {
      ObservedEnvironment env;
      env.id = id;
      env.instance_id = "i-1";
      env.key = {"fn", "1"};
      env.capacity_provider = "cp";
      env.vcpus = 1;
      env.memory_mib = 2048;
      env.max_concurrency = 4;
      env.state = state;
      env.usage.cpu_utilization = cpu;
      env.usage.resident_bytes = 100 << 20;
      env.usage.outstanding = 1;
      observed.environments[id] = env;
    }
  }
};

TEST(SampleFleet, RequestsAreTheDifferenceOfTheTotals) {
  Fixture f;
  RequestTotals before{"fn", "1", 100, 1, 0, 0, 10'000'000'000ull, {}};
  RequestTotals after{"fn", "1", 110, 2, 5, 0, 12'000'000'000ull, {}};
  after.latency.counts[40] = 10;
  std::vector<RequestTotals> previous{before}, totals{after};
  std::map<std::string, int> in_flight{{"ee-1", 3}};
  std::map<VersionKey, FleetPlan::Scaling> decisions;
  decisions[{"fn", "1"}].decision.environments = 5;
  decisions[{"fn", "1"}].decision.recommended = 4;
  SampleInput in;
  in.desired = &f.desired;
  in.observed = &f.observed;
  in.totals = &totals;
  in.previous = &previous;
  in.in_flight = &in_flight;
  in.decisions = &decisions;
  in.now = f.now;
  in.interval_seconds = 1;
  FleetSample s = sampleFleet(in);
  ASSERT_EQ(s.versions.size(), 1u);
  const VersionSample& v = s.versions[0];
  EXPECT_EQ(v.invocations, 10u);
  EXPECT_EQ(v.function_errors, 1u);
  EXPECT_EQ(v.concurrency_throttles, 5u);
  EXPECT_DOUBLE_EQ(v.request_rate, 15);
  EXPECT_DOUBLE_EQ(v.busy_concurrency, 2.0);  // 2 s answered in 1 s
  EXPECT_DOUBLE_EQ(v.mean_latency_ms, 200);
  EXPECT_GT(v.latency_p50_ms, 0);
  EXPECT_EQ(v.in_flight, 3);  // the router's count, not the heartbeat's
  EXPECT_EQ(v.ready, 1);
  EXPECT_EQ(v.starting, 1);
  EXPECT_EQ(v.concurrency_limit, 4);
  EXPECT_DOUBLE_EQ(v.cpu_vcpus, 0.5);
  EXPECT_EQ(v.desired, 5);
  EXPECT_EQ(v.recommended, 4);

  ASSERT_EQ(s.instances.size(), 1u);
  EXPECT_EQ(s.instances[0].vcpus_allocated, 2);
  EXPECT_EQ(s.instances[0].memory_allocated_mib, 4096);
  EXPECT_DOUBLE_EQ(s.instances[0].cpu_utilization, 0.25);
  EXPECT_DOUBLE_EQ(s.instances[0].age_seconds, 30);
  ASSERT_EQ(s.providers.size(), 1u);
  EXPECT_EQ(s.providers[0].max_vcpus, 16);
  EXPECT_EQ(s.providers[0].vcpus, 2);
  ASSERT_EQ(s.environments.size(), 2u);
  EXPECT_EQ(s.environments[0].concurrency, 3);
  EXPECT_EQ(s.environments[1].concurrency, 1);  // not routed: the heartbeat's count
  EXPECT_EQ(s.environments[0].memory_limit_bytes, int64_t{2048} << 20);
}

TEST(SampleFleet, SignalsGroupTheLoadByVersion) {
  Fixture f;
  SampleInput in;
  in.desired = &f.desired;
  in.observed = &f.observed;
  std::vector<FleetSamplePtr> samples;
  for (int i = 0; i < 3; ++i) {
    in.now = f.now + seconds(i);
    samples.push_back(std::make_shared<const FleetSample>(sampleFleet(in)));
  }
  ScalingSignals signals = signalsFrom(samples);
  ASSERT_EQ(signals.size(), 1u);
  const auto& points = signals.at({"fn", "1"});
  ASSERT_EQ(points.size(), 3u);
  EXPECT_EQ(points[2].at, f.now + seconds(2));
}

TEST(ActivityOf, ScalingChangesLimitsAndInstanceActions) {
  Fixture f;
  FleetPlan plan;
  FleetPlan::Scaling up;
  up.decision.environments = 6;
  up.decision.reason = "scale out";
  up.capacity_provider = "cp";
  up.current = 2;
  plan.scaling[{"fn", "1"}] = up;
  plan.capacity_limited[{"fn", "1"}] = "cannot fit";
  ObservedInstance launched;
  launched.id = "i-2";
  launched.capacity_provider = "cp";
  launched.zone = "subnet-b";
  launched.type.name = "c7i.large";
  plan.actions.push_back(LaunchInstance{launched});
  plan.actions.push_back(DrainEnvironment{"ee-1", "", 0, std::chrono::milliseconds(8000)});
  plan.actions.push_back(DrainEnvironment{"ee-2", "", 0, std::chrono::milliseconds(0)});
  std::map<VersionKey, FleetPlan::Scaling> previous;
  auto entries = activityOf(plan, previous, {}, f.observed, {});
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[0].kind, "ScaleOut");
  EXPECT_EQ(entries[0].from, 2);
  EXPECT_EQ(entries[0].to, 6);
  EXPECT_EQ(entries[1].kind, "LimitReached");
  EXPECT_EQ(entries[2].kind, "LaunchInstance");
  EXPECT_EQ(entries[2].subject, "i-2");
  EXPECT_EQ(entries[3].kind, "Drain");
  EXPECT_EQ(entries[3].subject, "ee-1");

  // The same decision and limit again: nothing new.
  previous = plan.scaling;
  FleetPlan again;
  again.scaling = plan.scaling;
  again.capacity_limited = plan.capacity_limited;
  EXPECT_TRUE(activityOf(again, previous, again.capacity_limited, f.observed, {}).empty());
  // Down.
  again.scaling[{"fn", "1"}].decision.environments = 3;
  auto down = activityOf(again, previous, again.capacity_limited, f.observed, {});
  ASSERT_EQ(down.size(), 1u);
  EXPECT_EQ(down[0].kind, "ScaleIn");
  EXPECT_EQ(down[0].from, 6);
}

}  // namespace
}  // namespace hearth
