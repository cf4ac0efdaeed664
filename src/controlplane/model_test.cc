#include "controlplane/model.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "controlplane/capacity_provider.h"
#include "controlplane/function_configuration.h"

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

FunctionConfiguration managedConfiguration() {
  FunctionConfiguration c;
  c.function_name = "fn";
  c.function_arn = "arn:aws:lambda:us-east-1:123456789012:function:fn:2";
  c.runtime = "python3.13";
  c.role = "arn:aws:iam::123456789012:role/r";
  c.handler = "app.handler";
  c.description = "d";
  c.timeout_seconds = 30;
  c.memory_size_mb = 4096;
  c.environment = std::map<std::string, std::string>{{"A", "1"}, {"B", "two"}};
  c.architecture = "arm64";
  c.ephemeral_storage_mb = 1024;
  c.logging = FunctionLoggingConfig{"JSON", "INFO", "WARN", "/aws/lambda/fn"};
  c.managed_instances =
      ManagedInstancesConfig{"arn:aws:lambda:us-east-1:123456789012:capacity-provider:cp", 32, 4.0};
  c.code_sha256 = "abc=";
  c.code_size = 321;
  c.version = "2";
  c.setState(FunctionState::kPending, "Lambda is provisioning execution environments.", "Creating");
  c.last_modified = "2026-12-02T00:00:00.000+0000";
  c.revision_id = "rev-1";
  return c;
}

TEST(FunctionConfiguration, RoundTripsThroughTheStoreShape) {
  FunctionConfiguration c = managedConfiguration();
  EXPECT_EQ(FunctionConfiguration::fromJson(c.toJson()), c);
  EXPECT_EQ(c.capacityProvider(), "cp");
  boost::json::object o = c.toJson();
  EXPECT_EQ(o.at("State").as_string(), "Pending");
  EXPECT_EQ(o.at("StateReasonCode").as_string(), "Creating");
  EXPECT_EQ(o.at("Architectures").as_array().at(0).as_string(), "arm64");
  EXPECT_EQ(o.at("CapacityProviderConfig")
                .at("LambdaManagedInstancesCapacityProviderConfig")
                .at("PerExecutionEnvironmentMaxConcurrency")
                .as_int64(),
            32);
}

TEST(FunctionConfiguration, OptionalMembersStayAbsent) {
  FunctionConfiguration c;
  c.function_name = "plain";
  c.runtime = "provided.al2023";
  c.setState(FunctionState::kActive);
  boost::json::object o = c.toJson();
  for (const char* absent :
       {"Handler", "Environment", "LoggingConfig", "CapacityProviderConfig", "StateReason"}) {
    EXPECT_FALSE(o.contains(absent)) << absent;
  }
  EXPECT_EQ(FunctionConfiguration::fromJson(o), c);
  EXPECT_FALSE(c.runsOnCapacityProvider());
  EXPECT_EQ(c.capacityProvider(), "");
}

TEST(FunctionConfiguration, AStoredRecordOfAnotherShapeKeepsDefaults) {
  auto stored = boost::json::parse(
      R"({"FunctionName":"old","Timeout":"soon","MemorySize":256,"State":"Sleeping",
          "Architectures":[7],"Environment":{"Variables":{"K":"v","N":3}}})");
  FunctionConfiguration c = FunctionConfiguration::fromJson(stored.as_object());
  EXPECT_EQ(c.function_name, "old");
  EXPECT_EQ(c.timeout_seconds, 3);
  EXPECT_EQ(c.memory_size_mb, 256);
  EXPECT_EQ(c.state, FunctionState::kPending);
  EXPECT_EQ(c.architecture, "x86_64");
  ASSERT_TRUE(c.environment);
  EXPECT_EQ(*c.environment, (std::map<std::string, std::string>{{"K", "v"}}));
}

TEST(FunctionConfiguration, SetStateWithoutAReasonClearsIt) {
  FunctionConfiguration c = managedConfiguration();
  c.setState(FunctionState::kActive);
  EXPECT_TRUE(c.state_reason.empty());
  EXPECT_FALSE(c.toJson().contains("StateReasonCode"));
  c.setState(FunctionState::kDeactivated, "deactivated by its scaling config");
  boost::json::object o = c.toJson();
  EXPECT_EQ(o.at("StateReason").as_string(), "deactivated by its scaling config");
  EXPECT_FALSE(o.contains("StateReasonCode"));
}

TEST(CapacityProvider, RoundTripsThroughTheStoreShape) {
  CapacityProvider p;
  p.arn = "arn:aws:lambda:us-east-1:123456789012:capacity-provider:pool";
  p.state = CapacityProviderState::kActive;
  p.subnet_ids = {"subnet-a", "subnet-b", "subnet-c"};
  p.security_group_ids = {"sg-1"};
  p.operator_role_arn = "arn:aws:iam::123456789012:role/op";
  p.architecture = "arm64";
  p.excluded_instance_types = std::vector<std::string>{"r7g.*"};
  p.scaling.max_vcpu_count = 64;
  p.scaling.scaling_mode = "Manual";
  p.scaling.policies = {{"LambdaCapacityProviderAverageCPUUtilization", 55.5}};
  p.kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/k";
  p.propagate_tags = CapacityProvider::PropagateTags{"Explicit", {{{"team", "a"}}}};
  p.telemetry = CapacityProvider::Telemetry{CapacityProvider::Logging{"WARN", std::nullopt}};
  p.last_modified = "2026-12-02T00:00:00.000+0000";
  EXPECT_EQ(CapacityProvider::fromJson(p.toJson()), p);
  EXPECT_EQ(p.name(), "pool");
  boost::json::object o = p.toJson();
  EXPECT_EQ(o.at("State").as_string(), "Active");
  EXPECT_FALSE(o.at("InstanceRequirements").as_object().contains("AllowedInstanceTypes"));
  EXPECT_FALSE(o.at("TelemetryConfig").at("LoggingConfig").as_object().contains("LogGroup"));

  CapacityProvider plain;
  plain.arn = "arn:aws:lambda:us-east-1:123456789012:capacity-provider:p";
  boost::json::object po = plain.toJson();
  for (const char* absent : {"KmsKeyArn", "PropagateTags", "TelemetryConfig"}) {
    EXPECT_FALSE(po.contains(absent)) << absent;
  }
  EXPECT_FALSE(po.at("CapacityProviderScalingConfig").as_object().contains("ScalingPolicies"));
  EXPECT_EQ(CapacityProvider::fromJson(po), plain);
}

TEST(CapacityProviderState, EveryStateRoundTripsItsName) {
  for (auto state : {CapacityProviderState::kPending, CapacityProviderState::kActive,
                     CapacityProviderState::kFailed, CapacityProviderState::kDeleting}) {
    EXPECT_EQ(parseCapacityProviderState(capacityProviderStateName(state)), state);
  }
  EXPECT_EQ(parseCapacityProviderState("Gone"), std::nullopt);
}

}  // namespace
}  // namespace hearth
