#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace hearth {

// One instance type of the catalogue (C/M/R families, .large and up).
struct InstanceType {
  std::string name;          // e.g. "m7i.xlarge"
  std::string family;        // "c", "m" or "r"
  std::string architecture;  // "x86_64" or "arm64"
  int vcpus = 0;
  int64_t memory_mib = 0;
  double price_per_hour = 0;  // on-demand USD
};

// The catalogue is data: a JSON file (instance_types.json), embedded in the binary at build time
// and replaceable at run time with --instance-catalog FILE.
class InstanceCatalog {
 public:
  // Parses the JSON catalogue: {"instanceTypes":[{"name","family","architecture","vcpus",
  // "memoryMiB","pricePerHour"}...]}. Every field is required: name is "<prefix>.<size>" with a
  // prefix of [a-z0-9-] starting with the family letter and a size of large, xlarge or <N>xlarge,
  // unique in the catalogue; family is c, m or r; architecture is x86_64 or arm64; vcpus and
  // memoryMiB are positive integers; pricePerHour is a positive number. Unknown members are
  // ignored. The list must not be empty. Errors: kInvalidParameter naming the offending entry.
  static Result<InstanceCatalog> parse(std::string_view json);
  // The catalogue shipped with Hearth.
  static const char* embeddedJson();

  const std::vector<InstanceType>& types() const { return types_; }
  const InstanceType* find(std::string_view name) const;

 private:
  std::vector<InstanceType> types_;
};

// What an execution environment needs from an instance.
struct EnvironmentSize {
  int vcpus = 1;
  int64_t memory_mib = 2048;
  double memory_gib_per_vcpu = 2;  // the function's ExecutionEnvironmentMemoryGiBPerVCpu
};

// The capacity provider's InstanceRequirements.
struct InstanceRequirements {
  std::string architecture = "x86_64";
  std::vector<std::string> allowed;   // exact names; empty = all
  std::vector<std::string> excluded;  // names, '*' wildcards allowed
};

// Picks the instance type to launch for EEs of `size`. Candidates are the types of
// `requirements.architecture`, in `requirements.allowed` when that is non-empty, and matching no
// `requirements.excluded` pattern. A type holds floor(min(vcpus / size.vcpus,
// memory_mib / size.memory_mib)) EEs of its full vCPUs and memory.
// Candidates are tried in tiers by memory per vCPU (GiB): first the types whose ratio equals
// size.memory_gib_per_vcpu (2 GiB → c, 4 GiB → m, 8 GiB → r), then each larger ratio in ascending
// order; smaller ratios are never used. Within the first tier that has a type holding at least one
// EE, the result is the cheapest type holding `preferred_count` EEs, else the type holding the most
// EEs (the cheapest of those on a tie). Ties in price go to catalogue order. Returns std::nullopt
// when no candidate can hold even one EE, or when size.vcpus or size.memory_mib is not positive.
// A `preferred_count` below 1 counts as 1.
std::optional<InstanceType> chooseInstanceType(const InstanceCatalog& catalog,
                                               const InstanceRequirements& requirements,
                                               const EnvironmentSize& size, int preferred_count);

// True when `name` matches `pattern` ('*' matches any run of characters).
bool matchesInstancePattern(std::string_view pattern, std::string_view name);

}  // namespace hearth
