#include "agent/launch_spec.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "sandbox/sandbox_plan.h"

namespace hearth {

bool SystemFileProbe::isExecutable(const std::string& path) const {
  return ::access(path.c_str(), X_OK) == 0;
}

bool SystemFileProbe::isReadable(const std::string& path) const {
  return ::access(path.c_str(), R_OK) == 0;
}

std::string SystemFileProbe::findOnPath(const std::string& program) const {
  if (program.find('/') != std::string::npos) {
    return isExecutable(program) ? program : "";
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t colon = dirs.find(':', start);
    std::string dir =
        dirs.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (!dir.empty() && isExecutable(dir + "/" + program)) {
      return dir + "/" + program;
    }
    if (colon == std::string::npos) {
      break;
    }
    start = colon + 1;
  }
  return "";
}

LaunchCommand launchCommand(const protocol::EnvironmentSpec& spec, const std::string& code_dir,
                            const LaunchContext& context, const FileProbe& probe) {
  LaunchCommand command;
  const std::string task_root = context.sandboxed ? kSandboxTaskRoot : code_dir;
  const std::string runtime_root = context.sandboxed ? kSandboxRuntimeRoot : context.runtimes_dir;
  if (spec.runtime.rfind("provided", 0) == 0) {
    if (!probe.isExecutable(code_dir + "/bootstrap")) {
      command.refusal_type = "Runtime.InvalidEntrypoint";
      command.refusal_message =
          "custom runtimes need an executable file named bootstrap at the root of the "
          "deployment package";
      return command;
    }
    command.argv = {task_root + "/bootstrap"};
    return command;
  }
  auto root = context.runtimes.find(spec.runtime);
  auto need = requirementOf(spec.runtime);
  if (root == context.runtimes.end() || !need ||
      !probe.isReadable(context.runtimes_dir + need->bootstrap)) {
    command.refusal_type = "Runtime.InvalidRuntime";
    command.refusal_message = fmt::format("Hearth has no bootstrap for runtime {}", spec.runtime);
    return command;
  }
  if (!root->second.available()) {
    command.refusal_type = "Runtime.InvalidRuntime";
    command.refusal_message = root->second.missing;
    return command;
  }
  command.argv = {root->second.interpreter, runtime_root + need->bootstrap};
  return command;
}

LaunchSpec buildLaunchSpec(const std::string& environment_id, const protocol::EnvironmentSpec& spec,
                           const std::string& code_dir, std::vector<std::string> argv,
                           uint16_t runtime_api_port, const LaunchContext& context) {
  LaunchSpec launch;
  const std::string task_root = context.sandboxed ? kSandboxTaskRoot : code_dir;
  launch.id = environment_id;
  launch.argv = std::move(argv);
  launch.working_dir = task_root;
  if (context.sandboxed) {
    launch.mounts = {{code_dir, kSandboxTaskRoot}, {context.runtimes_dir, kSandboxRuntimeRoot}};
    launch.tmp_bytes = spec.ephemeral_storage_mb * 1024 * 1024;
    launch.runtime_api_port = runtime_api_port;
    if (auto root = context.runtimes.find(spec.runtime); root != context.runtimes.end()) {
      launch.root_filesystem = root->second.root_filesystem;
    }
  }
  launch.memory_limit_bytes = spec.memory_mb * 1024 * 1024;
  launch.vcpus = spec.vcpus;
  auto& e = launch.env;
  for (const auto& [k, v] : spec.environment) {
    e[k] = v;
  }
  e["PATH"] = "/usr/local/bin:/usr/bin:/bin";
  e["LANG"] = "en_US.UTF-8";
  e["TZ"] = ":UTC";
  for (const auto& [k, v] : spec.environment) {
    if (k == "PATH" || k == "LANG" || k == "TZ") {
      e[k] = v;
    }
  }
  e["AWS_LAMBDA_RUNTIME_API"] = fmt::format("127.0.0.1:{}", runtime_api_port);
  e["_HANDLER"] = spec.handler;
  e["LAMBDA_TASK_ROOT"] = task_root;
  e["LAMBDA_RUNTIME_DIR"] = context.sandboxed ? kSandboxRuntimeRoot : context.runtimes_dir;
  e["AWS_LAMBDA_MAX_CONCURRENCY"] = std::to_string(spec.max_concurrency);
  e["AWS_LAMBDA_INITIALIZATION_TYPE"] = "lambda-managed-instances";
  e["AWS_LAMBDA_FUNCTION_NAME"] = spec.function_name;
  e["AWS_LAMBDA_FUNCTION_VERSION"] = spec.version;
  e["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = std::to_string(spec.memory_mb);
  e["AWS_LAMBDA_LOG_GROUP_NAME"] =
      spec.log_group.empty() ? "/aws/lambda/" + spec.function_name : spec.log_group;
  e["AWS_LAMBDA_LOG_STREAM_NAME"] =
      fmt::format("{}/[{}]{}", context.instance_id, spec.version, environment_id);
  e["AWS_LAMBDA_LOG_FORMAT"] = "JSON";
  e["AWS_REGION"] = context.region;
  e["AWS_DEFAULT_REGION"] = context.region;
  e["AWS_EXECUTION_ENV"] = "AWS_Lambda_" + spec.runtime;
  e["HOME"] = "/tmp";
  if (spec.runtime.rfind("nodejs", 0) == 0 && !e.contains("AWS_LAMBDA_NODEJS_WORKER_COUNT")) {
    e["AWS_LAMBDA_NODEJS_WORKER_COUNT"] =
        std::to_string(std::max(1, std::min(spec.vcpus, spec.max_concurrency)));
  }
  return launch;
}

}  // namespace hearth
