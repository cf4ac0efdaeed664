#include "metrics/cost_meter.h"

namespace hearth {

double CostReport::total() const {
  double sum = 0;
  for (const auto& p : providers) {
    sum += p.total();
  }
  return sum;
}

void CostMeter::add(const FleetSample& sample) {
  double dt = sample.interval_seconds;
  seconds_ += dt;
  // The EEs on each instance, with the weight each gets of its cost.
  struct Share {
    std::string function;
    double cpu = 0;
    double vcpus = 0;
  };
  std::map<std::string, std::vector<Share>> shares;
  for (const auto& e : sample.environments) {
    shares[e.instance_id].push_back(
        Share{e.function, e.cpu_utilization * e.vcpus, static_cast<double>(e.vcpus)});
  }
  for (const auto& inst : sample.instances) {
    ProviderCost& p = providers_[inst.capacity_provider];
    p.name = inst.capacity_provider;
    p.instance_seconds[inst.type] += dt;
    double cost = inst.price_per_hour * dt / 3600.0;
    p.instance_cost += cost;
    p.management_fee += cost * kManagementFeeRate;
    double with_fee = cost * (1 + kManagementFeeRate);
    auto it = shares.find(inst.id);
    if (it == shares.end() || it->second.empty()) {
      unattributed_ += with_fee;
      continue;
    }
    double cpu_total = 0;
    double vcpu_total = 0;
    for (const auto& s : it->second) {
      cpu_total += s.cpu;
      vcpu_total += s.vcpus;
    }
    for (const auto& s : it->second) {
      double weight = cpu_total > 0 ? s.cpu / cpu_total : s.vcpus / vcpu_total;
      FunctionCost& f = functions_[{inst.capacity_provider, s.function}];
      f.function = s.function;
      f.capacity_provider = inst.capacity_provider;
      f.instance_cost += with_fee * weight;
    }
  }
  for (const auto& v : sample.versions) {
    double cost = static_cast<double>(v.invocations) * kRequestPricePerMillion / 1e6;
    ProviderCost& p = providers_[v.capacity_provider];
    p.name = v.capacity_provider;
    p.requests += v.invocations;
    p.request_cost += cost;
    FunctionCost& f = functions_[{v.capacity_provider, v.function}];
    f.function = v.function;
    f.capacity_provider = v.capacity_provider;
    f.requests += v.invocations;
    f.request_cost += cost;
  }
}

CostReport CostMeter::report() const {
  CostReport out;
  out.seconds = seconds_;
  for (const auto& [name, p] : providers_) {
    out.providers.push_back(p);
  }
  for (const auto& [key, f] : functions_) {
    out.functions.push_back(f);
  }
  out.unattributed = unattributed_;
  return out;
}

}  // namespace hearth
