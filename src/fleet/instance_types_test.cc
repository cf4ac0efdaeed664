#include "fleet/instance_types.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace hearth {
namespace {

InstanceCatalog embedded() {
  auto catalog = InstanceCatalog::parse(InstanceCatalog::embeddedJson());
  EXPECT_TRUE(catalog.isOk()) << catalog.status().toString();
  return catalog.isOk() ? *catalog : InstanceCatalog();
}

std::string catalogWith(const std::string& entry) {
  return R"({"instanceTypes":[)" + entry + "]}";
}

constexpr const char* kGoodEntry =
    R"({"name":"m7i.large","family":"m","architecture":"x86_64","vcpus":2,"memoryMiB":8192,)"
    R"("pricePerHour":0.1008})";

// kGoodEntry with `key` set to the raw JSON `value`.
std::string entryWith(const std::string& key, const std::string& value) {
  std::string entry = kGoodEntry;
  size_t start = entry.find("\"" + key + "\":");
  EXPECT_NE(start, std::string::npos);
  start += key.size() + 3;
  size_t end = entry.find_first_of(",}", start);
  return entry.substr(0, start) + value + entry.substr(end);
}

void expectRejected(const std::string& json) {
  auto catalog = InstanceCatalog::parse(json);
  ASSERT_FALSE(catalog.isOk()) << json;
  EXPECT_EQ(catalog.status().code(), StatusCode::kInvalidParameter) << json;
}

TEST(InstanceCatalog, EmbeddedCatalogParses) {
  InstanceCatalog catalog = embedded();
  ASSERT_EQ(catalog.types().size(), 30u);
  std::set<std::string> families;
  for (const InstanceType& type : catalog.types()) {
    families.insert(type.family);
    EXPECT_GT(type.price_per_hour, 0) << type.name;
    EXPECT_GE(type.vcpus, 2) << type.name;
  }
  EXPECT_EQ(families, (std::set<std::string>{"c", "m", "r"}));

  const InstanceType* large = catalog.find("c7i.large");
  ASSERT_NE(large, nullptr);
  EXPECT_EQ(large->family, "c");
  EXPECT_EQ(large->architecture, "x86_64");
  EXPECT_EQ(large->vcpus, 2);
  EXPECT_EQ(large->memory_mib, 4096);
  EXPECT_DOUBLE_EQ(large->price_per_hour, 0.08925);

  const InstanceType* big = catalog.find("r7g.8xlarge");
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(big->architecture, "arm64");
  EXPECT_EQ(big->vcpus, 32);
  EXPECT_EQ(big->memory_mib, 32 * 8 * 1024);

  EXPECT_EQ(catalog.find("t3.micro"), nullptr);
  EXPECT_EQ(catalog.find("C7I.LARGE"), nullptr);
}

TEST(InstanceCatalog, AcceptsAGoodEntry) {
  auto catalog = InstanceCatalog::parse(catalogWith(kGoodEntry));
  ASSERT_TRUE(catalog.isOk()) << catalog.status().toString();
  ASSERT_EQ(catalog->types().size(), 1u);
  EXPECT_EQ(catalog->types()[0].name, "m7i.large");

  auto sized = InstanceCatalog::parse(catalogWith(entryWith("name", R"("m7i.48xlarge")")));
  EXPECT_TRUE(sized.isOk()) << sized.status().toString();
  auto integral_price = InstanceCatalog::parse(catalogWith(entryWith("pricePerHour", "1")));
  EXPECT_TRUE(integral_price.isOk()) << integral_price.status().toString();
}

TEST(InstanceCatalog, RejectsMalformedDocuments) {
  expectRejected("");
  expectRejected("{");
  expectRejected("[]");
  expectRejected(R"({"types":[]})");
  expectRejected(R"({"instanceTypes":{}})");
  expectRejected(R"({"instanceTypes":[]})");
  expectRejected(R"({"instanceTypes":[42]})");
}

TEST(InstanceCatalog, RejectsBadFields) {
  expectRejected(catalogWith(entryWith("name", "7")));
  expectRejected(catalogWith(entryWith("name", R"("m7i")")));
  expectRejected(catalogWith(entryWith("name", R"("m7i.medium")")));
  expectRejected(catalogWith(entryWith("name", R"("m7i.0xlarge")")));
  expectRejected(catalogWith(entryWith("name", R"("m7i.x2large")")));
  expectRejected(catalogWith(entryWith("name", R"("c7i.large")")));  // family mismatch
  expectRejected(catalogWith(entryWith("name", R"(".large")")));
  expectRejected(catalogWith(entryWith("family", R"("t")")));
  expectRejected(catalogWith(entryWith("family", R"("M")")));
  expectRejected(catalogWith(entryWith("architecture", R"("aarch64")")));
  expectRejected(catalogWith(entryWith("vcpus", "0")));
  expectRejected(catalogWith(entryWith("vcpus", "-2")));
  expectRejected(catalogWith(entryWith("vcpus", "2.5")));
  expectRejected(catalogWith(entryWith("vcpus", R"("2")")));
  expectRejected(catalogWith(entryWith("vcpus", "4294967296")));
  expectRejected(catalogWith(entryWith("memoryMiB", "0")));
  expectRejected(catalogWith(entryWith("memoryMiB", "null")));
  expectRejected(catalogWith(entryWith("pricePerHour", "0")));
  expectRejected(catalogWith(entryWith("pricePerHour", "-0.1")));
  expectRejected(catalogWith(entryWith("pricePerHour", R"("cheap")")));
  expectRejected(catalogWith(R"({"name":"m7i.large","family":"m","architecture":"x86_64"})"));
}

TEST(InstanceCatalog, RejectsDuplicateNamesAndNamesTheEntry) {
  auto catalog = InstanceCatalog::parse(catalogWith(std::string(kGoodEntry) + "," + kGoodEntry));
  ASSERT_FALSE(catalog.isOk());
  EXPECT_EQ(catalog.status().code(), StatusCode::kInvalidParameter);
  EXPECT_NE(catalog.status().message().find("entry 1"), std::string::npos);
  EXPECT_NE(catalog.status().message().find("m7i.large"), std::string::npos);
}

TEST(MatchesInstancePattern, MatchesWildcards) {
  EXPECT_TRUE(matchesInstancePattern("m7i.large", "m7i.large"));
  EXPECT_FALSE(matchesInstancePattern("m7i.large", "m7i.xlarge"));
  EXPECT_TRUE(matchesInstancePattern("*", "r7g.2xlarge"));
  EXPECT_TRUE(matchesInstancePattern("*", ""));
  EXPECT_TRUE(matchesInstancePattern("m7i.*", "m7i.8xlarge"));
  EXPECT_FALSE(matchesInstancePattern("m7i.*", "m7g.large"));
  EXPECT_TRUE(matchesInstancePattern("*.8xlarge", "c7g.8xlarge"));
  EXPECT_FALSE(matchesInstancePattern("*.8xlarge", "c7g.large"));
  EXPECT_TRUE(matchesInstancePattern("c*g.*large", "c7g.4xlarge"));
  EXPECT_TRUE(matchesInstancePattern("*x*large", "m7i.2xlarge"));
  EXPECT_FALSE(matchesInstancePattern("*x*large", "m7i.large"));
  EXPECT_TRUE(matchesInstancePattern("**large", "r7i.large"));
  EXPECT_FALSE(matchesInstancePattern("", "m7i.large"));
  EXPECT_FALSE(matchesInstancePattern("M7I.*", "m7i.large"));  // case-sensitive
  EXPECT_FALSE(matchesInstancePattern("m7i", "m7i.large"));
}

std::optional<InstanceType> choose(const InstanceRequirements& requirements, int vcpus,
                                   int64_t memory_mib, double ratio, int preferred = 1) {
  static const InstanceCatalog catalog = embedded();
  return chooseInstanceType(catalog, requirements, {vcpus, memory_mib, ratio}, preferred);
}

std::string nameOf(const std::optional<InstanceType>& type) {
  return type ? type->name : "none";
}

TEST(ChooseInstanceType, PicksTheFamilyByMemoryRatio) {
  InstanceRequirements x86;
  EXPECT_EQ(nameOf(choose(x86, 1, 2048, 2)), "c7i.large");
  EXPECT_EQ(nameOf(choose(x86, 1, 4096, 4)), "m7i.large");
  EXPECT_EQ(nameOf(choose(x86, 1, 8192, 8)), "r7i.large");

  InstanceRequirements arm;
  arm.architecture = "arm64";
  EXPECT_EQ(nameOf(choose(arm, 1, 2048, 2)), "c7g.large");
  EXPECT_EQ(nameOf(choose(arm, 1, 4096, 4)), "m7g.large");
  EXPECT_EQ(nameOf(choose(arm, 1, 8192, 8)), "r7g.large");
}

TEST(ChooseInstanceType, PicksTheCheapestTypeHoldingThePreferredCount) {
  InstanceRequirements x86;
  // 2 vCPU / 8 GiB EEs: m7i.2xlarge (8 vCPU, 32 GiB) holds 4.
  EXPECT_EQ(nameOf(choose(x86, 2, 8192, 4, 3)), "m7i.2xlarge");
  EXPECT_EQ(nameOf(choose(x86, 2, 8192, 4, 4)), "m7i.2xlarge");
  EXPECT_EQ(nameOf(choose(x86, 2, 8192, 4, 5)), "m7i.4xlarge");
  // No type holds 100: the one holding the most.
  EXPECT_EQ(nameOf(choose(x86, 2, 8192, 4, 100)), "m7i.8xlarge");
  // A non-positive preference counts as one.
  EXPECT_EQ(nameOf(choose(x86, 2, 8192, 4, 0)), "m7i.large");
}

TEST(ChooseInstanceType, FallsBackToALargerRatioOnly) {
  InstanceRequirements no_c;
  no_c.excluded = {"c7i.*"};
  EXPECT_EQ(nameOf(choose(no_c, 1, 2048, 2)), "m7i.large");
  // 3 GiB per vCPU has no exact family: the next larger ratio is m.
  InstanceRequirements x86;
  EXPECT_EQ(nameOf(choose(x86, 2, 6144, 3)), "m7i.large");
  // Only c is allowed but the EEs need 4 GiB per vCPU: smaller ratios are never used.
  InstanceRequirements only_c;
  only_c.allowed = {"c7i.large", "c7i.8xlarge"};
  EXPECT_EQ(nameOf(choose(only_c, 1, 4096, 4)), "none");
}

TEST(ChooseInstanceType, HonoursAllowedAndExcluded) {
  InstanceRequirements allowed;
  allowed.allowed = {"m7i.xlarge", "m7i.4xlarge", "r7g.large"};
  EXPECT_EQ(nameOf(choose(allowed, 1, 4096, 4)), "m7i.xlarge");
  EXPECT_EQ(nameOf(choose(allowed, 1, 4096, 4, 8)), "m7i.4xlarge");

  InstanceRequirements excluded;
  excluded.excluded = {"m7i.large", "*.xlarge"};
  EXPECT_EQ(nameOf(choose(excluded, 1, 4096, 4)), "m7i.2xlarge");

  InstanceRequirements wrong_arch;
  wrong_arch.architecture = "arm64";
  wrong_arch.allowed = {"m7i.large"};
  EXPECT_EQ(nameOf(choose(wrong_arch, 1, 4096, 4)), "none");
}

TEST(ChooseInstanceType, ReturnsNulloptWhenNothingFits) {
  InstanceRequirements x86;
  EXPECT_EQ(nameOf(choose(x86, 64, 64 * 2048, 2)), "none");
  EXPECT_EQ(nameOf(choose(x86, 1, 300 * 1024, 8)), "none");
  EXPECT_EQ(nameOf(choose(x86, 0, 2048, 2)), "none");

  InstanceRequirements all_excluded;
  all_excluded.excluded = {"*"};
  EXPECT_EQ(nameOf(choose(all_excluded, 1, 2048, 2)), "none");

  InstanceRequirements unknown_arch;
  unknown_arch.architecture = "riscv64";
  EXPECT_EQ(nameOf(choose(unknown_arch, 1, 2048, 2)), "none");
}

}  // namespace
}  // namespace hearth
