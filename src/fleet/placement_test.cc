#include "fleet/placement.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace hearth {
namespace {

const std::vector<std::string> kZones = {"subnet-a", "subnet-b", "subnet-c"};

InstanceType m7iLarge() {
  return {"m7i.large", "m", "x86_64", 2, 8192, 0.1008};
}
InstanceType m7i2xlarge() {
  return {"m7i.2xlarge", "m", "x86_64", 8, 32768, 0.4032};
}

// 1 vCPU and 4 GiB per EE.
PlacementRequest request(int count, std::map<std::string, int> existing_per_zone = {}) {
  PlacementRequest r;
  r.size = {1, 4096, 4};
  r.count = count;
  r.existing_per_zone = std::move(existing_per_zone);
  return r;
}

std::map<std::string, int> perZone(const PlacementDecision& decision) {
  std::map<std::string, int> counts;
  for (const auto& assignment : decision.assignments) {
    ++counts[assignment.zone];
  }
  return counts;
}

std::vector<std::string> instanceIds(const PlacementDecision& decision) {
  std::vector<std::string> ids;
  for (const auto& assignment : decision.assignments) {
    ids.push_back(assignment.instance_id);
  }
  return ids;
}

TEST(PlaceEnvironments, LaunchesOnePerZoneWhenThereAreNoInstances) {
  PlacementDecision d = placeEnvironments(request(3), kZones, {}, m7iLarge(), 0, 400);
  EXPECT_FALSE(d.vcpu_limit_exceeded);
  ASSERT_EQ(d.launches.size(), 3u);
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(d.launches[k].zone, kZones[k]);
    EXPECT_EQ(d.launches[k].type.name, "m7i.large");
  }
  ASSERT_EQ(d.assignments.size(), 3u);
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(d.assignments[k].instance_id, "new:" + std::to_string(k));
    EXPECT_EQ(d.assignments[k].zone, kZones[k]);
  }
}

TEST(PlaceEnvironments, PacksOntoExistingRoom) {
  std::vector<InstanceCapacity> instances = {
      {"i-a", "subnet-a", 2, 8192}, {"i-b", "subnet-b", 2, 8192}, {"i-c", "subnet-c", 2, 8192}};
  PlacementDecision d = placeEnvironments(request(3), kZones, instances, m7iLarge(), 6, 400);
  EXPECT_TRUE(d.launches.empty());
  EXPECT_FALSE(d.vcpu_limit_exceeded);
  EXPECT_EQ(instanceIds(d), (std::vector<std::string>{"i-a", "i-b", "i-c"}));
}

TEST(PlaceEnvironments, AccountsForEnvironmentsAssignedInTheSameDecision) {
  // One slot per instance: the second round must launch.
  std::vector<InstanceCapacity> instances = {
      {"i-a", "subnet-a", 1, 4096}, {"i-b", "subnet-b", 1, 4096}, {"i-c", "subnet-c", 1, 4096}};
  PlacementDecision d = placeEnvironments(request(4), kZones, instances, m7iLarge(), 6, 400);
  EXPECT_EQ(instanceIds(d), (std::vector<std::string>{"i-a", "i-b", "i-c", "new:0"}));
  ASSERT_EQ(d.launches.size(), 1u);
  EXPECT_EQ(d.launches[0].zone, "subnet-a");
}

TEST(PlaceEnvironments, MemoryMustFitToo) {
  std::vector<InstanceCapacity> instances = {{"i-a", "subnet-a", 4, 2048}};
  PlacementDecision d = placeEnvironments(request(1), {"subnet-a"}, instances, m7iLarge(), 2, 400);
  EXPECT_EQ(instanceIds(d), (std::vector<std::string>{"new:0"}));
}

