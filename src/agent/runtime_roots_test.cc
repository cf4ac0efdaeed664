#include "agent/runtime_roots.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <set>

#include "agent/launch_spec.h"

namespace hearth {
namespace {

class FakeFiles final : public FileProbe {
 public:
  bool isExecutable(const std::string& path) const override { return executable.contains(path); }
  bool isReadable(const std::string& path) const override { return executable.contains(path); }
  std::string findOnPath(const std::string& program) const override {
    for (const char* dir : {"/home/me/bin/", "/usr/bin/"}) {
      if (executable.contains(dir + program)) {
        return dir + program;
      }
    }
    return "";
  }
  std::set<std::string> executable;
};

// Versions by "root|program"; counts what was asked.
class FakeVersions final : public VersionProbe {
 public:
  std::string versionOf(const std::string& program, const std::string& root) const override {
    ++asked;
    auto it = versions.find(root + "|" + program);
    return it == versions.end() ? "" : it->second;
  }
  std::map<std::string, std::string> versions;
  mutable int asked = 0;
};

// A Debian 12 host: Python 3.11 and Node.js 20.
struct Bookworm {
  Bookworm() {
    files.executable = {"/usr/bin/python3", "/usr/bin/python3.11", "/usr/bin/node"};
    versions.versions = {{"|/usr/bin/python3", "3.11.2"},
                         {"|/usr/bin/python3.11", "3.11.2"},
                         {"|/usr/bin/node", "20.19.2"}};
  }
  std::map<std::string, RuntimeRoot> resolve(RuntimeSources sources,
                                             std::vector<std::string> runtimes) {
    return resolveRuntimeRoots(runtimes, sources, files, versions);
  }
  FakeFiles files;
  FakeVersions versions;
};

TEST(RuntimeRequirement, NamesTheLanguageVersionAndPrograms) {
  auto python = requirementOf("python3.13");
  ASSERT_TRUE(python);
  EXPECT_EQ(python->language, "Python");
  EXPECT_EQ(python->version, "3.13");
  EXPECT_EQ(python->programs, (std::vector<std::string>{"python3.13", "python3"}));
  EXPECT_EQ(python->bootstrap, "/python/bootstrap.py");
  auto node = requirementOf("nodejs22.x");
  ASSERT_TRUE(node);
  EXPECT_EQ(node->version, "22");
  EXPECT_EQ(node->bootstrap, "/node/bootstrap.mjs");
  EXPECT_FALSE(requirementOf("provided.al2023"));
  EXPECT_FALSE(requirementOf("java21"));
  EXPECT_FALSE(requirementOf("python3.13x"));
}

TEST(RuntimeVersion, MatchesWholeComponentsOnly) {
  EXPECT_TRUE(versionMatches("3.13.1", "3.13"));
  EXPECT_TRUE(versionMatches("3.13", "3.13"));
  EXPECT_FALSE(versionMatches("3.1.4", "3.13"));
  EXPECT_FALSE(versionMatches("3.130.0", "3.13"));
  EXPECT_TRUE(versionMatches("22.3.0", "22"));
  EXPECT_FALSE(versionMatches("2.2.0", "22"));
  EXPECT_FALSE(versionMatches("", "22"));
  EXPECT_EQ(parseVersionOutput("Python 3.11.2\n"), "3.11.2");
  EXPECT_EQ(parseVersionOutput("v20.19.2\n"), "20.19.2");
  EXPECT_EQ(parseVersionOutput("usage: x [-h]\n"), "");
}

TEST(ResolveRuntimeRoots, ARuntimeWithoutItsVersionIsMissingAndSaysHowToSupplyIt) {
  Bookworm host;
  auto roots = host.resolve({}, {"python3.13", "nodejs22.x", "python3.11", "provided.al2023"});
  EXPECT_FALSE(roots.contains("provided.al2023"));
  const RuntimeRoot& py = roots.at("python3.13");
  EXPECT_FALSE(py.available());
  EXPECT_NE(py.missing.find("needs Python 3.13"), std::string::npos) << py.missing;
  EXPECT_NE(py.missing.find("/usr/bin/python3 is Python 3.11.2"), std::string::npos) << py.missing;
  EXPECT_NE(py.missing.find("hearth up --interpreter python3.13=PROGRAM"), std::string::npos);
  EXPECT_NE(py.missing.find("--runtime-root python3.13=DIR"), std::string::npos);
  const RuntimeRoot& node = roots.at("nodejs22.x");
  EXPECT_FALSE(node.available());
  EXPECT_NE(node.missing.find("/usr/bin/node is Node.js 20.19.2"), std::string::npos);
  // The host's own version resolves without a mapping, and is no substitution.
  const RuntimeRoot& py311 = roots.at("python3.11");
  EXPECT_EQ(py311.interpreter, "/usr/bin/python3.11");
  EXPECT_EQ(py311.version, "3.11.2");
  EXPECT_FALSE(py311.substitution);
}

TEST(ResolveRuntimeRoots, PrefersTheVersionedProgramAndAsksEachOnce) {
  Bookworm host;
  host.files.executable.insert("/usr/local/bin/python3.13");
  host.versions.versions["|/usr/local/bin/python3.13"] = "3.13.1";
  auto roots = host.resolve({}, interpretedRuntimes());
  EXPECT_EQ(roots.at("python3.13").interpreter, "/usr/local/bin/python3.13");
  EXPECT_FALSE(roots.at("python3.13").substitution);
  EXPECT_EQ(roots.at("python3.11").interpreter, "/usr/bin/python3.11");
  EXPECT_FALSE(roots.at("python3.12").available());
  // python3.13, python3.11, python3 and node, whatever the number of runtimes asking.
  EXPECT_EQ(host.versions.asked, 4);
}

TEST(ResolveRuntimeRoots, AnOperatorMappingIsTakenAtItsVersionAsASubstitution) {
  Bookworm host;
  RuntimeSources sources;
  sources.interpreters = {{"python3.13", "/usr/bin/python3.11"}, {"nodejs", "node"}};
  auto roots = host.resolve(sources, {"python3.13", "python3.14", "nodejs22.x", "nodejs20.x"});
  const RuntimeRoot& py = roots.at("python3.13");
  EXPECT_EQ(py.interpreter, "/usr/bin/python3.11");
  EXPECT_TRUE(py.substitution);
  EXPECT_EQ(describeRuntimeRoot("python3.13", py),
            "python3.13: /usr/bin/python3.11 (Python 3.11.2), an operator substitution for Python "
            "3.13");
  EXPECT_FALSE(roots.at("python3.14").available()) << "the mapping names python3.13 only";
  EXPECT_TRUE(roots.at("nodejs22.x").substitution);
  EXPECT_EQ(roots.at("nodejs22.x").interpreter, "/usr/bin/node");
  EXPECT_FALSE(roots.at("nodejs20.x").substitution) << "a prefix mapping of the right version";
}

TEST(ResolveRuntimeRoots, ASandboxedMappingMustBeVisibleAndReportAVersion) {
  Bookworm host;
  host.files.executable.insert("/opt/py313/bin/python3");
  host.files.executable.insert("/usr/bin/python-wrapper");
  RuntimeSources sources;
  sources.interpreters = {{"python3.13", "/opt/py313/bin/python3"},
                          {"python3.14", "/usr/bin/python-wrapper"}};
  auto roots = host.resolve(sources, {"python3.13", "python3.14"});
  EXPECT_FALSE(roots.at("python3.13").available());
  EXPECT_NE(roots.at("python3.13").missing.find("where the sandbox shows the host"),
            std::string::npos);
  EXPECT_FALSE(roots.at("python3.14").available());
  EXPECT_NE(roots.at("python3.14").missing.find("does not report a version"), std::string::npos);
  // Without the sandbox any installed path, and names on PATH, are taken.
  sources.sandboxed = false;
  host.versions.versions["|/opt/py313/bin/python3"] = "3.13.0";
  auto unsandboxed = host.resolve(sources, {"python3.13"});
  EXPECT_EQ(unsandboxed.at("python3.13").interpreter, "/opt/py313/bin/python3");
  EXPECT_FALSE(unsandboxed.at("python3.13").substitution);
}

TEST(ResolveRuntimeRoots, ARootFilesystemHasItsInterpreterInside) {
  Bookworm host;
  host.files.executable.insert("/images/py313/var/lang/bin/python3.13");
  host.versions.versions["/images/py313|/var/lang/bin/python3.13"] = "3.13.7";
  host.files.executable.insert("/images/old/usr/bin/python3");
  host.versions.versions["/images/old|/usr/bin/python3"] = "3.12.1";
  RuntimeSources sources;
  sources.root_filesystems = {{"python3.13", "/images/py313"},
                              {"python3.14", "/images/old"},
                              {"nodejs22.x", "/images/empty"}};
  auto roots = host.resolve(sources, {"python3.13", "python3.14", "nodejs22.x"});
  const RuntimeRoot& py = roots.at("python3.13");
  EXPECT_EQ(py.interpreter, "/var/lang/bin/python3.13");
  EXPECT_EQ(py.root_filesystem, "/images/py313");
  EXPECT_FALSE(py.substitution);
  EXPECT_EQ(describeRuntimeRoot("python3.13", py),
            "python3.13: /var/lang/bin/python3.13 in /images/py313 (Python 3.13.7)");
  // The operator chose the image: another version in it runs, as a substitution.
  EXPECT_TRUE(roots.at("python3.14").substitution);
  EXPECT_EQ(roots.at("python3.14").interpreter, "/usr/bin/python3");
  const RuntimeRoot& node = roots.at("nodejs22.x");
  EXPECT_FALSE(node.available());
  EXPECT_NE(node.missing.find("the root file system /images/empty has no node or nodejs"),
            std::string::npos)
      << node.missing;
  // An unsandboxed instance cannot show a root file system.
  sources.sandboxed = false;
  EXPECT_NE(host.resolve(sources, {"python3.13"}).at("python3.13").missing.find("sandboxed"),
            std::string::npos);
}

TEST(SystemVersionProbe, ReadsTheVersionAnInterpreterPrints) {
  std::string script = ::testing::TempDir() + "/hearth-fake-interpreter";
  {
    std::ofstream out(script);
    out << "#!/bin/sh\n[ \"$1\" = --version ] && echo \"Python 3.13.5\" >&2\n";
  }
  ASSERT_EQ(::chmod(script.c_str(), 0755), 0);
  SystemVersionProbe probe;
  EXPECT_EQ(probe.versionOf(script, ""), "3.13.5") << "read from stderr too, as Python 2 prints";
  EXPECT_EQ(probe.versionOf("/nonexistent/python3", ""), "");
  EXPECT_EQ(probe.versionOf("/bin/false", ""), "") << "a failing program has no version";
  ::unlink(script.c_str());
}

}  // namespace
}  // namespace hearth
