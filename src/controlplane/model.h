#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
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

}  // namespace hearth
