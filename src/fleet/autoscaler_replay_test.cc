// The autoscaler replayed on a recorded trace: the per-second samples a real server took while
// bench/scaling's "stop" scenario ran (24 callers for 30 s, then none). Fed the samples up to
// each second, the policy must decide what the server decided then (recorded in the next sample),
// so the scaler's behaviour in the field is the one the unit tests pin down.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <fstream>
#include <sstream>

#include "fleet/autoscaler.h"

namespace hearth {
namespace {

namespace json = boost::json;

double number(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) {
    return 0;
  }
  return v->is_double()   ? v->get_double()
         : v->is_int64()  ? static_cast<double>(v->get_int64())
         : v->is_uint64() ? static_cast<double>(v->get_uint64())
                          : 0;
}

std::vector<LoadPoint> loadTrace(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  json::value doc = json::parse(text.str());
  std::vector<LoadPoint> points;
  for (const auto& sample : doc.at("Samples").as_array()) {
    const json::object& s = sample.as_object();
    for (const auto& row : s.at("Versions").as_array()) {
      const json::object& v = row.as_object();
      LoadPoint p;
      p.at = SteadyTime(std::chrono::milliseconds(static_cast<int64_t>(number(s, "EpochMillis"))));
      p.seconds = number(s, "IntervalSeconds");
      p.load.invocations = static_cast<uint64_t>(number(v, "Invocations"));
      p.load.concurrency_throttles = static_cast<uint64_t>(number(v, "ConcurrencyThrottles"));
      p.load.busy_concurrency = number(v, "ConcurrencyInUse");
      p.load.mean_latency_ms = number(v, "MeanLatencyMs");
      p.load.in_flight = static_cast<int>(number(v, "InFlight"));
      p.load.concurrency_limit = static_cast<int>(number(v, "ConcurrencyLimit"));
      p.load.cpu_vcpus = number(v, "CpuVCpusBusy");
      p.load.ready = static_cast<int>(number(v, "ReadyExecutionEnvironments"));
      p.load.desired = static_cast<int>(number(v, "DesiredExecutionEnvironments"));
      p.load.recommended = static_cast<int>(number(v, "RecommendedExecutionEnvironments"));
      points.push_back(p);
    }
  }
  return points;
}

TEST(AutoscalerReplay, DecidesAsTheServerDidOnARecordedTrace) {
  std::vector<LoadPoint> trace =
      loadTrace(std::string(HEARTH_FLEET_TESTDATA) + "/stop-history.json");
  ASSERT_GT(trace.size(), 60u);
  DesiredVersion d;  // as bench/scaling deploys it
  d.key = {"burn", "1"};
  d.scaling.min_environments = 3;
  d.max_concurrency = 4;
  d.size.vcpus = 1;
  Autoscaler scaler;
  int compared = 0, same = 0, max_desired = 0, outs = 0, ins = 0;
  for (size_t k = 0; k + 1 < trace.size(); ++k) {
    if (trace[k].load.desired == 0 || trace[k + 1].load.desired == 0) {
      continue;  // before the first decision
    }
    std::vector<LoadPoint> history(trace.begin(),
                                   trace.begin() + static_cast<std::ptrdiff_t>(k) + 1);
    ScalingContext context;
    context.version = &d;
    context.history = &history;
    context.current = trace[k].load.ready;
    // The server's next pass came up to 200 ms after the sample.
    context.now = trace[k].at + std::chrono::milliseconds(100);
    ScalingDecision decision = scaler.decide(context);
    ++compared;
    same += decision.environments == trace[k + 1].load.desired ? 1 : 0;
    max_desired = std::max(max_desired, trace[k + 1].load.desired);
    outs += trace[k + 1].load.desired > trace[k].load.desired ? 1 : 0;
    ins += trace[k + 1].load.desired < trace[k].load.desired ? 1 : 0;
  }
  EXPECT_GT(outs, 0) << "the trace scales out";
  EXPECT_GT(ins, 0) << "and back in";
  EXPECT_GE(max_desired, 12);
  // Window edges may fall on the other side of a sample when a pass ran later than 100 ms.
  EXPECT_GE(same, compared * 95 / 100) << same << " of " << compared << " decisions match";
}

}  // namespace
}  // namespace hearth
