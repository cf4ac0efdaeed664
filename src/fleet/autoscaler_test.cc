#include "fleet/autoscaler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <set>
#include <vector>

namespace hearth {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

DesiredVersion version(int min = 3, std::optional<int> max = std::nullopt, int concurrency = 4) {
  DesiredVersion d;
  d.key = {"fn", "1"};
  d.scaling.min_environments = min;
  d.scaling.max_environments = max;
  d.max_concurrency = concurrency;
  d.size.vcpus = 1;
  return d;
}

LoadPoint point(SteadyTime at, double busy, int in_flight, uint64_t throttles = 0,
                double latency_ms = 200, int desired = 0, int recommended = 0) {
  LoadPoint p;
  p.at = at;
  p.load.busy_concurrency = busy;
  p.load.in_flight = in_flight;
  p.load.concurrency_throttles = throttles;
  p.load.mean_latency_ms = latency_ms;
  p.load.invocations = static_cast<uint64_t>(busy * 1000 / latency_ms);
  p.load.desired = desired;
  p.load.recommended = recommended;
  return p;
}

ScalingDecision decide(const Autoscaler& scaler, const DesiredVersion& d,
                       const std::vector<LoadPoint>& history, int current, SteadyTime now) {
  ScalingContext context;
  context.version = &d;
  context.history = &history;
  context.current = current;
  context.now = now;
  return scaler.decide(context);
}

TEST(Autoscaler, NoLoadKeepsTheMinimum) {
  Autoscaler scaler;
  auto d = version(3);
  std::vector<LoadPoint> none;
  auto decision = decide(scaler, d, none, 0, SteadyTime{} + seconds(100));
  EXPECT_EQ(decision.environments, 3);
  EXPECT_EQ(decision.recommended, 0);
  EXPECT_NE(decision.reason.find("MinExecutionEnvironments"), std::string::npos);
}

TEST(Autoscaler, ConcurrencyAtTheAutoTargetOfHalfTheCap) {
  Autoscaler scaler;
  auto d = version(1, std::nullopt, 4);
  SteadyTime now = SteadyTime{} + seconds(100);
  // 20 in flight on EEs of 4: 10 EEs keep them at 50%.
  std::vector<LoadPoint> history{point(now - seconds(1), 20, 20, 0, 200, 3, 3),
                                 point(now, 20, 20, 0, 200, 3, 3)};
  auto decision = decide(scaler, d, history, 3, now);
  EXPECT_EQ(decision.environments, 10);
  EXPECT_NE(decision.reason.find("scale out"), std::string::npos) << decision.reason;
}

TEST(Autoscaler, ThrottledDemandCountsAtTheMeanLatency) {
  Autoscaler scaler;
  auto d = version(1, std::nullopt, 4);
  SteadyTime now = SteadyTime{} + seconds(100);
  // 12 served + 40 throttles/s × 0.2 s = 20 in flight wanted → 10 EEs.
  std::vector<LoadPoint> history{point(now, 12, 12, 40, 200, 3, 3)};
  EXPECT_EQ(decide(scaler, d, history, 3, now).environments, 10);
}

TEST(Autoscaler, ThrottledDemandCountsForAtMostTheCapacityThere) {
  Autoscaler scaler;
  auto d = version(1, std::nullopt, 4);
  SteadyTime now = SteadyTime{} + seconds(100);
  // Callers retrying at once: 400 throttles/s × 0.2 s = 80, capped at the 12 of capacity.
  auto p = point(now, 12, 12, 400, 200, 3, 3);
  p.load.concurrency_limit = 12;
  std::vector<LoadPoint> history{p};
  EXPECT_EQ(decide(scaler, d, history, 3, now).environments, 12);  // (12 + 12) / (4 × 0.5)
}

TEST(Autoscaler, CpuBoundLoadScalesByCpu) {
  Autoscaler scaler;
  auto d = version(1, std::nullopt, 64);
  SteadyTime now = SteadyTime{} + seconds(100);
  auto p = point(now, 4, 4, 0, 50, 2, 2);
  p.load.cpu_vcpus = 3.0;  // 3 vCPUs busy, EEs of 1 vCPU at 50% → 6
  std::vector<LoadPoint> history{p};
  auto decision = decide(scaler, d, history, 2, now);
  EXPECT_EQ(decision.environments, 6);
}

TEST(Autoscaler, ManualModeUsesTheTargetValue) {
  Autoscaler scaler;
  auto d = version(1, std::nullopt, 4);
  d.target = {true, 0.8};
  SteadyTime now = SteadyTime{} + seconds(100);
  std::vector<LoadPoint> history{point(now, 16, 16, 0, 200, 3, 3)};
  EXPECT_EQ(decide(scaler, d, history, 3, now).environments, 5);  // 16 / (4 × 0.8)
}

TEST(Autoscaler, BoundsClampTheResult) {
  Autoscaler scaler;
  SteadyTime now = SteadyTime{} + seconds(100);
  std::vector<LoadPoint> history{point(now, 100, 100, 0, 200, 3, 3)};
  auto capped = decide(scaler, version(3, 8), history, 3, now);
  EXPECT_EQ(capped.environments, 8);
  EXPECT_EQ(capped.recommended, 50);
  EXPECT_NE(capped.reason.find("MaxExecutionEnvironments"), std::string::npos);
  EXPECT_EQ(decide(scaler, version(0, 0), history, 0, now).environments, 0);
}

TEST(Autoscaler, ScaleInWaitsForTheHoldAndHalvesAtMost) {
  Autoscaler scaler;
  auto d = version(1);
  SteadyTime now = SteadyTime{} + seconds(1000);
  // 20 EEs, asked for 20 five seconds ago, no load since: held at 20.
  std::vector<LoadPoint> history;
  for (int s = 5; s >= 1; --s) {
    history.push_back(point(now - seconds(s), 0, 0, 0, 200, 20, s == 5 ? 20 : 0));
  }
  EXPECT_EQ(decide(scaler, d, history, 20, now).environments, 20);
  // Past the hold: half per step.
  history.clear();
  history.push_back(point(now, 0, 0, 0, 200, 20, 0));
  auto decision = decide(scaler, d, history, 20, now);
  EXPECT_EQ(decision.environments, 10);
  EXPECT_NE(decision.reason.find("scale in"), std::string::npos);
}

// A closed loop of the scaler and a simulated fleet, one decision per second. Callers keep
// `demand(t)` invocations of 200 ms in flight (an open arrival rate of demand / 0.2 s); EEs of
// concurrency 4 are ready one second after the scaler asks for them; a removed EE goes at once.
struct Trace {
  uint64_t requests = 0;
  uint64_t throttles = 0;
  std::vector<int> ready;  // per second
  std::vector<int> desired;
  std::vector<uint64_t> throttles_at;
};

Trace simulate(const std::function<double(int)>& demand, int seconds_total, int min_ees = 3,
               int warm_up = 0, AutoscalerOptions options = {}) {
  Autoscaler scaler(options);
  auto d = version(min_ees);
  const double latency = 0.2;
  std::vector<SteadyTime> ready_at;  // one per live EE
  std::vector<LoadPoint> history;
  Trace trace;
  int last_desired = 0, last_recommended = 0;
  for (int t = -warm_up; t < seconds_total; ++t) {
    SteadyTime now = SteadyTime{} + seconds(10000 + t);
    int ready = 0;
    for (auto r : ready_at) {
      ready += r <= now ? 1 : 0;
    }
    double wanted = demand(std::max(t, 0));
    double capacity = ready * d.max_concurrency;
    double busy = std::min(wanted, capacity);
    double arrivals = wanted / latency;
    double served = busy / latency;
    auto throttled = static_cast<uint64_t>(std::llround(arrivals - served));
    if (t >= 0) {
      trace.requests += static_cast<uint64_t>(std::llround(arrivals));
      trace.throttles += throttled;
      trace.ready.push_back(ready);
      trace.throttles_at.push_back(throttled);
    }
    LoadPoint p;
    p.at = now;
    p.load.busy_concurrency = busy;
    p.load.in_flight = static_cast<int>(busy);
    p.load.invocations = static_cast<uint64_t>(served);
    p.load.mean_latency_ms = served > 0 ? latency * 1000 : 0;
    p.load.concurrency_throttles = throttled;
    p.load.ready = ready;
    p.load.concurrency_limit = static_cast<int>(capacity);
    p.load.desired = last_desired;
    p.load.recommended = last_recommended;
    history.push_back(p);
    if (history.size() > 120) {
      history.erase(history.begin());
    }
    ScalingContext context;
    context.version = &d;
    context.history = &history;
    context.current = static_cast<int>(ready_at.size());
    context.now = now;
    ScalingDecision decision = scaler.decide(context);
    last_desired = decision.environments;
    last_recommended = decision.recommended;
    while (static_cast<int>(ready_at.size()) < decision.environments) {
      ready_at.push_back(now + seconds(1));
    }
    while (static_cast<int>(ready_at.size()) > decision.environments) {
      ready_at.pop_back();  // the newest first
    }
    if (t >= 0) {
      trace.desired.push_back(decision.environments);
    }
  }
  return trace;
}

TEST(AutoscalerScenario, SteadyLoadHoldsStillWithoutThrottles) {
  Trace trace = simulate([](int) { return 20.0; }, 300, 3, 120);
  EXPECT_EQ(trace.throttles, 0u);
  std::set<int> distinct(trace.desired.begin(), trace.desired.end());
  EXPECT_EQ(distinct.size(), 1u) << "flapping under steady load";
  EXPECT_EQ(trace.desired.front(), 10);
}

TEST(AutoscalerScenario, DoublingWithinTenSecondsHasNoThrottles) {
  // 24 → 48 in flight over 10 s, after two minutes at 24.
  Trace trace = simulate(
      [](int t) { return t < 30   ? 24.0
                         : t < 40 ? 24.0 + 2.4 * (t - 30)
                                  : 48.0; }, 120, 3, 120);
  EXPECT_EQ(trace.throttles, 0u);
  EXPECT_EQ(trace.desired.back(), 24);
}

TEST(AutoscalerScenario, InstantDoublingHasNoThrottles) {
  Trace trace = simulate([](int t) { return t < 30 ? 24.0 : 48.0; }, 90, 3, 120);
  EXPECT_EQ(trace.throttles, 0u);
}

TEST(AutoscalerScenario, TenfoldWithinAMinuteThrottlesUnderOnePercent) {
  Trace trace = simulate(
      [](int t) { return t < 10   ? 6.0
                         : t < 70 ? 6.0 * std::pow(10.0, (t - 10) / 60.0)
                                  : 60.0; },
      150, 3, 120);
  EXPECT_LT(static_cast<double>(trace.throttles), 0.01 * static_cast<double>(trace.requests));
  EXPECT_EQ(trace.desired.back(), 30);
}

TEST(AutoscalerScenario, SpikeAndDropRecoversAndScalesBackIn) {
  // 8 → 80 at once for 30 s, then back to 8.
  Trace trace = simulate([](int t) { return t >= 20 && t < 50 ? 80.0 : 8.0; }, 200, 3, 120);
  // Throttles only in the spike's first two seconds.
  for (size_t t = 0; t < trace.throttles_at.size(); ++t) {
    if (t < 20 || t > 21) {
      EXPECT_EQ(trace.throttles_at[t], 0u) << "t=" << t;
    }
  }
  EXPECT_EQ(trace.desired[45], 40);
  // Back to the baseline within the stable window plus the hold after the drop.
  EXPECT_EQ(trace.desired[50 + 60 + 10], 4);
}

TEST(AutoscalerScenario, LoadStopsAndTheVersionReturnsToItsMinimum) {
  Trace trace = simulate([](int t) { return t < 30 ? 40.0 : 0.0; }, 120, 3, 120);
  EXPECT_EQ(trace.throttles, 0u);
  EXPECT_EQ(trace.desired[29], 20);
  EXPECT_EQ(trace.desired[30 + 70], 3);
  // Monotone on the way down: no scale-out without load.
  for (size_t t = 31; t < trace.desired.size(); ++t) {
    EXPECT_LE(trace.desired[t], trace.desired[t - 1]);
  }
}

TEST(AutoscalerScenario, DayAndNightCycleFollowsTheLoad) {
  // A compressed day: 5 → 50 → 5 in flight over ten minutes, twice.
  auto load = [](int t) { return 27.5 - 22.5 * std::cos(2 * M_PI * t / 600.0); };
  Trace trace = simulate(load, 1200, 3, 120);
  EXPECT_EQ(trace.throttles, 0u);
  EXPECT_GE(trace.desired[300], 25);  // noon: 50 in flight
  EXPECT_LE(trace.desired[660], 10);  // past midnight: the load fell to ~6
}

}  // namespace
}  // namespace hearth
