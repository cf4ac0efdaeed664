#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/status.h"
#include "fleet/instance_types.h"

namespace hearth {

class SandboxLauncher;
class Sandbox;

struct InstanceLaunch {
  std::string instance_id;
  std::string capacity_provider;
  std::string zone;
  InstanceType type;
};

// Called when an instance's agent process is known to have stopped (exit code or 128+signal).
using InstanceExitCallback = std::function<void(const std::string& instance_id, int exit_code)>;

// Starts and stops instances, each running one `hearth agent` that registers with the server.
// Implementations: local agent processes (below); remote hosts and cloud APIs later.
// Thread-safe.
class InstanceProvider {
 public:
  virtual ~InstanceProvider() = default;
  virtual Status launch(const InstanceLaunch& launch) = 0;
  // Stops the instance (SIGTERM, then SIGKILL). Unknown ids are ignored.
  virtual void terminate(const std::string& instance_id) = 0;
};

struct LocalInstanceOptions {
  std::string hearth_binary;  // path of the `hearth` executable
  std::string server_url;     // http://host:port the agents register with
  std::string token;          // agent protocol secret, passed in the environment
  std::string work_root;      // per-instance work dirs are created below it
  std::string runtimes_dir;
  std::map<std::string, std::string> interpreters;
  std::string region;
};

// Runs each instance as a local `hearth agent` child process. On one machine the instance's
// vCPU and memory are a budget the fleet accounts for (the isolating sandbox enforces them).
class LocalInstanceProvider final : public InstanceProvider {
 public:
  // *launcher must outlive this object; on_exit runs on the launcher's thread.
  LocalInstanceProvider(LocalInstanceOptions options, SandboxLauncher* launcher,
                        InstanceExitCallback on_exit);
  ~LocalInstanceProvider() override;

  // Replaces the options (the server knows its own URL only once it listens). REQUIRES: before
  // the first launch.
  void configure(LocalInstanceOptions options) { options_ = std::move(options); }

  Status launch(const InstanceLaunch& launch) override;
  void terminate(const std::string& instance_id) override;

 private:
  LocalInstanceOptions options_;
  SandboxLauncher* launcher_;
  InstanceExitCallback on_exit_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<Sandbox>> agents_;
};

}  // namespace hearth
