#include "metrics/prometheus.h"

#include <fmt/format.h>

#include <functional>
#include <utility>

namespace hearth {

std::string escapePrometheusLabel(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

namespace {

using Labels = std::vector<std::pair<const char*, std::string>>;

class Writer {
 public:
  // Starts a metric family; every sample of it must follow before the next family.
  void family(const char* name, const char* type, const char* help) {
    name_ = name;
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  void sample(const Labels& labels, double value) {
    out_ += name_;
    if (!labels.empty()) {
      out_ += '{';
      bool first = true;
      for (const auto& [key, val] : labels) {
        out_ += fmt::format("{}{}=\"{}\"", first ? "" : ",", key, escapePrometheusLabel(val));
        first = false;
      }
      out_ += '}';
    }
    out_ += fmt::format(" {}\n", value);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
  const char* name_ = "";
};

Labels versionLabels(const std::string& function, const std::string& version) {
  return {{"function", function}, {"version", version}};
}

}  // namespace

std::string renderPrometheus(const FleetSample* latest, const std::vector<RequestTotals>& totals,
                             const CostReport& cost) {
  Writer w;
  w.family("hearth_invocations_total", "counter",
           "Invocations answered by the function (successes and function errors).");
  for (const auto& t : totals) {
    w.sample(versionLabels(t.function, t.version), static_cast<double>(t.invocations));
  }
  w.family("hearth_function_errors_total", "counter",
           "Invocations that ended in a function error.");
  for (const auto& t : totals) {
    w.sample(versionLabels(t.function, t.version), static_cast<double>(t.function_errors));
  }
  w.family("hearth_throttles_total", "counter", "Invocations throttled (429), by reason.");
  for (const auto& t : totals) {
    Labels labels = versionLabels(t.function, t.version);
    labels.emplace_back("reason", "Concurrency");
    w.sample(labels, static_cast<double>(t.concurrency_throttles));
  }
  w.family("hearth_delivery_failures_total", "counter",
           "Invocations the platform could not deliver to an execution environment.");
  for (const auto& t : totals) {
    w.sample(versionLabels(t.function, t.version), static_cast<double>(t.other_failures));
  }

  if (latest != nullptr) {
    auto perVersion = [&](const char* name, const char* help,
                          const std::function<double(const VersionSample&)>& value) {
      w.family(name, "gauge", help);
      for (const auto& v : latest->versions) {
        w.sample(versionLabels(v.function, v.version), value(v));
      }
    };
    perVersion("hearth_request_rate", "Requests per second (answered and throttled), last second.",
               [](const VersionSample& v) { return v.request_rate; });
    perVersion("hearth_latency_p50_seconds", "Median invocation latency, last second.",
               [](const VersionSample& v) { return v.latency_p50_ms / 1000; });
    perVersion("hearth_latency_p99_seconds", "99th percentile invocation latency, last second.",
               [](const VersionSample& v) { return v.latency_p99_ms / 1000; });
    perVersion("hearth_version_concurrency", "Invocations in flight across the version's EEs.",
               [](const VersionSample& v) { return static_cast<double>(v.in_flight); });
    perVersion("hearth_version_concurrency_limit", "Ready EEs times their concurrency cap.",
               [](const VersionSample& v) { return static_cast<double>(v.concurrency_limit); });
    perVersion("hearth_desired_execution_environments", "The scaler's current target.",
               [](const VersionSample& v) { return static_cast<double>(v.desired); });
    w.family("hearth_execution_environments", "gauge", "Execution environments by state.");
    for (const auto& v : latest->versions) {
      for (auto [state, count] : {std::pair{"Ready", v.ready}, std::pair{"Starting", v.starting},
                                  std::pair{"Draining", v.draining}}) {
        Labels labels = versionLabels(v.function, v.version);
        labels.emplace_back("state", state);
        w.sample(labels, count);
      }
    }

    auto perEnvironment = [&](const char* name, const char* help,
                              const std::function<double(const EnvironmentSample&)>& value) {
      w.family(name, "gauge", help);
      for (const auto& e : latest->environments) {
        Labels labels = versionLabels(e.function, e.version);
        labels.emplace_back("environment", e.id);
        labels.emplace_back("instance", e.instance_id);
        w.sample(labels, value(e));
      }
    };
    perEnvironment("hearth_execution_environment_concurrency",
                   "ExecutionEnvironmentConcurrency: invocations in flight in the EE.",
                   [](const EnvironmentSample& e) { return static_cast<double>(e.concurrency); });
    perEnvironment(
        "hearth_execution_environment_concurrency_limit",
        "ExecutionEnvironmentConcurrencyLimit: the EE's PerExecutionEnvironmentMaxConcurrency.",
        [](const EnvironmentSample& e) { return static_cast<double>(e.concurrency_limit); });
    perEnvironment("hearth_execution_environment_cpu_utilization",
                   "CPUUtilization of the EE's vCPUs (0-1), from its cgroup.",
                   [](const EnvironmentSample& e) { return e.cpu_utilization; });
    perEnvironment(
        "hearth_execution_environment_memory_bytes", "Resident memory of the EE, from its cgroup.",
        [](const EnvironmentSample& e) { return static_cast<double>(e.memory_used_bytes); });

    auto perInstance = [&](const char* name, const char* help,
                           const std::function<double(const InstanceSample&)>& value) {
      w.family(name, "gauge", help);
      for (const auto& i : latest->instances) {
        w.sample({{"capacity_provider", i.capacity_provider},
                  {"instance", i.id},
                  {"instance_type", i.type},
                  {"zone", i.zone}},
                 value(i));
      }
    };
    perInstance("hearth_instance_cpu_utilization", "CPUUtilization of the instance's vCPUs (0-1).",
                [](const InstanceSample& i) { return i.cpu_utilization; });
    perInstance("hearth_instance_vcpus", "vCPUs of the instance's type.",
                [](const InstanceSample& i) { return static_cast<double>(i.vcpus); });
    perInstance("hearth_instance_vcpus_allocated", "vCPUAllocated: vCPUs given to EEs.",
                [](const InstanceSample& i) { return static_cast<double>(i.vcpus_allocated); });
    perInstance(
        "hearth_instance_vcpus_available", "vCPUAvailable: vCPUs not given to EEs.",
        [](const InstanceSample& i) { return static_cast<double>(i.vcpus - i.vcpus_allocated); });
    perInstance("hearth_instance_memory_allocated_bytes", "MemoryAllocated: memory given to EEs.",
                [](const InstanceSample& i) {
                  return static_cast<double>(i.memory_allocated_mib) * 1048576.0;
                });
    perInstance("hearth_instance_memory_available_bytes",
                "MemoryAvailable: memory not given to EEs.", [](const InstanceSample& i) {
                  return static_cast<double>(i.memory_mib - i.memory_allocated_mib) * 1048576.0;
                });
    perInstance("hearth_instance_memory_used_bytes", "Resident memory of the instance's EEs.",
                [](const InstanceSample& i) { return static_cast<double>(i.memory_used_bytes); });

    w.family("hearth_capacity_provider_vcpus", "gauge", "vCPUs of the provider's instances.");
    for (const auto& p : latest->providers) {
      w.sample({{"capacity_provider", p.name}}, p.vcpus);
    }
    w.family("hearth_capacity_provider_max_vcpus", "gauge", "The provider's MaxVCpuCount.");
    for (const auto& p : latest->providers) {
      w.sample({{"capacity_provider", p.name}}, p.max_vcpus);
    }
    w.family("hearth_capacity_provider_instances", "gauge", "Instances of the provider.");
    for (const auto& p : latest->providers) {
      w.sample({{"capacity_provider", p.name}}, p.instances);
    }
  }

  w.family("hearth_cost_dollars_total", "counter",
           "Cost so far in USD: instances on demand, the management fee, requests.");
  for (const auto& p : cost.providers) {
    w.sample({{"capacity_provider", p.name}, {"component", "instances"}}, p.instance_cost);
    w.sample({{"capacity_provider", p.name}, {"component", "fee"}}, p.management_fee);
    w.sample({{"capacity_provider", p.name}, {"component", "requests"}}, p.request_cost);
  }
  w.family("hearth_function_cost_dollars_total", "counter",
           "Cost so far attributed to each function: its CPU share of instances, its requests.");
  for (const auto& f : cost.functions) {
    w.sample({{"capacity_provider", f.capacity_provider}, {"function", f.function}}, f.total());
  }
  return w.take();
}

}  // namespace hearth
