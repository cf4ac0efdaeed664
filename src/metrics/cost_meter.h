#pragma once

#include <map>
#include <string>
#include <vector>

#include "metrics/fleet_sample.h"

namespace hearth {

inline constexpr double kManagementFeeRate = 0.15;       // on top of the instances' price
inline constexpr double kRequestPricePerMillion = 0.20;  // USD

struct ProviderCost {
  std::string name;
  std::map<std::string, double> instance_seconds;  // by instance type
  double instance_cost = 0;                        // on-demand
  double management_fee = 0;                       // kManagementFeeRate of instance_cost
  uint64_t requests = 0;
  double request_cost = 0;
  double total() const { return instance_cost + management_fee + request_cost; }
};

// A function's share: the instance cost (with fee) of the instances its EEs ran on, split by CPU
// used (by vCPUs allocated in a second without CPU use), plus its own requests.
struct FunctionCost {
  std::string function;
  std::string capacity_provider;
  double instance_cost = 0;  // its share, fee included
  uint64_t requests = 0;
  double request_cost = 0;
  double total() const { return instance_cost + request_cost; }
};

struct CostReport {
  double seconds = 0;  // metered so far
  std::vector<ProviderCost> providers;
  std::vector<FunctionCost> functions;
  // Instance cost (with fee) of seconds no EE used: empty instances.
  double unattributed = 0;
  double total() const;
};

// Meters cost from the per-second fleet samples. Pure accumulation: feed every sample once.
// Thread-compatible.
class CostMeter {
 public:
  void add(const FleetSample& sample);
  CostReport report() const;

 private:
  double seconds_ = 0;
  std::map<std::string, ProviderCost> providers_;
  std::map<std::pair<std::string, std::string>, FunctionCost> functions_;  // (provider, function)
  double unattributed_ = 0;
};

}  // namespace hearth
