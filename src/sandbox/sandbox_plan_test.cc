#include "sandbox/sandbox_plan.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace hearth {
namespace {

using Kind = RootStep::Kind;

HostLayout mergedUsrHost() {
  HostLayout layout;
  layout.system_dirs = {
      {"/usr", true, "", ""}, {"/bin", false, "usr/bin", ""}, {"/lib", false, "usr/lib", ""}};
  layout.etc_entries = {{"/etc/resolv.conf", false, "", ""},
                        {"/etc/ssl", true, "", ""},
                        {"/etc/localtime", false, "/usr/share/zoneinfo/Etc/UTC", ""}};
  return layout;
}

LaunchSpec functionSpec() {
  LaunchSpec spec;
  spec.id = "ee-1";
  spec.argv = {"/usr/bin/python3", "/var/runtime/python/bootstrap.py"};
  spec.mounts = {{"/srv/hearth/code/abc", "/var/task"}, {"/opt/hearth/runtimes", "/var/runtime"}};
  spec.tmp_bytes = 10 << 20;
  return spec;
}

const RootStep* find(const std::vector<RootStep>& steps, Kind kind, const std::string& target) {
  auto it = std::find_if(steps.begin(), steps.end(), [&](const RootStep& step) {
    return step.kind == kind && step.target == target;
  });
  return it == steps.end() ? nullptr : &*it;
}

TEST(PlanRoot, ShowsTheHostSystemReadOnlyAndTheCodeAtVarTask) {
  auto steps = planRoot(functionSpec(), mergedUsrHost(), "/stage", SandboxIdentity{});
  const RootStep* usr = find(steps, Kind::kBindReadOnly, "/stage/usr");
  ASSERT_NE(usr, nullptr);
  EXPECT_EQ(usr->source, "/usr");
  const RootStep* bin = find(steps, Kind::kSymlink, "/stage/bin");
  ASSERT_NE(bin, nullptr);
  EXPECT_EQ(bin->source, "usr/bin");
  const RootStep* task = find(steps, Kind::kBindReadOnly, "/stage/var/task");
  ASSERT_NE(task, nullptr);
  EXPECT_EQ(task->source, "/srv/hearth/code/abc");
  ASSERT_NE(find(steps, Kind::kBindReadOnly, "/stage/var/runtime"), nullptr);
  // /var is made before /var/task.
  auto var = std::find_if(steps.begin(), steps.end(), [](const RootStep& step) {
    return step.kind == Kind::kDir && step.target == "/stage/var";
  });
  ASSERT_NE(var, steps.end());
  EXPECT_LT(var - steps.begin(), task - steps.data());
  // The root itself ends read-only.
  EXPECT_EQ(steps.back().kind, Kind::kRemountReadOnly);
  EXPECT_EQ(steps.back().target, "/stage");
}

TEST(PlanRoot, GeneratesEtcWithoutTheHostsSecrets) {
  auto steps = planRoot(functionSpec(), mergedUsrHost(), "/stage", SandboxIdentity{});
  const RootStep* passwd = find(steps, Kind::kFile, "/stage/etc/passwd");
  ASSERT_NE(passwd, nullptr);
  EXPECT_NE(passwd->source.find("sbx_user1051:x:993:990:"), std::string::npos);
  EXPECT_NE(find(steps, Kind::kBindReadOnly, "/stage/etc/resolv.conf"), nullptr);
  EXPECT_NE(find(steps, Kind::kBindReadOnly, "/stage/etc/ssl"), nullptr);
  EXPECT_NE(find(steps, Kind::kSymlink, "/stage/etc/localtime"), nullptr);
  for (const auto& step : steps) {
    EXPECT_EQ(step.source.find("/etc/shadow"), std::string::npos);
    EXPECT_NE(step.source, "/etc");  // never the whole host /etc
  }
}

TEST(PlanRoot, PrivateTmpSizedByEphemeralStorageAndAMinimalDev) {
  auto steps = planRoot(functionSpec(), mergedUsrHost(), "/stage", SandboxIdentity{});
  const RootStep* tmp = find(steps, Kind::kTmpfs, "/stage/tmp");
  ASSERT_NE(tmp, nullptr);
  EXPECT_EQ(tmp->options, "size=10485760,mode=1777");
  EXPECT_NE(find(steps, Kind::kProc, "/stage/proc"), nullptr);
  EXPECT_NE(find(steps, Kind::kBindReadOnly, "/stage/proc/sys"), nullptr);
  for (const char* device : {"null", "zero", "full", "random", "urandom", "tty"}) {
    const RootStep* node = find(steps, Kind::kBindDevice, std::string("/stage/dev/") + device);
    ASSERT_NE(node, nullptr) << device;
    EXPECT_EQ(node->source, std::string("/dev/") + device);
  }
  EXPECT_EQ(find(steps, Kind::kBindDevice, "/stage/dev/sda"), nullptr);
  LaunchSpec no_size = functionSpec();
  no_size.tmp_bytes = 0;
  auto defaults = planRoot(no_size, mergedUsrHost(), "/stage", SandboxIdentity{});
  EXPECT_EQ(find(defaults, Kind::kTmpfs, "/stage/tmp")->options, "size=536870912,mode=1777");
}

// A root file system (an unpacked base image) replaces the host's system directories; the
// code, the runtime and the private /tmp stay as they are.
TEST(PlanRoot, ShowsARootFilesystemsDirectoriesInsteadOfTheHosts) {
  HostLayout image;
  image.system_dirs = {{"/usr", true, "", "/images/py/usr"},
                       {"/lib64", false, "usr/lib64", ""},
                       {"/var/lang", true, "", "/images/py/var/lang"}};
  image.etc_entries = {{"/etc/ld.so.cache", false, "", "/images/py/etc/ld.so.cache"},
                       {"/etc/resolv.conf", false, "", ""}};
  auto steps = planRoot(functionSpec(), image, "/stage", SandboxIdentity{});
  EXPECT_EQ(find(steps, Kind::kBindReadOnly, "/stage/usr")->source, "/images/py/usr");
  EXPECT_EQ(find(steps, Kind::kBindReadOnly, "/stage/var/lang")->source, "/images/py/var/lang");
  EXPECT_EQ(find(steps, Kind::kSymlink, "/stage/lib64")->source, "usr/lib64");
  EXPECT_EQ(find(steps, Kind::kBindReadOnly, "/stage/etc/ld.so.cache")->source,
            "/images/py/etc/ld.so.cache");
  EXPECT_EQ(find(steps, Kind::kBindReadOnly, "/stage/etc/resolv.conf")->source, "/etc/resolv.conf");
  EXPECT_EQ(find(steps, Kind::kBindReadOnly, "/stage/var/task")->source, "/srv/hearth/code/abc");
  EXPECT_NE(find(steps, Kind::kTmpfs, "/stage/tmp"), nullptr);
}

TEST(SandboxShows, HostSystemPathsAndARootFilesystemsLanguageRoot) {
  EXPECT_TRUE(sandboxShowsHostPath("/usr/bin/python3"));
  EXPECT_FALSE(sandboxShowsHostPath("/opt/py313/bin/python3"));
  EXPECT_FALSE(sandboxShowsHostPath("/usr"));
  EXPECT_TRUE(sandboxShowsRootFilesystemPath("/var/lang/bin/python3.13"));
  EXPECT_TRUE(sandboxShowsRootFilesystemPath("/usr/bin/node"));
  EXPECT_FALSE(sandboxShowsRootFilesystemPath("/var/task/python"));
}

}  // namespace
}  // namespace hearth
