// libFuzzer target: arbitrary bytes as the JSON body of CreateCapacityProvider, CreateFunction,
// PutFunctionScalingConfig, CreateAlias and UpdateAlias. Request parsing and validation must
// return a Status for every input, never crash or throw. The seeds and the dictionary
// (test/fuzz/json.dict) hold numbers at the edges of every integer type.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string_view>

#include "artifact/code_store.h"
#include "common/clock.h"
#include "controlplane/capacity_providers.h"
#include "controlplane/functions.h"
#include "controlplane/json_fields.h"
#include "store/memory_store.h"

namespace {

struct Harness {
  Harness() {
    dir = std::filesystem::temp_directory_path() / "hearth-json-fuzz";
    std::filesystem::create_directories(dir);
    store = hearth::makeMemoryStore();
    code = std::move(hearth::CodeStore::open((dir / "code").string())).value();
    providers = std::make_unique<hearth::CapacityProviderRegistry>(store.get(), &clock, account);
    functions = std::make_unique<hearth::FunctionRegistry>(store.get(), code.get(), providers.get(),
                                                           &clock, account);
    // A function on a provider with versions 1 and 2 and an alias, for the version-scoped
    // operations to reach their validation.
    auto provider = hearth::parseJsonObject(
        R"({"CapacityProviderName":"fuzz-pool","VpcConfig":{"SubnetIds":["a","b","c"]},)"
        R"("PermissionsConfig":{"CapacityProviderOperatorRoleArn":"arn:aws:iam::123456789012:role/op"}})");
    providers->create(*provider).status().permitUnchecked();
    auto function = hearth::parseJsonObject(
        R"({"FunctionName":"f","Runtime":"python3.13","Handler":"app.handler",)"
        R"("Role":"arn:aws:iam::123456789012:role/r","MemorySize":2048,)"
        R"("Code":{"ZipFile":"UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="},"CapacityProviderConfig":)"
        R"({"LambdaManagedInstancesCapacityProviderConfig":{"CapacityProviderArn":)"
        R"("arn:aws:lambda:us-east-1:123456789012:capacity-provider:fuzz-pool"}}})");
    functions->createFunction(*function).status().permitUnchecked();
    functions->publishVersion("f", {}).status().permitUnchecked();
    functions->updateFunctionConfiguration("f", {{"Description", "2"}}).status().permitUnchecked();
    functions->publishVersion("f", {}).status().permitUnchecked();
    functions->createAlias("f", {{"Name", "live"}, {"FunctionVersion", "1"}})
        .status()
        .permitUnchecked();
  }
  std::filesystem::path dir;
  hearth::FakeClock clock;
  hearth::AccountContext account;
  hearth::StorePtr store;
  std::unique_ptr<hearth::CodeStore> code;
  std::unique_ptr<hearth::CapacityProviderRegistry> providers;
  std::unique_ptr<hearth::FunctionRegistry> functions;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Harness* harness = new Harness();
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto parsed = hearth::parseJsonObject(body);
  if (!parsed.isOk()) {
    return 0;
  }
  harness->providers->create(*parsed).status().permitUnchecked();
  harness->functions->createFunction(*parsed).status().permitUnchecked();
  harness->functions->putScalingConfig("f", std::string("1"), *parsed).status().permitUnchecked();
  harness->functions->createAlias("f", *parsed).status().permitUnchecked();
  harness->functions->updateAlias("f", "live", *parsed).status().permitUnchecked();
  return 0;
}