TEST(PlaceEnvironments, BestFitChoosesTheFullerInstance) {
  std::vector<InstanceCapacity> instances = {{"i-roomy", "subnet-a", 6, 24576},
                                             {"i-full", "subnet-a", 1, 4096},
                                             {"i-mid", "subnet-a", 3, 12288}};
  PlacementDecision d = placeEnvironments(request(1), kZones, instances, m7iLarge(), 16, 400);
  EXPECT_EQ(instanceIds(d), (std::vector<std::string>{"i-full"}));

  // Equal vCPUs: less leftover memory wins.
  std::vector<InstanceCapacity> same_cpu = {{"i-more", "subnet-a", 2, 16384},
                                            {"i-less", "subnet-a", 2, 8192}};
  d = placeEnvironments(request(1), kZones, same_cpu, m7iLarge(), 4, 400);
  EXPECT_EQ(instanceIds(d), (std::vector<std::string>{"i-less"}));
}

TEST(PlaceEnvironments, SpreadAccountsForExistingEnvironments) {
  PlacementDecision d = placeEnvironments(request(3, {{"subnet-a", 2}, {"subnet-b", 1}}), kZones,
                                          {}, m7i2xlarge(), 0, 400);
  // c has the fewest; then b and c tie and b comes first; then c again.
  EXPECT_EQ(perZone(d), (std::map<std::string, int>{{"subnet-b", 1}, {"subnet-c", 2}}));
  ASSERT_EQ(d.assignments.size(), 3u);
  EXPECT_EQ(d.assignments[0].zone, "subnet-c");
  EXPECT_EQ(d.assignments[1].zone, "subnet-b");
  EXPECT_EQ(d.assignments[2].zone, "subnet-c");

  // Existing counts for unknown zones are ignored.
  d = placeEnvironments(request(1, {{"subnet-z", 0}, {"subnet-a", 1}}), kZones, {}, m7iLarge(), 0,
                        400);
  ASSERT_EQ(d.assignments.size(), 1u);
  EXPECT_EQ(d.assignments[0].zone, "subnet-b");
}

TEST(PlaceEnvironments, SpreadWinsOverPacking) {
  // Zone a has room, but b and c have fewer EEs of this version.
  std::vector<InstanceCapacity> instances = {{"i-a", "subnet-a", 8, 32768}};
  PlacementDecision d =
      placeEnvironments(request(2, {{"subnet-a", 1}}), kZones, instances, m7iLarge(), 8, 400);
  EXPECT_EQ(instanceIds(d), (std::vector<std::string>{"new:0", "new:1"}));
  EXPECT_EQ(perZone(d), (std::map<std::string, int>{{"subnet-b", 1}, {"subnet-c", 1}}));
}

TEST(PlaceEnvironments, SharesALaunchedInstanceWhenItHasRoom) {
  PlacementDecision d = placeEnvironments(request(4), {"subnet-a"}, {}, m7i2xlarge(), 0, 400);
  ASSERT_EQ(d.launches.size(), 1u);
  EXPECT_EQ(d.launches[0].type.name, "m7i.2xlarge");
  EXPECT_EQ(instanceIds(d), (std::vector<std::string>{"new:0", "new:0", "new:0", "new:0"}));

  // 8 vCPU / 32 GiB hold 8 EEs; 6 over three zones fit on one launch per zone.
  d = placeEnvironments(request(6), kZones, {}, m7i2xlarge(), 0, 400);
  EXPECT_EQ(d.launches.size(), 3u);
  EXPECT_EQ(instanceIds(d),
            (std::vector<std::string>{"new:0", "new:1", "new:2", "new:0", "new:1", "new:2"}));
}

