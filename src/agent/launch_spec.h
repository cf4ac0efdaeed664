#pragma once

#include <map>
#include <string>
#include <vector>

#include "agent/runtime_roots.h"
#include "common/result.h"
#include "protocol/agent_protocol.h"
#include "sandbox/sandbox_launcher.h"

namespace hearth {

// What the launch-spec builder asks of the file system. Injected so the builder is pure.
class FileProbe {
 public:
  virtual ~FileProbe() = default;
  virtual bool isExecutable(const std::string& path) const = 0;
  virtual bool isReadable(const std::string& path) const = 0;
  // `program` itself when it holds a '/' and is executable; else the first executable match on
  // PATH; "" when there is none.
  virtual std::string findOnPath(const std::string& program) const = 0;
};

// The real file system (access(2) and PATH).
class SystemFileProbe final : public FileProbe {
 public:
  bool isExecutable(const std::string& path) const override;
  bool isReadable(const std::string& path) const override;
  std::string findOnPath(const std::string& program) const override;
};

// Where a sandboxed EE sees its code, Hearth's runtimes and its Runtime API.
inline constexpr const char* kSandboxTaskRoot = "/var/task";
inline constexpr const char* kSandboxRuntimeRoot = "/var/runtime";
inline constexpr uint16_t kSandboxRuntimeApiPort = 9001;

// How one agent runs EEs.
struct LaunchContext {
  std::string runtimes_dir;  // Hearth's bootstraps (a host path)
  // Runtime identifier → its interpreter, resolved when the agent started
  // (resolveRuntimeRoots); a runtime not listed has no bootstrap.
  std::map<std::string, RuntimeRoot> runtimes;
  std::string region;
  std::string instance_id;
  // EEs run in sandboxes: commands and the environment use sandbox paths (/var/task,
  // /var/runtime), interpreters must be visible there, and the Runtime API listens inside.
  bool sandboxed = false;
};

// The command for an EE: the deployment's `bootstrap` for provided.* runtimes, else the
// runtime's interpreter and Hearth's bootstrap for it. Pure given the probe.
struct LaunchCommand {
  std::vector<std::string> argv;
  std::string refusal_type;  // set (with refusal_message) when the EE cannot be launched
  std::string refusal_message;
};
LaunchCommand launchCommand(const protocol::EnvironmentSpec& spec, const std::string& code_dir,
                            const LaunchContext& context, const FileProbe& probe);

// The complete process spec of an EE whose command is `argv` and whose Runtime API listens on
// 127.0.0.1:runtime_api_port (kSandboxRuntimeApiPort inside a sandbox, which the launcher then
// opens): LMI's environment variables, the function's own (which may not
// replace the platform's, except PATH, LANG and TZ), limits, and the runtime's root file
// system when it has one. Pure.
LaunchSpec buildLaunchSpec(const std::string& environment_id, const protocol::EnvironmentSpec& spec,
                           const std::string& code_dir, std::vector<std::string> argv,
                           uint16_t runtime_api_port, const LaunchContext& context);

}  // namespace hearth
