// libFuzzer target: arbitrary bytes as the JSON body of CreateCapacityProvider and CreateFunction.
// Request parsing and validation must return a Status for every input, never crash or throw.
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
  return 0;
}
