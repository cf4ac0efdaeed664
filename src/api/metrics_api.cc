#include "api/metrics_api.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>

#include "api/aws_error.h"
#include "api/replies.h"
#include "common/clock.h"
#include "metrics/fleet_metrics.h"
#include "metrics/prometheus.h"

namespace hearth {
namespace json = boost::json;

namespace {

int64_t epochMillis(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

json::object environmentJson(const EnvironmentSample& e) {
  return {{"Id", e.id},
          {"FunctionName", e.function},
          {"Version", e.version},
          {"InstanceId", e.instance_id},
          {"State", e.state},
          {"ExecutionEnvironmentConcurrency", e.concurrency},
          {"ExecutionEnvironmentConcurrencyLimit", e.concurrency_limit},
          {"CPUUtilization", e.cpu_utilization * 100},
          {"MemoryUsedBytes", e.memory_used_bytes},
          {"MemoryLimitBytes", e.memory_limit_bytes},
          {"VCpus", e.vcpus}};
}

json::object instanceJson(const InstanceSample& i) {
  return {{"InstanceId", i.id},
          {"CapacityProviderName", i.capacity_provider},
          {"Zone", i.zone},
          {"InstanceType", i.type},
          {"State", i.state},
          {"VCpus", i.vcpus},
          {"MemoryMiB", i.memory_mib},
          {"vCPUAllocated", i.vcpus_allocated},
          {"vCPUAvailable", i.vcpus - i.vcpus_allocated},
          {"MemoryAllocatedMiB", i.memory_allocated_mib},
          {"MemoryAvailableMiB", i.memory_mib - i.memory_allocated_mib},
          {"CPUUtilization", i.cpu_utilization * 100},
          {"MemoryUsedBytes", i.memory_used_bytes},
          {"ExecutionEnvironments", i.environments},
          {"PricePerHour", i.price_per_hour},
          {"AgeSeconds", i.age_seconds}};
}

json::object versionJson(const VersionSample& v) {
  return {{"FunctionName", v.function},
          {"Version", v.version},
          {"CapacityProviderName", v.capacity_provider},
          {"Invocations", v.invocations},
          {"Errors", v.function_errors},
          {"ConcurrencyThrottles", v.concurrency_throttles},
          {"DeliveryFailures", v.other_failures},
          {"RequestRate", v.request_rate},
          {"LatencyP50Ms", v.latency_p50_ms},
          {"LatencyP99Ms", v.latency_p99_ms},
          {"ConcurrencyInUse", v.busy_concurrency},
          {"MeanLatencyMs", v.mean_latency_ms},
          {"InFlight", v.in_flight},
          {"ConcurrencyLimit", v.concurrency_limit},
          {"CpuVCpusBusy", v.cpu_vcpus},
          {"ReadyExecutionEnvironments", v.ready},
          {"StartingExecutionEnvironments", v.starting},
          {"DrainingExecutionEnvironments", v.draining},
          {"DesiredExecutionEnvironments", v.desired},
          {"RecommendedExecutionEnvironments", v.recommended},
          {"PerExecutionEnvironmentMaxConcurrency", v.max_concurrency}};
}

json::object providerJson(const ProviderSample& p) {
  return {{"CapacityProviderName", p.name},
          {"Instances", p.instances},
          {"VCpus", p.vcpus},
          {"MaxVCpuCount", p.max_vcpus},
          {"vCPUAllocated", p.vcpus_allocated},
          {"vCPUAvailable", p.vcpus - p.vcpus_allocated},
          {"CPUUtilization", p.cpu_utilization * 100},
          {"PricePerHour", p.price_per_hour}};
}

template <typename Row, typename Fn>
json::array rows(const std::vector<Row>& in, Fn&& fn) {
  json::array out;
  for (const auto& row : in) {
    out.emplace_back(fn(row));
  }
  return out;
}

json::object sampleJson(const FleetSample& s, bool with_environments) {
  json::object out{{"Time", formatIso8601(s.wall)},
                   {"EpochMillis", epochMillis(s.wall)},
                   {"IntervalSeconds", s.interval_seconds},
                   {"CapacityProviders", rows(s.providers, providerJson)},
                   {"Instances", rows(s.instances, instanceJson)},
                   {"Versions", rows(s.versions, versionJson)}};
  if (with_environments) {
    out["ExecutionEnvironments"] = rows(s.environments, environmentJson);
  }
  return out;
}

json::object activityJson(const ActivityEntry& e) {
  json::object inputs;
  for (const auto& [name, value] : e.inputs) {
    inputs[name] = value;
  }
  json::object out{{"Sequence", e.sequence},
                   {"Time", formatIso8601(e.wall)},
                   {"Kind", e.kind},
                   {"CapacityProviderName", e.capacity_provider},
                   {"FunctionName", e.function},
                   {"Version", e.version},
                   {"Subject", e.subject},
                   {"From", e.from},
                   {"To", e.to},
                   {"Reason", e.reason},
                   {"Inputs", std::move(inputs)}};
  return out;
}

json::object costJson(const CostReport& r) {
  json::array providers;
  for (const auto& p : r.providers) {
    json::object seconds;
    for (const auto& [type, s] : p.instance_seconds) {
      seconds[type] = s;
    }
    providers.emplace_back(json::object{{"CapacityProviderName", p.name},
                                        {"InstanceSeconds", std::move(seconds)},
                                        {"InstanceCost", p.instance_cost},
                                        {"ManagementFee", p.management_fee},
                                        {"Requests", p.requests},
                                        {"RequestCost", p.request_cost},
                                        {"Total", p.total()}});
  }
  json::array functions;
  for (const auto& f : r.functions) {
    functions.emplace_back(json::object{{"FunctionName", f.function},
                                        {"CapacityProviderName", f.capacity_provider},
                                        {"InstanceCost", f.instance_cost},
                                        {"Requests", f.requests},
                                        {"RequestCost", f.request_cost},
                                        {"Total", f.total()}});
  }
  return {{"MeteredSeconds", r.seconds},
          {"Currency", "USD"},
          {"ManagementFeeRate", kManagementFeeRate},
          {"RequestPricePerMillion", kRequestPricePerMillion},
          {"CapacityProviders", std::move(providers)},
          {"Functions", std::move(functions)},
          {"Unattributed", r.unattributed},
          {"Total", r.total()}};
}

// A non-negative integer query parameter, `fallback` when absent; nullopt when malformed.
std::optional<int64_t> countParam(const ParsedTarget& target, std::string_view name,
                                  int64_t fallback) {
  const std::string* value = target.param(name);
  if (value == nullptr) {
    return fallback;
  }
  int64_t out = 0;
  auto [ptr, ec] = std::from_chars(value->data(), value->data() + value->size(), out);
  if (ec != std::errc() || ptr != value->data() + value->size() || out < 0) {
    return std::nullopt;
  }
  return out;
}

}  // namespace

std::optional<HttpResponse> serveMetrics(const FleetMetrics& metrics, const HttpRequest& request,
                                         const std::string& request_id) {
  ParsedTarget target;
  if (!parseTarget(request.target, &target)) {
    return std::nullopt;
  }
  const std::string& path = target.path;
  bool ours = path == "/metrics" || path == "/_hearth/v1/metrics" ||
              path == "/_hearth/v1/metrics/history" || path == "/_hearth/v1/activity" ||
              path == "/_hearth/v1/cost";
  if (!ours) {
    return std::nullopt;
  }
  if (request.method != "GET") {
    HttpResponse response = renderAwsError(
        Status(StatusCode::kUnknownOperation, path + " answers GET only"), request_id);
    return response;
  }
  auto bad = [&](std::string_view name) {
    return renderAwsError(invalidParameter(fmt::format("{} must be a non-negative integer", name)),
                          request_id);
  };
  if (path == "/metrics") {
    FleetSamplePtr latest = metrics.history().latest();
    HttpResponse response;
    response.status = 200;
    response.set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    response.body = renderPrometheus(latest.get(), metrics.totals(), metrics.cost());
    return response;
  }
  if (path == "/_hearth/v1/metrics") {
    FleetSamplePtr latest = metrics.history().latest();
    if (!latest) {
      return jsonResponse(200, json::object{{"Time", nullptr}}, request_id);
    }
    return jsonResponse(200, sampleJson(*latest, true), request_id);
  }
  if (path == "/_hearth/v1/metrics/history") {
    auto seconds = countParam(target, "seconds", 60);
    if (!seconds) {
      return bad("seconds");
    }
    const std::string* function = target.param("function");
    json::array samples;
    for (const auto& s :
         metrics.history().newest(static_cast<size_t>(std::min<int64_t>(*seconds, 100000)))) {
      json::object row = sampleJson(*s, false);
      if (function != nullptr) {
        json::array versions;
        for (const auto& v : s->versions) {
          if (v.function == *function) {
            versions.emplace_back(versionJson(v));
          }
        }
        row["Versions"] = std::move(versions);
      }
      samples.emplace_back(std::move(row));
    }
    return jsonResponse(200, json::object{{"Samples", std::move(samples)}}, request_id);
  }
  if (path == "/_hearth/v1/activity") {
    auto after = countParam(target, "after", 0);
    auto limit = countParam(target, "limit", 100);
    if (!after) {
      return bad("after");
    }
    if (!limit) {
      return bad("limit");
    }
    size_t max = static_cast<size_t>(std::clamp<int64_t>(*limit, 1, 2000));
    auto entries = target.param("after") != nullptr
                       ? metrics.activity().after(static_cast<uint64_t>(*after), max)
                       : metrics.activity().newest(max);
    uint64_t next = entries.empty() ? static_cast<uint64_t>(*after) : entries.back().sequence;
    return jsonResponse(200, json::object{{"Entries", rows(entries, activityJson)}, {"Next", next}},
                        request_id);
  }
  return jsonResponse(200, costJson(metrics.cost()), request_id);
}

}  // namespace hearth
