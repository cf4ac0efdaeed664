#include "protocol/agent_protocol.h"

#include <gtest/gtest.h>

namespace hearth::protocol {
namespace {

TEST(AgentProtocol, EnvironmentSpecRoundTrips) {
  EnvironmentSpec spec;
  spec.function_name = "fn";
  spec.version = "3";
  spec.function_arn = "arn:aws:lambda:us-east-1:123456789012:function:fn:3";
  spec.runtime = "python3.13";
  spec.handler = "app.handler";
  spec.code_sha256_hex = std::string(64, 'a');
  spec.revision_id = "rev-9";
  spec.memory_mb = 4096;
  spec.timeout_seconds = 60;
  spec.max_concurrency = 32;
  spec.vcpus = 2;
  spec.log_group = "/aws/lambda/custom";
  spec.environment = {{"A", "1"}, {"B", "two words"}};
  auto decoded = decodeEnvironmentSpec(encode(spec));
  ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
  EXPECT_EQ(*decoded, spec);
}

TEST(AgentProtocol, EnvironmentSpecRefusesMissingMembersAndBadNumbers) {
  EXPECT_FALSE(decodeEnvironmentSpec("[]").isOk());
  EXPECT_FALSE(decodeEnvironmentSpec("not json").isOk());
  EXPECT_FALSE(decodeEnvironmentSpec(R"({"runtime":"python3.13","codeSha256Hex":"ab"})").isOk());
  std::string base = R"({"functionName":"f","runtime":"python3.13","codeSha256Hex":"ab",)";
  EXPECT_FALSE(decodeEnvironmentSpec(base + R"("maxConcurrency":0})").isOk());
  EXPECT_FALSE(decodeEnvironmentSpec(base + R"("maxConcurrency":18446744073709551615})").isOk());
  EXPECT_FALSE(decodeEnvironmentSpec(base + R"("timeoutSeconds":-1})").isOk());
  EXPECT_TRUE(decodeEnvironmentSpec(base + R"("vcpus":2})").isOk());
}

TEST(AgentProtocol, RegistrationRoundTripsAndChecksTheAddress) {
  Registration r{"i-1", "127.0.0.1", 4567, "zone-a", "m7i.large", 2, 8192, 1234};
  auto decoded = decodeRegistration(encode(r));
  ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
  EXPECT_EQ(*decoded, r);
  for (const char* address :
       {"127.0.0.1", "127.0.0.1:", "127.0.0.1:99999", "127.0.0.1:12x", ":80", "127.0.0.1:0"}) {
    std::string body = std::string(R"({"instanceId":"i-1","address":")") + address + "\"}";
    EXPECT_FALSE(decodeRegistration(body).isOk()) << address;
  }
  auto reply = decodeRegistrationReply(encode(RegistrationReply{250}));
  ASSERT_TRUE(reply.isOk());
  EXPECT_EQ(reply->heartbeat_interval_ms, 250);
}

TEST(AgentProtocol, HeartbeatRoundTrips) {
  Heartbeat hb;
  hb.instance_id = "i-1";
  hb.environments.push_back(
      {"ee-1", EnvironmentPhase::kReady, 3, 8, 120, "", "", 1 << 20, 0.25, std::nullopt});
  hb.environments.push_back({"ee-2", EnvironmentPhase::kInitFailed, 0, 8, 0, "Runtime.ExitError",
                             "exited", std::nullopt, std::nullopt, std::nullopt});
  hb.environments.push_back({"ee-3", EnvironmentPhase::kDraining, 1, 8, 5, "", "", std::nullopt,
                             std::nullopt,
                             EnvironmentIdentity{"fn", "2", "abc", "rev", 2, 4096, 32, 60}});
  auto decoded = decodeHeartbeat(encode(hb));
  ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
  EXPECT_EQ(*decoded, hb);
  EXPECT_FALSE(
      decodeHeartbeat(R"({"instanceId":"i-1","environments":[{"id":"e","state":"Odd"}]})").isOk());
  EXPECT_FALSE(decodeHeartbeat(R"({"environments":[]})").isOk());

  HeartbeatReply reply{{"ee-9", "ee-10"}};
  auto decoded_reply = decodeHeartbeatReply(encode(reply));
  ASSERT_TRUE(decoded_reply.isOk());
  EXPECT_EQ(*decoded_reply, reply);
}

TEST(AgentProtocol, EveryPhaseHasAName) {
  for (auto phase :
       {EnvironmentPhase::kStarting, EnvironmentPhase::kReady, EnvironmentPhase::kInitFailed,
        EnvironmentPhase::kExited, EnvironmentPhase::kDraining}) {
    Heartbeat hb{"i", {{"e", phase, 0, 1, 0, "", "", std::nullopt, std::nullopt, std::nullopt}}};
    auto decoded = decodeHeartbeat(encode(hb));
    ASSERT_TRUE(decoded.isOk());
    EXPECT_EQ(decoded->environments[0].phase, phase);
  }
}

TEST(AgentProtocol, LogBatchRoundTrips) {
  LogBatch batch{"i-1", 7, {{"fn", "1", "ee-1", R"({"message":"hi"})"}, {"fn", "2", "ee-2", "x"}}};
  auto decoded = decodeLogBatch(encode(batch));
  ASSERT_TRUE(decoded.isOk());
  EXPECT_EQ(*decoded, batch);
}

TEST(AgentProtocol, LogLinesThatAreNotUtf8StillMakeAParsableBatch) {
  LogBatch batch{"i-1", 0, {{"fn", "1", "ee-1", std::string("ok \xC0\xAF cut \xE2\x82") + "\xF0"}}};
  auto decoded = decodeLogBatch(encode(batch));
  ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
  EXPECT_EQ(decoded->lines[0].line,
            "ok \xEF\xBF\xBD\xEF\xBF\xBD cut \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  LogBatch fine{"i-1", 0, {{"fn", "1", "ee-1", "żółw ✓ 🔥"}}};
  EXPECT_EQ(decodeLogBatch(encode(fine))->lines[0].line, "żółw ✓ 🔥");
}

TEST(AgentProtocol, StopTargetCarriesTheDrainDeadline) {
  EXPECT_EQ(stopTarget("ee-1", 12000), "/agent/v1/environments/ee-1?drainMs=12000");
  EXPECT_EQ(stopTarget("ee-1", -5), "/agent/v1/environments/ee-1?drainMs=0");
}

}  // namespace
}  // namespace hearth::protocol
