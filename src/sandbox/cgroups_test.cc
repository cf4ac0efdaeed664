#include "sandbox/cgroups.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace hearth {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void put(const fs::path& path, const std::string& content) {
  std::ofstream(path) << content;
}

class FakeCgroupTree : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("hearth-cgroup-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
};

// The v2 driver against a plain directory tree laid out as cgroupfs: controllers enabled down
// the path, limits written in v2's formats, usage and OOM kills read back, cgroup.kill used.
TEST_F(FakeCgroupTree, V2DriverWritesLimitsAndReadsUsage) {
  put(root_ / "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
  auto driver = detectCgroupDriver(root_.string(), "hearth/i-1");
  ASSERT_TRUE(driver.isOk()) << driver.status().toString();
  EXPECT_EQ((*driver)->name(), "v2");
  auto group = (*driver)->create("ee-1", {512 << 20, 2, 64});
  ASSERT_TRUE(group.isOk()) << group.status().toString();
  fs::path leaf = root_ / "hearth" / "i-1" / "ee-1";
  for (const fs::path& dir : {root_, root_ / "hearth", root_ / "hearth" / "i-1"}) {
    EXPECT_EQ(slurp(dir / "cgroup.subtree_control"), "+cpu +memory +pids") << dir;
  }
  EXPECT_EQ(slurp(leaf / "memory.max"), std::to_string(512 << 20));
  EXPECT_EQ(slurp(leaf / "cpu.max"), "200000 100000");
  EXPECT_EQ(slurp(leaf / "pids.max"), "64");
  EXPECT_EQ((*group)->procsFiles(), std::vector<std::string>{(leaf / "cgroup.procs").string()});

  put(leaf / "memory.current", "123456\n");
  put(leaf / "cpu.stat", "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n");
  put(leaf / "memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
  CgroupUsage usage = (*group)->usage();
  EXPECT_EQ(usage.memory_bytes, 123456);
  EXPECT_EQ(usage.cpu_nanos, 2500000);
  EXPECT_EQ(usage.oom_kills, 1);

  put(leaf / "cgroup.kill", "");
  (*group)->killAll();
  EXPECT_EQ(slurp(leaf / "cgroup.kill"), "1");
  for (const auto& entry : fs::directory_iterator(leaf)) {
    fs::remove(entry.path());  // cgroupfs has no files to delete; the fake does
  }
  EXPECT_TRUE((*group)->remove().isOk());
  EXPECT_FALSE(fs::exists(leaf));
}

TEST_F(FakeCgroupTree, V2WithoutMemoryControllerIsRefusedWithTheReason) {
  put(root_ / "cgroup.controllers", "hugetlb\n");
  auto driver = detectCgroupDriver(root_.string(), "hearth");
  ASSERT_FALSE(driver.isOk());
  EXPECT_NE(driver.status().message().find("lacks the cpu controller"), std::string::npos)
      << driver.status().message();
}

// The v1 driver: one directory per controller, v1's file names and units, the unified
// hierarchy joined as well for cgroup.kill.
TEST_F(FakeCgroupTree, V1DriverWritesLimitsInEachControllerAndReadsUsage) {
  for (const char* controller : {"memory", "cpu", "cpuacct", "pids", "unified"}) {
    fs::create_directories(root_ / controller);
    put(root_ / controller / "cgroup.procs", "");
  }
  auto driver = detectCgroupDriver(root_.string(), "hearth");
  ASSERT_TRUE(driver.isOk()) << driver.status().toString();
  EXPECT_EQ((*driver)->name(), "v1");
  auto group = (*driver)->create("ee-2", {256 << 20, 1, 100});
  ASSERT_TRUE(group.isOk()) << group.status().toString();
  EXPECT_EQ(slurp(root_ / "memory/hearth/ee-2/memory.limit_in_bytes"), std::to_string(256 << 20));
  EXPECT_EQ(slurp(root_ / "cpu/hearth/ee-2/cpu.cfs_quota_us"), "100000");
  EXPECT_EQ(slurp(root_ / "cpu/hearth/ee-2/cpu.cfs_period_us"), "100000");
  EXPECT_EQ(slurp(root_ / "pids/hearth/ee-2/pids.max"), "100");
  EXPECT_EQ((*group)->procsFiles().size(), 5u);

  put(root_ / "memory/hearth/ee-2/memory.usage_in_bytes", "4096\n");
  put(root_ / "cpuacct/hearth/ee-2/cpuacct.usage", "987654321\n");
  put(root_ / "memory/hearth/ee-2/memory.oom_control",
      "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
  CgroupUsage usage = (*group)->usage();
  EXPECT_EQ(usage.memory_bytes, 4096);
  EXPECT_EQ(usage.cpu_nanos, 987654321);
  EXPECT_EQ(usage.oom_kills, 2);
}

// v1 groups nest below this process's own group in each hierarchy (here memory is limited at
// /outer/x by whoever started Hearth), so the host's limits hold for them too.
TEST_F(FakeCgroupTree, V1GroupsNestBelowTheProcesssOwnGroups) {
  for (const char* controller : {"memory", "cpu", "cpuacct", "pids"}) {
    fs::create_directories(root_ / controller);
    put(root_ / controller / "cgroup.procs", "");
  }
  for (const char* own : {"memory/outer/x", "cpu/svc", "cpuacct/svc"}) {
    fs::create_directories(root_ / own);  // this process's groups exist
  }
  auto driver = detectCgroupDriver(root_.string(), "hearth",
                                   "7:pids:/\n4:memory:/outer/x\n2:cpu,cpuacct:/svc\n0::/\n");
  ASSERT_TRUE(driver.isOk()) << driver.status().toString();
  auto group = (*driver)->create("ee-3", {1 << 20, 1, 10});
  ASSERT_TRUE(group.isOk()) << group.status().toString();
  EXPECT_TRUE(fs::is_directory(root_ / "memory/outer/x/hearth/ee-3"));
  EXPECT_TRUE(fs::is_directory(root_ / "cpu/svc/hearth/ee-3"));
  EXPECT_TRUE(fs::is_directory(root_ / "cpuacct/svc/hearth/ee-3"));
  EXPECT_TRUE(fs::is_directory(root_ / "pids/hearth/ee-3"));
}

TEST_F(FakeCgroupTree, NeitherHierarchyIsRefusedWithTheReason) {
  auto driver = detectCgroupDriver(root_.string(), "hearth");
  ASSERT_FALSE(driver.isOk());
  EXPECT_NE(driver.status().message().find("no cgroup v1 memory controller"), std::string::npos)
      << driver.status().message();
}

}  // namespace
}  // namespace hearth
