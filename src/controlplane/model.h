#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace hearth {

// The State of a function or version (FunctionConfiguration.State).
enum class FunctionState {
  kPending,
  kActive,
  kInactive,
  kFailed,
  kActiveNonInvocable,  // $LATEST of a capacity-provider function: configured, not invocable
  kDeactivating,
  kDeactivated,
};
std::string_view functionStateName(FunctionState state);
// nullopt for a name the model does not have.
std::optional<FunctionState> parseFunctionState(std::string_view name);

// A version's requested FunctionScalingConfig.
struct ScalingConfig {
  int64_t min_environments = 3;
  std::optional<int64_t> max_environments;

  bool deactivates() const { return min_environments == 0 && max_environments == 0; }
  // The FunctionScalingConfig shape, for the API and the Store.
  boost::json::object toJson() const;
  // From the Store: members of another type or absent take the defaults.
  static ScalingConfig fromJson(const boost::json::object& o);
  bool operator==(const ScalingConfig&) const = default;
};

// An alias (AliasConfiguration).
struct AliasRecord {
  std::string name;
  std::string arn;
  std::string function_version;
  std::string description;
  std::string revision_id;
  std::map<std::string, double> additional_weights;  // RoutingConfig.AdditionalVersionWeights

  // Whether the alias sends invocations to `version`.
  bool uses(std::string_view version) const {
    return function_version == version || additional_weights.contains(std::string(version));
  }
  // The AliasConfiguration shape, for the API and the Store.
  boost::json::object toJson() const;
  // From the Store; kInternal for a record that is not an object.
  static std::optional<AliasRecord> fromJson(const boost::json::value& v);
  bool operator==(const AliasRecord&) const = default;
};

}  // namespace hearth
