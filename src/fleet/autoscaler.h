#pragma once

#include <chrono>

#include "fleet/scaling_policy.h"

namespace hearth {

struct AutoscalerOptions {
  // Scale-out looks at the peak load of this recent window: a burst is acted on within 1–2 s.
  std::chrono::milliseconds burst_window{2000};
  // Scale-in follows the mean load of this window, so capacity stays through short lulls.
  std::chrono::milliseconds stable_window{60000};
  // A scale-in never goes below what the load asked for within this window.
  std::chrono::milliseconds scale_in_delay{10000};
  // A scale-in step removes at most 1 - 1/rate of the EEs.
  double max_scale_in_rate = 2.0;
  // Auto mode's utilisation target for both CPU and concurrency: at 50% a doubling of load fits
  // in the capacity already running while the scaler adds more.
  double auto_target = 0.5;
};

// The autoscaler: per version, the EEs that keep CPU use (against the capacity provider's target)
// and concurrency in use (against the same target of the EEs' concurrency cap) at or below target.
//  - Load of a second: the mean invocations in flight (answered time / interval), plus throttled
//    demand (throttles per second × the mean latency, at most the concurrency limit of the Ready
//    EEs, as retrying callers inflate it), and never less than the invocations in flight at the
//    sample; CPU is the vCPUs busy in Ready EEs.
//  - recommended = max over CPU and concurrency of ceil(load / (per-EE capacity × target)), for
//    the burst window's peak and for the stable window's mean, whichever is higher.
//  - Above the current target: scale out to it at once (the fast path).
//  - Below: hold the highest recommendation of the scale-in delay, and remove at most
//    1 - 1/max_scale_in_rate of the EEs per step, so a drop reaches the minimum within the
//    stable window plus the scale-in delay.
//  - The result is clamped to [Min, Max]ExecutionEnvironments.
// Manual mode uses the provider's TargetValue (percent) as both targets. Pure.
class Autoscaler final : public ScalingPolicy {
 public:
  explicit Autoscaler(AutoscalerOptions options = {}) : options_(options) {}
  ScalingDecision decide(const ScalingContext& context) const override;

  // The load of one second (see above), in invocations in flight.
  static double demandOf(const LoadPoint& point, double fallback_latency_seconds);

 private:
  AutoscalerOptions options_;
};

}  // namespace hearth
