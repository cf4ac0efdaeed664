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

TEST(AliasRecord, RoundTripsAndKnowsWhichVersionsItUses) {
  AliasRecord alias{"live",       "arn:aws:lambda:us-east-1:1:function:fn:live", "1", "d", "rev",
                    {{"2", 0.25}}};
  EXPECT_EQ(AliasRecord::fromJson(alias.toJson()), alias);
  EXPECT_TRUE(alias.uses("1"));
  EXPECT_TRUE(alias.uses("2"));
  EXPECT_FALSE(alias.uses("3"));
  AliasRecord plain{"p", "arn", "4", "", "r", {}};
  EXPECT_FALSE(plain.toJson().contains("RoutingConfig"));
  EXPECT_EQ(AliasRecord::fromJson(boost::json::value(3)), std::nullopt);
}

}  // namespace
}  // namespace hearth
