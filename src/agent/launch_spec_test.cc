#include "agent/launch_spec.h"

#include <gtest/gtest.h>

#include <set>

namespace hearth {
namespace {

class FakeProbe final : public FileProbe {
 public:
  bool isExecutable(const std::string& path) const override { return executable.contains(path); }
  bool isReadable(const std::string& path) const override {
    return readable.contains(path) || executable.contains(path);
  }
  std::string findOnPath(const std::string& program) const override {
    for (const char* dir : {"/usr/local/bin/", "/usr/bin/"}) {
      if (executable.contains(dir + program)) {
        return dir + program;
      }
    }
    return program.find('/') != std::string::npos && executable.contains(program) ? program : "";
  }
  std::set<std::string> executable;
  std::set<std::string> readable;
};

protocol::EnvironmentSpec spec(std::string runtime) {
  protocol::EnvironmentSpec s;
  s.function_name = "fn";
  s.version = "7";
  s.runtime = std::move(runtime);
  s.handler = "app.handler";
  s.code_sha256_hex = "abc";
  s.memory_mb = 1024;
  s.max_concurrency = 16;
  s.vcpus = 2;
  s.environment = {{"MINE", "1"}, {"TZ", "Europe/Warsaw"}, {"AWS_LAMBDA_FUNCTION_NAME", "evil"}};
  return s;
}

RuntimeRoot root(std::string interpreter, std::string version) {
  return RuntimeRoot{std::move(interpreter), "", std::move(version), false, ""};
}

LaunchContext context() {
  RuntimeRoot missing;
  missing.missing = "Runtime python3.14 needs Python 3.14, which this instance does not have";
  return LaunchContext{"/opt/hearth/runtimes",
                       {{"python3.12", root("/usr/bin/python3", "3.12.3")},
                        {"python3.13", root("/opt/py313/bin/python3", "3.13.1")},
                        {"python3.14", missing},
                        {"nodejs22.x", root("/usr/bin/node", "22.3.0")}},
                       "eu-west-1",
                       "i-1"};
}

TEST(LaunchCommand, RunsTheRuntimesInterpreterWithHearthsBootstrap) {
  FakeProbe probe;
  probe.readable = {"/opt/hearth/runtimes/python/bootstrap.py",
                    "/opt/hearth/runtimes/node/bootstrap.mjs"};
  auto py312 = launchCommand(spec("python3.12"), "/code", context(), probe);
  EXPECT_EQ(py312.argv, (std::vector<std::string>{"/usr/bin/python3",
                                                  "/opt/hearth/runtimes/python/bootstrap.py"}));
  auto py313 = launchCommand(spec("python3.13"), "/code", context(), probe);
  EXPECT_EQ(py313.argv[0], "/opt/py313/bin/python3");
  auto node = launchCommand(spec("nodejs22.x"), "/code", context(), probe);
  EXPECT_EQ(node.argv[1], "/opt/hearth/runtimes/node/bootstrap.mjs");
  // A missing runtime fails with the reason its resolution gave.
  auto py314 = launchCommand(spec("python3.14"), "/code", context(), probe);
  EXPECT_EQ(py314.refusal_type, "Runtime.InvalidRuntime");
  EXPECT_EQ(py314.refusal_message,
            "Runtime python3.14 needs Python 3.14, which this instance does not have");
}

TEST(LaunchCommand, RefusesWithTheErrorTypeAVersionFailsWith) {
  FakeProbe probe;
  auto no_bootstrap = launchCommand(spec("python3.12"), "/code", context(), probe);
  EXPECT_EQ(no_bootstrap.refusal_type, "Runtime.InvalidRuntime");
  EXPECT_NE(no_bootstrap.refusal_message.find("no bootstrap"), std::string::npos);
  auto provided = launchCommand(spec("provided.al2023"), "/code", context(), probe);
  EXPECT_EQ(provided.refusal_type, "Runtime.InvalidEntrypoint");
  probe.executable.insert("/code/bootstrap");
  EXPECT_EQ(launchCommand(spec("provided.al2023"), "/code", context(), probe).argv,
            (std::vector<std::string>{"/code/bootstrap"}));
  probe.executable.insert("/usr/bin/java");
  auto java = launchCommand(spec("java21"), "/code", context(), probe);
  EXPECT_EQ(java.refusal_type, "Runtime.InvalidRuntime") << "no bootstrap for java";
}

TEST(BuildLaunchSpec, SetsLmisVariablesAndKeepsThePlatformsOwn) {
  LaunchSpec launch =
      buildLaunchSpec("ee-9", spec("nodejs22.x"), "/code", {"/usr/bin/node"}, 4321, context());
  EXPECT_EQ(launch.id, "ee-9");
  EXPECT_EQ(launch.working_dir, "/code");
  EXPECT_EQ(launch.memory_limit_bytes, 1024LL * 1024 * 1024);
  EXPECT_EQ(launch.vcpus, 2);
  auto& e = launch.env;
  EXPECT_EQ(e.at("AWS_LAMBDA_RUNTIME_API"), "127.0.0.1:4321");
  EXPECT_EQ(e.at("AWS_LAMBDA_MAX_CONCURRENCY"), "16");
  EXPECT_EQ(e.at("AWS_LAMBDA_INITIALIZATION_TYPE"), "lambda-managed-instances");
  EXPECT_EQ(e.at("AWS_LAMBDA_FUNCTION_NAME"), "fn") << "the function cannot replace it";
  EXPECT_EQ(e.at("TZ"), "Europe/Warsaw") << "but it may set TZ";
  EXPECT_EQ(e.at("MINE"), "1");
  EXPECT_EQ(e.at("AWS_LAMBDA_LOG_STREAM_NAME"), "i-1/[7]ee-9");
  EXPECT_EQ(e.at("AWS_LAMBDA_LOG_GROUP_NAME"), "/aws/lambda/fn");
  EXPECT_EQ(e.at("AWS_REGION"), "eu-west-1");
  EXPECT_EQ(e.at("AWS_LAMBDA_NODEJS_WORKER_COUNT"), "2");
  EXPECT_EQ(e.at("_HANDLER"), "app.handler");
}

// In a sandbox the EE sees sandbox paths only: the code at /var/task, Hearth's runtimes at
// /var/runtime, its Runtime API inside at 127.0.0.1:9001; interpreters must live where the
// sandbox shows the host (under /usr, /bin, /lib).
TEST(LaunchCommand, SandboxedCommandsUseSandboxPaths) {
  FakeProbe probe;
  probe.executable = {"/code/bootstrap"};
  probe.readable = {"/opt/hearth/runtimes/python/bootstrap.py"};
  LaunchContext sandboxed = context();
  sandboxed.sandboxed = true;
  auto py312 = launchCommand(spec("python3.12"), "/code", sandboxed, probe);
  EXPECT_EQ(py312.argv,
            (std::vector<std::string>{"/usr/bin/python3", "/var/runtime/python/bootstrap.py"}));
  auto provided = launchCommand(spec("provided.al2023"), "/code", sandboxed, probe);
  EXPECT_EQ(provided.argv, (std::vector<std::string>{"/var/task/bootstrap"}));
}

// A runtime with a root file system runs its interpreter inside it, and the sandbox shows it.
TEST(BuildLaunchSpec, ARuntimesRootFilesystemGoesToTheSandbox) {
  LaunchContext sandboxed = context();
  sandboxed.sandboxed = true;
  sandboxed.runtimes["python3.13"] =
      RuntimeRoot{"/var/lang/bin/python3.13", "/images/py313", "3.13.7", false, ""};
  FakeProbe probe;
  probe.readable = {"/opt/hearth/runtimes/python/bootstrap.py"};
  auto command = launchCommand(spec("python3.13"), "/code", sandboxed, probe);
  EXPECT_EQ(command.argv[0], "/var/lang/bin/python3.13");
  LaunchSpec launch = buildLaunchSpec("ee-1", spec("python3.13"), "/code", command.argv,
                                      kSandboxRuntimeApiPort, sandboxed);
  EXPECT_EQ(launch.root_filesystem, "/images/py313");
  EXPECT_EQ(buildLaunchSpec("ee-2", spec("python3.12"), "/code", {"/usr/bin/python3"},
                            kSandboxRuntimeApiPort, sandboxed)
                .root_filesystem,
            "");
}

TEST(BuildLaunchSpec, SandboxedSpecMountsCodeAndRuntimeAndListensInside) {
  LaunchContext sandboxed = context();
  sandboxed.sandboxed = true;
  auto s = spec("python3.12");
  s.ephemeral_storage_mb = 1024;
  LaunchSpec launch = buildLaunchSpec("ee-1", s, "/srv/code/abc", {"/usr/bin/python3"},
                                      kSandboxRuntimeApiPort, sandboxed);
  EXPECT_EQ(launch.working_dir, "/var/task");
  ASSERT_EQ(launch.mounts.size(), 2u);
  EXPECT_EQ(launch.mounts[0].host_path, "/srv/code/abc");
  EXPECT_EQ(launch.mounts[0].sandbox_path, "/var/task");
  EXPECT_EQ(launch.mounts[1].host_path, "/opt/hearth/runtimes");
  EXPECT_EQ(launch.mounts[1].sandbox_path, "/var/runtime");
  EXPECT_EQ(launch.tmp_bytes, int64_t{1024} * 1024 * 1024);
  EXPECT_EQ(launch.runtime_api_port, kSandboxRuntimeApiPort);
  EXPECT_EQ(launch.env.at("LAMBDA_TASK_ROOT"), "/var/task");
  EXPECT_EQ(launch.env.at("LAMBDA_RUNTIME_DIR"), "/var/runtime");
  EXPECT_EQ(launch.env.at("AWS_LAMBDA_RUNTIME_API"), "127.0.0.1:9001");
  for (const auto& [key, value] : launch.env) {
    EXPECT_EQ(value.find("/srv/code"), std::string::npos) << key;  // no host path inside
  }
}

}  // namespace
}  // namespace hearth
