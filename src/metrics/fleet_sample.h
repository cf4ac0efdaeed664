#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace hearth {

// One second of the fleet, as the metrics sampler saw it. Names follow LMI's CloudWatch metrics
// where one exists. Plain data: the fleet fills it in, the API renders it.

struct EnvironmentSample {
  std::string id;
  std::string function;
  std::string version;
  std::string instance_id;
  std::string state;              // Assigned, Starting, Ready, Draining, Failed, Gone
  int concurrency = 0;            // ExecutionEnvironmentConcurrency: invocations in flight
  int concurrency_limit = 0;      // ExecutionEnvironmentConcurrencyLimit
  double cpu_utilization = 0;     // CPUUtilization, of its vCPUs (0..1)
  int64_t memory_used_bytes = 0;  // resident memory, from its cgroup
  int64_t memory_limit_bytes = 0;
  int vcpus = 0;
};

struct InstanceSample {
  std::string id;
  std::string capacity_provider;
  std::string zone;
  std::string type;
  std::string state;  // Pending, Running, Draining
  int vcpus = 0;
  int64_t memory_mib = 0;
  int vcpus_allocated = 0;  // to its EEs
  int64_t memory_allocated_mib = 0;
  double cpu_utilization = 0;  // of the instance's vCPUs, from its EEs' cgroups (0..1)
  int64_t memory_used_bytes = 0;
  int environments = 0;
  double price_per_hour = 0;
  double age_seconds = 0;
};

struct VersionSample {
  std::string function;
  std::string version;
  std::string capacity_provider;
  // Requests in this interval.
  uint64_t invocations = 0;  // answered (Invocations)
  uint64_t function_errors = 0;
  uint64_t concurrency_throttles = 0;  // ConcurrencyThrottles
  uint64_t other_failures = 0;
  double request_rate = 0;  // answered + throttled, per second
  double latency_p50_ms = 0;
  double latency_p99_ms = 0;
  // Load in this interval.
  double busy_concurrency = 0;  // mean invocations in flight (answered time / interval)
  double mean_latency_ms = 0;   // of the answered invocations; 0 when none
  int in_flight = 0;            // invocations in flight at the sample
  double cpu_vcpus = 0;         // vCPUs busy across its Ready EEs
  // Capacity at the sample.
  int ready = 0;
  int starting = 0;  // placed or initialising
  int draining = 0;
  int max_concurrency = 1;  // per EE
  int vcpus_per_environment = 1;
  int concurrency_limit = 0;  // ready × max_concurrency
  // The scaler's last decision for it (0 before the first).
  int desired = 0;
  int recommended = 0;  // what the load alone asked for, before holds and bounds
};

struct ProviderSample {
  std::string name;
  int instances = 0;
  int vcpus = 0;  // of its instances
  int max_vcpus = 0;
  int vcpus_allocated = 0;
  double cpu_utilization = 0;  // of its instances' vCPUs
  double price_per_hour = 0;   // its instances, on demand
};

struct FleetSample {
  std::chrono::system_clock::time_point wall{};
  std::chrono::steady_clock::time_point steady{};
  double interval_seconds = 1;
  std::vector<ProviderSample> providers;
  std::vector<InstanceSample> instances;
  std::vector<VersionSample> versions;
  std::vector<EnvironmentSample> environments;
};

}  // namespace hearth