TEST(PlaceEnvironments, StopsAndFlagsAtTheVcpuLimit) {
  // Each m7i.large holds exactly one 2 vCPU EE, so no launched instance has room left.
  PlacementRequest big = request(3);
  big.size = {2, 8192, 4};
  PlacementDecision d = placeEnvironments(big, kZones, {}, m7iLarge(), 0, 4);
  EXPECT_TRUE(d.vcpu_limit_exceeded);
  EXPECT_EQ(d.launches.size(), 2u);
  ASSERT_EQ(d.assignments.size(), 2u);
  EXPECT_EQ(d.assignments[0].zone, "subnet-a");
  EXPECT_EQ(d.assignments[1].zone, "subnet-b");

  // used_vcpus counts against the limit.
  d = placeEnvironments(request(1), kZones, {}, m7iLarge(), 399, 400);
  EXPECT_TRUE(d.vcpu_limit_exceeded);
  EXPECT_TRUE(d.assignments.empty());
  EXPECT_TRUE(d.launches.empty());

  // Exactly at the limit is allowed.
  d = placeEnvironments(request(1), kZones, {}, m7iLarge(), 398, 400);
  EXPECT_FALSE(d.vcpu_limit_exceeded);
  EXPECT_EQ(d.launches.size(), 1u);
}

TEST(PlaceEnvironments, FallsBackToAnotherZoneWithRoomAtTheLimit) {
  std::vector<InstanceCapacity> instances = {{"i-b", "subnet-b", 2, 8192}};
  PlacementDecision d = placeEnvironments(request(3), kZones, instances, m7iLarge(), 2, 2);
  EXPECT_TRUE(d.launches.empty());
  // a has no room and cannot launch, so both go to b; then nothing is left.
  EXPECT_EQ(instanceIds(d), (std::vector<std::string>{"i-b", "i-b"}));
  EXPECT_TRUE(d.vcpu_limit_exceeded);
}

TEST(PlaceEnvironments, PlacesNothingForEmptyInputs) {
  PlacementDecision d = placeEnvironments(request(0), kZones, {}, m7iLarge(), 0, 400);
  EXPECT_TRUE(d.assignments.empty());
  EXPECT_TRUE(d.launches.empty());
  d = placeEnvironments(request(2), {}, {}, m7iLarge(), 0, 400);
  EXPECT_TRUE(d.assignments.empty());
  EXPECT_FALSE(d.vcpu_limit_exceeded);
}

TEST(PlaceEnvironments, IgnoresInstancesOutsideTheZones) {
  std::vector<InstanceCapacity> instances = {{"i-x", "subnet-x", 8, 32768}};
  PlacementDecision d = placeEnvironments(request(1), {"subnet-a"}, instances, m7iLarge(), 8, 400);
  EXPECT_EQ(instanceIds(d), (std::vector<std::string>{"new:0"}));
}

TEST(PlaceEnvironments, NeverLaunchesATypeThatCannotHoldTheEnvironment) {
  InstanceType tiny = {"c7i.large", "c", "x86_64", 2, 4096, 0.08925};
  PlacementRequest big = request(1);
  big.size = {4, 8192, 2};
  PlacementDecision d = placeEnvironments(big, kZones, {}, tiny, 0, 400);
  EXPECT_TRUE(d.launches.empty());
  EXPECT_TRUE(d.assignments.empty());
  EXPECT_FALSE(d.vcpu_limit_exceeded);
}

TEST(PlaceEnvironments, IsDeterministic) {
  std::vector<InstanceCapacity> instances = {
      {"i-1", "subnet-a", 3, 12288}, {"i-2", "subnet-b", 1, 4096}, {"i-3", "subnet-c", 5, 20480}};
  PlacementRequest r = request(9, {{"subnet-b", 1}});
  PlacementDecision first = placeEnvironments(r, kZones, instances, m7i2xlarge(), 9, 40);
  PlacementDecision second = placeEnvironments(r, kZones, instances, m7i2xlarge(), 9, 40);
  EXPECT_EQ(instanceIds(first), instanceIds(second));
  EXPECT_EQ(first.launches.size(), second.launches.size());
  EXPECT_EQ(first.assignments.size(), 9u);
  std::map<std::string, int> totals = perZone(first);
  ++totals["subnet-b"];
  EXPECT_EQ(totals,
            (std::map<std::string, int>{{"subnet-a", 4}, {"subnet-b", 3}, {"subnet-c", 3}}));
}

}  // namespace
}  // namespace hearth
