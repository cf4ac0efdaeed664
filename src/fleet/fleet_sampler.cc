#include "fleet/fleet_sampler.h"

#include <fmt/format.h>

#include <algorithm>

namespace hearth {

namespace {

constexpr int64_t kMiB = 1024 * 1024;

std::string_view instanceStateName(InstanceState state) {
  switch (state) {
    case InstanceState::kPending:
      return "Pending";
    case InstanceState::kRunning:
      return "Running";
    case InstanceState::kTerminated:
      return "Terminated";
  }
  return "Terminated";
}

const RequestTotals* findTotals(const std::vector<RequestTotals>* all, const VersionKey& key) {
  if (all == nullptr) {
    return nullptr;
  }
  for (const auto& t : *all) {
    if (t.function == key.function && t.version == key.version) {
      return &t;
    }
  }
  return nullptr;
}

uint64_t minus(uint64_t now, uint64_t before) {
  return now >= before ? now - before : now;  // a reset counter counts from zero
}

}  // namespace

FleetSample sampleFleet(const SampleInput& in) {
  FleetSample out;
  out.wall = in.wall;
  out.steady = in.now;
  out.interval_seconds = in.interval_seconds > 0 ? in.interval_seconds : 1;
  const ObservedFleet& observed = *in.observed;
  auto inFlight = [&](const ObservedEnvironment& env) {
    if (in.in_flight != nullptr) {
      if (auto it = in.in_flight->find(env.id); it != in.in_flight->end()) {
        return it->second;
      }
    }
    return env.usage.outstanding;
  };

  std::map<std::string, InstanceSample> instances;
  for (const auto& [id, inst] : observed.instances) {
    InstanceSample s;
    s.id = id;
    s.capacity_provider = inst.capacity_provider;
    s.zone = inst.zone;
    s.type = inst.type.name;
    s.state = std::string(instanceStateName(inst.state));
    s.vcpus = inst.type.vcpus;
    s.memory_mib = inst.type.memory_mib;
    s.price_per_hour = inst.type.price_per_hour;
    s.age_seconds = std::chrono::duration<double>(in.now - inst.launched_at).count();
    instances.emplace(id, std::move(s));
  }
  for (const auto& [id, env] : observed.environments) {
    EnvironmentSample e;
    e.id = id;
    e.function = env.key.function;
    e.version = env.key.version;
    e.instance_id = env.instance_id;
    e.state = std::string(placedStateName(env.state));
    e.concurrency = inFlight(env);
    e.concurrency_limit = env.max_concurrency;
    e.cpu_utilization = env.usage.cpu_utilization;
    e.memory_used_bytes = env.usage.resident_bytes;
    e.memory_limit_bytes = env.memory_mib * kMiB;
    e.vcpus = env.vcpus;
    if (auto it = instances.find(env.instance_id); it != instances.end()) {
      InstanceSample& inst = it->second;
      ++inst.environments;
      inst.vcpus_allocated += env.vcpus;
      inst.memory_allocated_mib += env.memory_mib;
      inst.cpu_utilization += env.usage.cpu_utilization * env.vcpus;  // vCPUs busy, for now
      inst.memory_used_bytes += env.usage.resident_bytes;
    }
    out.environments.push_back(std::move(e));
  }
  std::map<std::string, ProviderSample> providers;
  for (const auto& d : in.desired->versions) {
    ProviderSample& p = providers[d.capacity_provider];
    p.name = d.capacity_provider;
    p.max_vcpus = d.max_vcpus;
  }
  for (auto& [id, inst] : instances) {
    ProviderSample& p = providers[inst.capacity_provider];
    p.name = inst.capacity_provider;
    ++p.instances;
    p.vcpus += inst.vcpus;
    p.vcpus_allocated += inst.vcpus_allocated;
    p.cpu_utilization += inst.cpu_utilization;  // vCPUs busy, for now
    p.price_per_hour += inst.price_per_hour;
    inst.cpu_utilization = inst.vcpus > 0 ? inst.cpu_utilization / inst.vcpus : 0;
    out.instances.push_back(inst);
  }
  for (auto& [name, p] : providers) {
    p.cpu_utilization = p.vcpus > 0 ? p.cpu_utilization / p.vcpus : 0;
    out.providers.push_back(p);
  }

  for (const auto& d : in.desired->versions) {
    VersionSample v;
    v.function = d.key.function;
    v.version = d.key.version;
    v.capacity_provider = d.capacity_provider;
    v.max_concurrency = d.max_concurrency;
    v.vcpus_per_environment = d.size.vcpus;
    for (const auto& [id, env] : observed.environments) {
      if (!(env.key == d.key)) {
        continue;
      }
      switch (env.state) {
        case PlacedState::kReady:
          ++v.ready;
          v.in_flight += inFlight(env);
          v.cpu_vcpus += env.usage.cpu_utilization * env.vcpus;
          v.concurrency_limit += env.max_concurrency;
          break;
        case PlacedState::kAssigned:
        case PlacedState::kStarting:
          ++v.starting;
          break;
        case PlacedState::kDraining:
          ++v.draining;
          v.in_flight += inFlight(env);
          break;
        default:
          break;
      }
    }
    if (const RequestTotals* now = findTotals(in.totals, d.key)) {
      RequestTotals zero;
      const RequestTotals* before = findTotals(in.previous, d.key);
      if (before == nullptr) {
        before = &zero;
      }
      v.invocations = minus(now->invocations, before->invocations);
      v.function_errors = minus(now->function_errors, before->function_errors);
      v.concurrency_throttles = minus(now->concurrency_throttles, before->concurrency_throttles);
      v.other_failures = minus(now->other_failures, before->other_failures);
      double busy_seconds = static_cast<double>(minus(now->busy_nanos, before->busy_nanos)) / 1e9;
      v.busy_concurrency = busy_seconds / out.interval_seconds;
      v.mean_latency_ms =
          v.invocations > 0 ? busy_seconds * 1000 / static_cast<double>(v.invocations) : 0;
      HistogramCounts latency = now->latency.since(before->latency);
      v.latency_p50_ms = latency.quantileMs(0.50);
      v.latency_p99_ms = latency.quantileMs(0.99);
      v.request_rate =
          static_cast<double>(v.invocations + v.concurrency_throttles) / out.interval_seconds;
    }
    if (in.decisions != nullptr) {
      if (auto it = in.decisions->find(d.key); it != in.decisions->end()) {
        v.desired = it->second.decision.environments;
        v.recommended = it->second.decision.recommended;
      }
    }
    out.versions.push_back(std::move(v));
  }
  return out;
}

ScalingSignals signalsFrom(const std::vector<FleetSamplePtr>& samples) {
  ScalingSignals out;
  for (const auto& sample : samples) {
    for (const auto& v : sample->versions) {
      out[VersionKey{v.function, v.version}].push_back(
          LoadPoint{sample->steady, sample->interval_seconds, v});
    }
  }
  return out;
}

std::vector<ActivityEntry> activityOf(const FleetPlan& plan,
                                      const std::map<VersionKey, FleetPlan::Scaling>& previous,
                                      const std::map<VersionKey, std::string>& previously_limited,
                                      const ObservedFleet& before,
                                      std::chrono::system_clock::time_point wall) {
  std::vector<ActivityEntry> out;
  auto entry = [&](std::string kind) {
    ActivityEntry e;
    e.wall = wall;
    e.kind = std::move(kind);
    return e;
  };
  for (const auto& [key, scaling] : plan.scaling) {
    auto it = previous.find(key);
    int from = it != previous.end() ? it->second.decision.environments : scaling.current;
    int to = scaling.decision.environments;
    if (to == from) {
      continue;
    }
    ActivityEntry e = entry(to > from ? "ScaleOut" : "ScaleIn");
    e.capacity_provider = scaling.capacity_provider;
    e.function = key.function;
    e.version = key.version;
    e.from = from;
    e.to = to;
    e.reason = scaling.decision.reason;
    e.inputs = scaling.decision.inputs;
    out.push_back(std::move(e));
  }
  for (const auto& [key, reason] : plan.capacity_limited) {
    if (previously_limited.contains(key)) {
      continue;
    }
    ActivityEntry e = entry("LimitReached");
    e.function = key.function;
    e.version = key.version;
    if (auto it = plan.scaling.find(key); it != plan.scaling.end()) {
      e.capacity_provider = it->second.capacity_provider;
      e.to = it->second.decision.environments;
    }
    e.reason = reason;
    out.push_back(std::move(e));
  }
  for (const FleetAction& action : plan.actions) {
    if (const auto* launch = std::get_if<LaunchInstance>(&action)) {
      ActivityEntry e = entry("LaunchInstance");
      e.capacity_provider = launch->instance.capacity_provider;
      e.subject = launch->instance.id;
      e.reason = fmt::format("{} in {}", launch->instance.type.name, launch->instance.zone);
      out.push_back(std::move(e));
    } else if (const auto* terminate = std::get_if<TerminateInstance>(&action)) {
      ActivityEntry e = entry("TerminateInstance");
      e.subject = terminate->instance_id;
      if (auto it = before.instances.find(terminate->instance_id); it != before.instances.end()) {
        e.capacity_provider = it->second.capacity_provider;
      }
      e.reason = terminate->lost      ? "lost: silent, exited or never registered"
                 : terminate->rotated ? "rotated: past its maximum lifetime, its EEs replaced"
                                      : "idle";
      out.push_back(std::move(e));
    } else if (const auto* drain = std::get_if<DrainEnvironment>(&action)) {
      auto it = before.environments.find(drain->environment_id);
      if (drain->drain.count() == 0 || it == before.environments.end()) {
        continue;  // a failed, gone or unready EE: stopped, not drained
      }
      ActivityEntry e = entry("Drain");
      e.capacity_provider = it->second.capacity_provider;
      e.function = it->second.key.function;
      e.version = it->second.key.version;
      e.subject = drain->environment_id;
      e.reason = fmt::format("stop routing, finish in-flight work within {} s",
                             drain->drain.count() / 1000);
      out.push_back(std::move(e));
    }
  }
  return out;
}

}  // namespace hearth
