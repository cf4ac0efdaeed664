#include "controlplane/model.h"

#include <gtest/gtest.h>

namespace hearth {
namespace {

TEST(FunctionState, EveryStateRoundTripsItsName) {
  for (auto state : {FunctionState::kPending, FunctionState::kActive, FunctionState::kInactive,
                     FunctionState::kFailed, FunctionState::kActiveNonInvocable,
                     FunctionState::kDeactivating, FunctionState::kDeactivated}) {
    EXPECT_EQ(parseFunctionState(functionStateName(state)), state);
  }
  EXPECT_EQ(parseFunctionState("active"), std::nullopt);
}

TEST(ScalingConfig, RoundTripsAndKnowsDeactivation) {
  ScalingConfig config{2, 10};
  EXPECT_EQ(ScalingConfig::fromJson(config.toJson()), config);
  ScalingConfig min_only{5, std::nullopt};
  EXPECT_FALSE(min_only.toJson().contains("MaxExecutionEnvironments"));
  EXPECT_EQ(ScalingConfig::fromJson(min_only.toJson()), min_only);
  EXPECT_TRUE((ScalingConfig{0, 0}).deactivates());
  EXPECT_FALSE((ScalingConfig{0, std::nullopt}).deactivates());
}

}  // namespace
}  // namespace hearth
