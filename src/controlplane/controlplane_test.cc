#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <filesystem>

#include "artifact/code_store.h"
#include "artifact/encoding.h"
#include "artifact/zip_writer.h"
#include "controlplane/capacity_providers.h"
#include "controlplane/function_config.h"
#include "controlplane/functions.h"
#include "controlplane/tags.h"
#include "store/memory_store.h"

namespace hearth {
namespace {
namespace json = boost::json;

json::object parse(std::string_view text) {
  return json::parse(text).as_object();
}

class ControlPlaneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("hearth-cp-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    store_ = makeMemoryStore();
    code_ = std::move(CodeStore::open((dir_ / "code").string())).value();
    providers_ = std::make_unique<CapacityProviderRegistry>(store_.get(), &clock_, account_);
    functions_ = std::make_unique<FunctionRegistry>(store_.get(), code_.get(), providers_.get(),
                                                    &clock_, account_);
    functions_->setCodeGcGrace(std::chrono::seconds(0));
    tags_ = std::make_unique<TagRegistry>(functions_.get(), providers_.get(), account_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void createProvider(const std::string& name) {
    auto created = providers_->create(parse(R"({"CapacityProviderName":")" + name + R"(",
        "VpcConfig":{"SubnetIds":["a","b","c"]},
        "PermissionsConfig":{"CapacityProviderOperatorRoleArn":"arn:aws:iam::123456789012:role/op"}})"));
    ASSERT_TRUE(created.isOk()) << created.status().toString();
  }

  json::object functionRequest(const std::string& name, const std::string& provider = "") {
    std::string zip = buildZip({{"index.py", "def handler(e, c):\n  return e\n", false}});
    json::object request{{"FunctionName", name},
                         {"Runtime", "python3.13"},
                         {"Handler", "index.handler"},
                         {"Role", "arn:aws:iam::123456789012:role/r"},
                         {"Code", json::object{{"ZipFile", base64Encode(zip)}}}};
    if (!provider.empty()) {
      request["MemorySize"] = 2048;
      request["CapacityProviderConfig"] = json::object{
          {"LambdaManagedInstancesCapacityProviderConfig",
           json::object{{"CapacityProviderArn", account_.capacityProviderArn(provider)}}}};
    }
    return request;
  }

  std::filesystem::path dir_;
  FakeClock clock_;
  AccountContext account_;
  StorePtr store_;
  std::unique_ptr<CodeStore> code_;
  std::unique_ptr<CapacityProviderRegistry> providers_;
  std::unique_ptr<FunctionRegistry> functions_;
  std::unique_ptr<TagRegistry> tags_;
};

TEST_F(ControlPlaneTest, CapacityProviderLifecycle) {
  createProvider("pool");
  auto got = providers_->get("pool");
  ASSERT_TRUE(got.isOk());
  EXPECT_EQ(got->at("CapacityProvider").at("State").as_string(), "Pending");
  EXPECT_EQ(got->at("CapacityProvider").at("CapacityProviderScalingConfig").at("MaxVCpuCount"),
            400);
  ASSERT_TRUE(providers_->activatePending().isOk());
  got = providers_->get(account_.capacityProviderArn("pool"));
  ASSERT_TRUE(got.isOk());
  EXPECT_EQ(got->at("CapacityProvider").at("State").as_string(), "Active");

  auto duplicate = providers_->create(parse(R"({"CapacityProviderName":"pool",
      "VpcConfig":{"SubnetIds":["a"]},
      "PermissionsConfig":{"CapacityProviderOperatorRoleArn":"arn:aws:iam::123456789012:role/op"}})"));
  EXPECT_EQ(duplicate.status().code(), StatusCode::kConflict);

  auto removed = providers_->remove("pool");
  ASSERT_TRUE(removed.isOk());
  EXPECT_EQ(providers_->get("pool").status().code(), StatusCode::kNotFound);
}

TEST_F(ControlPlaneTest, CapacityProviderValidation) {
  auto bad_vcpu = providers_->create(parse(R"({"CapacityProviderName":"p",
      "VpcConfig":{"SubnetIds":["a"]},
      "PermissionsConfig":{"CapacityProviderOperatorRoleArn":"arn:aws:iam::123456789012:role/op"},
      "CapacityProviderScalingConfig":{"MaxVCpuCount":1}})"));
  EXPECT_EQ(bad_vcpu.status().code(), StatusCode::kValidation);
  auto no_vpc = providers_->create(parse(R"({"CapacityProviderName":"p",
      "PermissionsConfig":{"CapacityProviderOperatorRoleArn":"arn:aws:iam::123456789012:role/op"}})"));
  EXPECT_EQ(no_vpc.status().code(), StatusCode::kValidation);
  auto wrong_type = providers_->create(parse(R"({"CapacityProviderName":5})"));
  EXPECT_EQ(wrong_type.status().code(), StatusCode::kInvalidRequestContent);
  EXPECT_TRUE(store_->list("", "", 10)->empty());
}

TEST_F(ControlPlaneTest, CreateFunctionReportsAwsCodeSha) {
  json::object request = functionRequest("fn");
  std::string zip = *base64Decode(request["Code"].as_object()["ZipFile"].as_string());
  auto created = functions_->createFunction(request);
  ASSERT_TRUE(created.isOk()) << created.status().toString();
  EXPECT_EQ(created->at("CodeSha256").as_string(), base64Encode(sha256Raw(zip)));
  EXPECT_EQ(created->at("CodeSize").as_int64(), static_cast<int64_t>(zip.size()));
  EXPECT_EQ(created->at("Version").as_string(), "$LATEST");
  EXPECT_EQ(created->at("MemorySize").as_int64(), 128);
  EXPECT_EQ(created->at("Timeout").as_int64(), 3);
  EXPECT_EQ(created->at("State").as_string(), "Active");
  EXPECT_EQ(functions_->createFunction(request).status().code(), StatusCode::kConflict);
}

TEST_F(ControlPlaneTest, FailedCreateLeavesNothingBehind) {
  json::object request = functionRequest("fn");
  request["Code"].as_object()["ZipFile"] = base64Encode("this is not a zip");
  EXPECT_EQ(functions_->createFunction(request).status().code(), StatusCode::kInvalidParameter);
  EXPECT_TRUE(code_->listHex().empty());
  EXPECT_TRUE(store_->list("", "", 10)->empty());

  request = functionRequest("fn");
  request["Timeout"] = 901;
  EXPECT_EQ(functions_->createFunction(request).status().code(), StatusCode::kValidation);
  EXPECT_TRUE(code_->listHex().empty());
}

TEST_F(ControlPlaneTest, ManagedFunctionsNeedTwoGigabytesAndAKnownProvider) {
  createProvider("pool");
  json::object request = functionRequest("fn", "pool");
  request["MemorySize"] = 1024;
  EXPECT_EQ(functions_->createFunction(request).status().code(), StatusCode::kInvalidParameter);
  request = functionRequest("fn", "missing");
  EXPECT_EQ(functions_->createFunction(request).status().code(), StatusCode::kInvalidParameter);
  request = functionRequest("fn", "pool");
  request["CapacityProviderConfig"]
      .as_object()["LambdaManagedInstancesCapacityProviderConfig"]
      .as_object()["ExecutionEnvironmentMemoryGiBPerVCpu"] = 3;
  EXPECT_EQ(functions_->createFunction(request).status().code(), StatusCode::kInvalidParameter);
  request = functionRequest("fn", "pool");
  auto created = functions_->createFunction(request);
  ASSERT_TRUE(created.isOk()) << created.status().toString();
  EXPECT_EQ(created->at("State").as_string(), "ActiveNonInvocable");
  EXPECT_EQ(created->at("LoggingConfig").at("LogFormat").as_string(), "JSON");
}

// The 100-versions quota counts published versions, as ListFunctionVersionsByCapacityProvider
// lists them: functions that were never published count for nothing.
TEST_F(ControlPlaneTest, TheVersionQuotaCountsPublishedVersionsOnly) {
  createProvider("pool");
  for (int i = 0; i < 101; ++i) {
    auto created = functions_->createFunction(functionRequest("f" + std::to_string(i), "pool"));
    ASSERT_TRUE(created.isOk()) << i << ": " << created.status().toString();
  }
  auto listed = providers_->listFunctionVersions("pool", std::nullopt, std::nullopt);
  ASSERT_TRUE(listed.isOk());
  EXPECT_TRUE(listed->at("FunctionVersions").as_array().empty());
  for (int i = 0; i < 100; ++i) {
    if (i > 0) {
      ASSERT_TRUE(functions_
                      ->updateFunctionConfiguration(
                          "f0", json::object{{"Description", "v" + std::to_string(i)}})
                      .isOk());
    }
    auto published = functions_->publishVersion("f0", json::object{});
    ASSERT_TRUE(published.isOk()) << i << ": " << published.status().toString();
  }
  auto over = functions_->publishVersion("f1", json::object{});
  ASSERT_FALSE(over.isOk());
  EXPECT_EQ(over.status().code(), StatusCode::kLimitExceeded);
  ASSERT_TRUE(functions_->deleteFunction("f0", std::string("1")).isOk());
  auto freed = functions_->publishVersion("f1", json::object{});
  EXPECT_TRUE(freed.isOk()) << freed.status().toString();
}

TEST_F(ControlPlaneTest, PublishVersionsAliasesAndScalingConfig) {
  createProvider("pool");
  ASSERT_TRUE(functions_->createFunction(functionRequest("fn", "pool")).isOk());
  auto v1 = functions_->publishVersion("fn", json::object{});
  ASSERT_TRUE(v1.isOk()) << v1.status().toString();
  EXPECT_EQ(v1->at("Version").as_string(), "1");
  EXPECT_EQ(v1->at("State").as_string(), "Pending");
  // Unchanged $LATEST publishes nothing new.
  auto again = functions_->publishVersion("fn", json::object{});
  ASSERT_TRUE(again.isOk());
  EXPECT_EQ(again->at("Version").as_string(), "1");
  ASSERT_TRUE(functions_->updateFunctionConfiguration("fn", parse(R"({"Timeout":10})")).isOk());
  auto v2 = functions_->publishVersion("fn", json::object{});
  ASSERT_TRUE(v2.isOk());
  EXPECT_EQ(v2->at("Version").as_string(), "2");

  auto latest_published =
      functions_->publishVersion("fn", parse(R"({"PublishTo":"LATEST_PUBLISHED"})"));
  ASSERT_TRUE(latest_published.isOk()) << latest_published.status().toString();
  EXPECT_EQ(latest_published->at("Version").as_string(), "$LATEST.PUBLISHED");
  EXPECT_TRUE(functions_->getFunctionConfiguration("fn", std::string("$LATEST.PUBLISHED")).isOk());

  auto alias = functions_->createAlias("fn", parse(R"({"Name":"live","FunctionVersion":"1",
                      "RoutingConfig":{"AdditionalVersionWeights":{"2":0.25}}})"));
  ASSERT_TRUE(alias.isOk()) << alias.status().toString();
  EXPECT_EQ(functions_->deleteFunction("fn", std::string("2")).status().code(),
            StatusCode::kConflict);
  auto resolved = functions_->resolveVersion("fn", std::string("live"));
  ASSERT_TRUE(resolved.isOk());
  EXPECT_EQ(resolved->config.version, "1");

  auto put = functions_->putScalingConfig(
      "fn", std::string("1"),
      parse(
          R"({"FunctionScalingConfig":{"MinExecutionEnvironments":2,"MaxExecutionEnvironments":5}})"));
  ASSERT_TRUE(put.isOk()) << put.status().toString();
  auto bad = functions_->putScalingConfig(
      "fn", std::string("1"),
      parse(
          R"({"FunctionScalingConfig":{"MinExecutionEnvironments":0,"MaxExecutionEnvironments":5}})"));
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidParameter);
  auto got = functions_->getScalingConfig("fn", std::string("1"));
  ASSERT_TRUE(got.isOk());
  EXPECT_EQ(got->at("AppliedFunctionScalingConfig").at("MaxExecutionEnvironments"), 5);

  auto listed = providers_->listFunctionVersions("pool", std::nullopt, 2);
  ASSERT_TRUE(listed.isOk());
  EXPECT_EQ(listed->at("FunctionVersions").as_array().size(), 2u);
  ASSERT_TRUE(listed->contains("NextMarker"));
  auto rest = providers_->listFunctionVersions(
      "pool", std::string(listed->at("NextMarker").as_string()), 2);
  ASSERT_TRUE(rest.isOk());
  EXPECT_EQ(rest->at("FunctionVersions").as_array().size(), 1u);

  EXPECT_EQ(providers_->remove("pool").status().code(), StatusCode::kConflict);
  auto deleted = functions_->deleteFunction("fn", std::nullopt);
  ASSERT_TRUE(deleted.isOk());
  EXPECT_TRUE(deleted->asynchronous);  // a capacity-provider function: AWS answers 202
  EXPECT_TRUE(providers_->remove("pool").isOk());
  ASSERT_TRUE(functions_->collectGarbageCode().isOk());
  EXPECT_TRUE(code_->listHex().empty());
}

TEST_F(ControlPlaneTest, RevisionIdGuardsUpdates) {
  auto created = functions_->createFunction(functionRequest("fn"));
  ASSERT_TRUE(created.isOk());
  auto stale = functions_->updateFunctionConfiguration(
      "fn", parse(R"({"Description":"x","RevisionId":"not-the-revision"})"));
  EXPECT_EQ(stale.status().code(), StatusCode::kPreconditionFailed);
  json::object fresh{{"Description", "y"}, {"RevisionId", created->at("RevisionId")}};
  auto updated = functions_->updateFunctionConfiguration("fn", fresh);
  ASSERT_TRUE(updated.isOk());
  EXPECT_NE(updated->at("RevisionId"), created->at("RevisionId"));
}

TEST_F(ControlPlaneTest, ListFunctionsPages) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(functions_->createFunction(functionRequest("fn" + std::to_string(i))).isOk());
  }
  std::vector<std::string> names;
  std::optional<std::string> marker;
  for (int page = 0; page < 10; ++page) {
    auto listed = functions_->listFunctions(marker, 2, std::nullopt);
    ASSERT_TRUE(listed.isOk());
    for (const auto& f : listed->at("Functions").as_array()) {
      names.emplace_back(f.at("FunctionName").as_string());
    }
    if (!listed->contains("NextMarker")) {
      break;
    }
    marker = std::string(listed->at("NextMarker").as_string());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"fn0", "fn1", "fn2", "fn3", "fn4"}));
}

TEST_F(ControlPlaneTest, TagsOnFunctionsAndProviders) {
  createProvider("pool");
  ASSERT_TRUE(functions_->createFunction(functionRequest("fn")).isOk());
  for (const std::string& arn :
       {account_.functionArn("fn"), account_.capacityProviderArn("pool")}) {
    ASSERT_TRUE(tags_->tagResource(arn, parse(R"({"Tags":{"a":"1","b":"2"}})")).isOk());
    ASSERT_TRUE(tags_->untagResource(arn, {"a"}).isOk());
    auto listed = tags_->listTags(arn);
    ASSERT_TRUE(listed.isOk());
    EXPECT_EQ(json::serialize(listed->at("Tags")), R"({"b":"2"})");
  }
  EXPECT_EQ(tags_->listTags(account_.functionArn("nope")).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace hearth
