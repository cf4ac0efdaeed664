#include "fleet/autoscaler.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace hearth {

int clampToBounds(const ScalingBounds& bounds, int count) {
  count = std::max(count, bounds.min_environments);
  if (bounds.max_environments) {
    count = std::min(count, *bounds.max_environments);
  }
  return std::max(count, 0);
}

ScalingDecision MinimumEnvironmentsPolicy::decide(const ScalingContext& context) const {
  ScalingDecision decision;
  decision.environments = clampToBounds(context.version->scaling, 0);
  decision.recommended = decision.environments;
  decision.reason = "MinExecutionEnvironments";
  return decision;
}

double Autoscaler::demandOf(const LoadPoint& point, double fallback_latency_seconds) {
  const VersionSample& s = point.load;
  double seconds = point.seconds > 0 ? point.seconds : 1;
  double latency = s.mean_latency_ms > 0 ? s.mean_latency_ms / 1000 : fallback_latency_seconds;
  double unserved = static_cast<double>(s.concurrency_throttles) / seconds * latency;
  // Callers that retry at once inflate the throttle count: unserved demand counts for at most
  // the capacity already there, so each step at most doubles it (and more the next second).
  if (s.concurrency_limit > 0) {
    unserved = std::min(unserved, static_cast<double>(s.concurrency_limit));
  }
  return std::max(s.busy_concurrency + unserved, static_cast<double>(s.in_flight));
}

namespace {

// EEs needed to keep `load` at `target` of `per_environment`.
int environmentsFor(double load, double per_environment, double target) {
  if (load <= 0 || per_environment <= 0 || target <= 0) {
    return 0;
  }
  // A hair below the boundary counts as on it: 4.0000001 EEs is 4.
  return static_cast<int>(std::ceil(load / (per_environment * target) - 1e-9));
}

}  // namespace

ScalingDecision Autoscaler::decide(const ScalingContext& context) const {
  const DesiredVersion& d = *context.version;
  ScalingDecision decision;
  double target = d.target.manual && d.target.utilization > 0
                      ? std::clamp(d.target.utilization, 0.01, 1.0)
                      : options_.auto_target;
  int previous = context.current;
  if (context.history != nullptr && !context.history->empty() &&
      context.history->back().load.desired > 0) {
    previous = context.history->back().load.desired;
  }

  // The window's mean latency stands in for seconds that answered nothing.
  double fallback_latency = 1.0;
  double busy_seconds = 0;
  double answered = 0;
  double burst_load = 0, burst_cpu = 0, stable_load = 0, stable_cpu = 0, stable_seconds = 0;
  int held = 0;
  if (context.history != nullptr) {
    for (const LoadPoint& p : *context.history) {
      if (p.at > context.now - options_.stable_window) {
        busy_seconds += p.load.busy_concurrency * p.seconds;
        answered += static_cast<double>(p.load.invocations);
      }
    }
    if (answered > 0) {
      fallback_latency = busy_seconds / answered;
    }
    for (const LoadPoint& p : *context.history) {
      double load = demandOf(p, fallback_latency);
      if (p.at > context.now - options_.stable_window) {
        stable_load += load * p.seconds;
        stable_cpu += p.load.cpu_vcpus * p.seconds;
        stable_seconds += p.seconds;
      }
      if (p.at > context.now - options_.burst_window) {
        burst_load = std::max(burst_load, load);
        burst_cpu = std::max(burst_cpu, p.load.cpu_vcpus);
      }
      if (p.at > context.now - options_.scale_in_delay) {
        held = std::max(held, p.load.recommended);
      }
    }
  }
  if (stable_seconds > 0) {
    stable_load /= stable_seconds;
    stable_cpu /= stable_seconds;
  }
  double per_ee_concurrency = std::max(1, d.max_concurrency);
  double per_ee_vcpus = std::max(1, d.size.vcpus);
  int burst = std::max(environmentsFor(burst_load, per_ee_concurrency, target),
                       environmentsFor(burst_cpu, per_ee_vcpus, target));
  int stable = std::max(environmentsFor(stable_load, per_ee_concurrency, target),
                        environmentsFor(stable_cpu, per_ee_vcpus, target));
  int recommended = std::max(burst, stable);

  int count;
  if (recommended > previous) {
    count = recommended;
    decision.reason = fmt::format(
        "scale out: load {:.1f} in flight (peak of {} s) and {:.2f} vCPUs busy need "
        "{} EEs at a {:.0f}% target",
        std::max(burst_load, stable_load), options_.burst_window.count() / 1000.0,
        std::max(burst_cpu, stable_cpu), recommended, target * 100);
  } else {
    int floor_by_rate =
        static_cast<int>(std::ceil(previous / std::max(1.0, options_.max_scale_in_rate)));
    count = std::max({recommended, held, floor_by_rate});
    if (count < previous) {
      decision.reason = fmt::format(
          "scale in: mean load {:.1f} in flight and {:.2f} vCPUs busy over {} s need {} EEs",
          stable_load, stable_cpu, options_.stable_window.count() / 1000.0, recommended);
    } else {
      decision.reason = "steady";
    }
  }
  decision.recommended = recommended;
  decision.environments = clampToBounds(d.scaling, count);
  if (decision.environments < count) {
    decision.reason +=
        fmt::format("; capped by MaxExecutionEnvironments {}", decision.environments);
  } else if (decision.environments > count) {
    decision.reason = fmt::format("MinExecutionEnvironments {}", decision.environments);
  }
  decision.inputs = {{"burst_load", burst_load},   {"stable_load", stable_load},
                     {"burst_cpu", burst_cpu},     {"stable_cpu", stable_cpu},
                     {"target", target},           {"previous", previous},
                     {"recommended", recommended}, {"held", held}};
  return decision;
}

}  // namespace hearth
